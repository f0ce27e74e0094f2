"""PostgreSQL (data.format: sql) on the local engine, with psycopg2 (Debian's python3-psycopg2).

The rows travel by server-side COPY: `COPY (SELECT the pipeline's columns FROM the table or
the query) TO STDOUT (FORMAT csv, HEADER)` streams into a file beside the parsed-input cache,
never into memory, and the CSV reader parses it as it parses any export (parallel past its
size threshold; numbers, true/false and text features typed alike). Booleans are cast to
text so they arrive as true/false; the session is UTC with ISO dates, so timestamps arrive as
ISO 8601 (both set when connecting). The copy's sha256 (with the source) is the input's fingerprint: an unchanged table
reuses its parsed cache entry and skips the parse (it is still copied, to know it is unchanged).

Problems are coded, with the server's message and never a traceback: MM450 the server cannot be
reached, MM451 the user or password is refused, MM452 the table or query fails, MM453 a
credentials variable is not set, MM410 without psycopg2. sql_source.py says how the SQL text is
built from the pipeline's names.
"""
from __future__ import annotations

import hashlib
import os
import tempfile

from ..errors import MISSING_COLUMNS, UNSUPPORTED_INPUT, InputError
from ..redact import redact
from ..sql_source import (AUTH_FAILED, QUERY_FAILED, UNREACHABLE, describe, env_credentials, error_code,
                          quote_ident, source_sql)
from .table import ReadRequest

BOOL_OID = 16
CONNECT_TIMEOUT_S = 15


def _psycopg2():
    try:
        import psycopg2
    except ImportError:
        raise InputError(UNSUPPORTED_INPUT,
                         "reading a sql source on the local engine needs the psycopg2 package, which this "
                         "Python does not have: install it (apt-get install python3-psycopg2, or "
                         "python3 -m pip install psycopg2-binary)") from None
    return psycopg2


def _first_line(e: Exception) -> str:
    text = (getattr(e, "pgerror", None) or str(e) or type(e).__name__).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # libpq words a failed connection as "connection to server at … failed: <reason>".
    return redact(" ".join(lines[:2]) if lines else type(e).__name__)


def connect(sql: dict):
    pg = _psycopg2()
    user, password = env_credentials(sql)
    kw = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "manymodels",
          "options": "-c TimeZone=UTC -c DateStyle=ISO,YMD"}
    if user is not None:
        kw["user"] = user
    if password is not None:
        kw["password"] = password
    try:
        return pg.connect(sql["url"], **kw)
    except pg.OperationalError as e:
        msg = _first_line(e)
        if error_code(msg) == AUTH_FAILED:
            raise InputError(AUTH_FAILED, f"the database refused the credentials for {sql['url']}: {msg}. "
                                          "Check the variables named by data.sql.user_env and password_env") from None
        raise InputError(UNREACHABLE, f"cannot connect to {sql['url']}: {msg}") from None


def copy_to_csv(sql: dict, req: ReadRequest, need_target: bool, work_dir: str | None) -> tuple[str, str, bool]:
    """Copies the source's columns into a CSV file; returns (path, fingerprint, target_present).
    MM411 when a column named in the pipeline is not among the source's."""
    pg = _psycopg2()
    source = source_sql(sql)
    conn = connect(sql)
    try:
        conn.set_session(readonly=True)
        with conn.cursor() as cur:
            try:
                cur.execute(f"SELECT * FROM {source} LIMIT 0")
            except pg.Error as e:
                raise InputError(QUERY_FAILED, f"reading {describe(sql)} failed: {_first_line(e)}") from None
            types = {d.name: d.type_code for d in cur.description}
            header = list(types)
            wanted = list(req.keys) + ([req.time] if req.time else []) + list(req.features)
            missing = [c for c in wanted if c not in types]
            target_present = req.target in types
            if need_target and not target_present:
                missing.append(req.target)
            if missing:
                raise InputError(MISSING_COLUMNS, f"columns named in the pipeline are missing from {describe(sql)}: "
                                                  f"{', '.join(missing)}. It has: {', '.join(header)}")
            cols = wanted + ([req.target] if target_present else [])
            select = ", ".join(f"{quote_ident(c)}::text AS {quote_ident(c)}" if types[c] == BOOL_OID else quote_ident(c)
                               for c in dict.fromkeys(cols))
            if work_dir:
                os.makedirs(work_dir, exist_ok=True)
            fd, path = tempfile.mkstemp(prefix="sql-", suffix=".csv", dir=work_dir)
            h = hashlib.sha256(f"sql\0{sql['url']}\0{sql.get('table')}\0{sql.get('query')}\0".encode("utf-8"))
            try:
                with os.fdopen(fd, "wb") as fh:
                    class _Hashing:
                        def write(self, data):
                            b = data.encode("utf-8") if isinstance(data, str) else data
                            h.update(b)
                            return fh.write(b)
                    cur.copy_expert(f"COPY (SELECT {select} FROM {source}) TO STDOUT "
                                    "WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')", _Hashing())
            except pg.Error as e:
                os.unlink(path)
                raise InputError(QUERY_FAILED, f"reading {describe(sql)} failed: {_first_line(e)}") from None
            except BaseException:
                os.unlink(path)
                raise
            return path, "sha256:" + h.hexdigest(), target_present
    finally:
        conn.close()
