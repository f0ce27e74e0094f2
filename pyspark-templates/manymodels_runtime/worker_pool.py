"""WorkerPool: runs a per-group function over every core with forked worker processes (the
LocalExecutor's engine).

The workers are forked after the input is loaded and grouped, so they inherit the column
arrays copy-on-write; a task is only a range of group indices, and results come back one
group at a time. That last point is what makes a dead worker cheap: when a worker dies
(SIGKILL, the OOM killer, a crash in native code) the parent knows exactly which group it
was on, reports that one group as failed with errorClass WorkerDied, forks a replacement
and hands the rest of the dead worker's range to it. concurrent.futures and
multiprocessing.Pool cannot do this: the first marks the whole pool broken, the second
hangs on the lost task.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import signal
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any, Callable

from .process_lifetime import die_with_parent

CHUNK_MAX = 64        # groups per task: small enough to balance, big enough to amortise IPC
CHUNKS_PER_WORKER = 8


@dataclass
class _Worker:
    proc: Any
    conn: Any
    chunk: tuple[int, int] | None = None
    next_i: int = 0


def pin_native_threads() -> None:
    """One BLAS/OpenMP thread per worker: more never helped the per-group fits and made
    OpenMP models burn twice the CPU (PERFORMANCE-NOTES). Environment variables only reach
    libraries that have not started yet, so threadpoolctl caps the loaded ones too."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                "NUMEXPR_NUM_THREADS"):
        os.environ[var] = "1"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)


def signal_description(exitcode: int | None) -> str:
    if exitcode is None:
        return "the worker process disappeared"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (often the kernel's OOM killer: the group needed more memory than was free)" \
            if -exitcode == signal.SIGKILL else ""
        return f"the worker process was killed by {name}{hint}"
    return f"the worker process exited with code {exitcode}"


def _worker_main(conn, work: Callable[[int], Any], inherited: list, parent_pid: int) -> None:
    # An orphaned worker would otherwise wait for work forever.
    die_with_parent(parent_pid, 1)
    # fork copied the parent's ends of every worker's pipe into this process. Closed, so that
    # a pipe reports EOF as soon as the process at its other end is gone.
    for c in inherited:
        c.close()
    # Ctrl-C reaches the whole process group; the parent decides what stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pin_native_threads()
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            break
        if msg is None:
            break
        a, b = msg
        for i in range(a, b):
            result = work(i)
            conn.send_bytes(pickle.dumps((i, result), protocol=5))
        conn.send_bytes(pickle.dumps(("done", a), protocol=5))
    conn.close()


class WorkerPool:
    def __init__(self, workers: int = 0):
        self.workers = workers if workers and workers > 0 else (os.cpu_count() or 1)
        self.replaced = 0

    def map(self, n_tasks: int, work: Callable[[int], Any], on_result: Callable[[int, Any], None],
            on_died: Callable[[int, str], Any]) -> None:
        """Calls work(i) for i in range(n_tasks) in worker processes and on_result(i, r) in
        this process as results arrive; a group whose worker died gets on_died(i, why)."""
        if n_tasks == 0:
            return
        ctx = mp.get_context("fork")
        n_proc = min(self.workers, n_tasks)
        chunk = max(1, min(CHUNK_MAX, n_tasks // (n_proc * CHUNKS_PER_WORKER)))
        pending: deque = deque((a, min(a + chunk, n_tasks)) for a in range(0, n_tasks, chunk))
        workers: list[_Worker] = []

        def spawn() -> None:
            parent_end, child_end = ctx.Pipe(duplex=True)
            inherited = [parent_end] + [w.conn for w in workers]
            proc = ctx.Process(target=_worker_main, args=(child_end, work, inherited, os.getpid()), daemon=True)
            proc.start()
            child_end.close()
            workers.append(_Worker(proc, parent_end))

        def assign(w: _Worker) -> None:
            if pending and w.chunk is None:
                chunk = pending.popleft()
                try:
                    w.conn.send(chunk)
                except OSError:
                    # Died while idle: nothing of this chunk ran. Its sentinel buries it.
                    pending.appendleft(chunk)
                    return
                w.chunk = chunk
                w.next_i = chunk[0]

        def handle(w: _Worker, data: bytes) -> None:
            i, result = pickle.loads(data)
            if i == "done":
                w.chunk = None
                assign(w)
                return
            w.next_i = i + 1
            on_result(i, result)

        def bury(w: _Worker) -> None:
            # Results the worker sent before dying are still in the pipe: take them first,
            # so only the group it was actually working on is lost.
            try:
                while w.conn.poll():
                    handle(w, w.conn.recv_bytes())
            except (EOFError, OSError):
                pass
            w.proc.join()
            why = signal_description(w.proc.exitcode)
            workers.remove(w)
            w.conn.close()
            if w.chunk is not None:
                a, b = w.chunk
                if w.next_i < b:
                    on_result(w.next_i, on_died(w.next_i, why))
                    if w.next_i + 1 < b:
                        pending.appendleft((w.next_i + 1, b))
            if pending and len(workers) < n_proc:
                self.replaced += 1
                spawn()
                assign(workers[-1])

        try:
            for _ in range(n_proc):
                spawn()
            for w in list(workers):
                assign(w)
            while workers and (pending or any(w.chunk is not None for w in workers)):
                by_obj = {}
                for w in workers:
                    by_obj[w.conn] = w
                    by_obj[w.proc.sentinel] = w
                # Deaths first: bury() drains the dead worker's pipe, so no result it sent
                # is lost whichever order the two handles became ready in.
                ready = sorted(wait(list(by_obj)), key=lambda o: o is not by_obj[o].proc.sentinel)
                for obj in ready:
                    w = by_obj[obj]
                    if w not in workers:
                        continue  # already buried through its other handle
                    if obj is w.conn:
                        try:
                            while w.conn.poll():
                                handle(w, w.conn.recv_bytes())
                        except (EOFError, OSError):
                            bury(w)
                    elif not w.proc.is_alive():
                        bury(w)
            for w in workers:
                try:
                    w.conn.send(None)
                except OSError:
                    pass
            for w in workers:
                w.proc.join(timeout=10)
                if w.proc.is_alive():
                    w.proc.terminate()
                    w.proc.join()
                w.conn.close()
        except BaseException:
            # Interrupted (Ctrl-C, SIGTERM from the CLI) or a bug: stop only our own workers.
            for w in workers:
                if w.proc.is_alive():
                    w.proc.terminate()
            for w in workers:
                w.proc.join(timeout=5)
            raise
