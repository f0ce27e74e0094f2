"""A real PostgreSQL server for the tests (Debian's postgresql package): initdb and pg_ctl in a
temporary folder, on a free 127.0.0.1 port, with a password (scram-sha-256) for the user `mm`.
PostgreSQL refuses to run as root, so under uid 0 the server runs as `nobody` (runuser) with the
folder given to it. `find_bin()` is None when PostgreSQL is not installed: the tests skip then,
except under CI=true, where that is a failure (scripts/bootstrap.sh installs it)."""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile

USER = "mm"
PASSWORD = "pg-test-Secret-7261"
DATABASE = "postgres"


def find_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(p.split("/")[-3]) if p.split("/")[-3].isdigit() else 0)
    if found:
        return os.path.dirname(found[-1])
    pg_ctl = shutil.which("pg_ctl")
    return os.path.dirname(pg_ctl) if pg_ctl else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, bindir: str):
        self.bindir = bindir
        self.dir = tempfile.mkdtemp(prefix="mm-pg-")
        self.port = _free_port()
        self.url = f"postgresql://127.0.0.1:{self.port}/{DATABASE}"
        self._as = []
        if os.getuid() == 0:
            os.chmod(self.dir, 0o700)
            shutil.chown(self.dir, "nobody")
            self._as = ["runuser", "-u", "nobody", "--"]
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as fh:
            fh.write(PASSWORD + "\n")
        if self._as:
            shutil.chown(pwfile, "nobody")
        data = os.path.join(self.dir, "data")
        self._run("initdb", "-D", data, "-U", USER, "--auth=scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8",
                  "--no-sync", "--no-instructions")
        self._run("pg_ctl", "-D", data, "-l", os.path.join(self.dir, "log"), "-w", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self._as, os.path.join(self.bindir, tool), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def execute(self, *statements: str) -> None:
        import psycopg2
        conn = psycopg2.connect(self.url, user=USER, password=PASSWORD)
        try:
            with conn, conn.cursor() as cur:
                for s in statements:
                    cur.execute(s)
        finally:
            conn.close()

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", os.path.join(self.dir, "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
