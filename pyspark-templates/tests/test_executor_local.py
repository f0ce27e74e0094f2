"""WorkerPool (the LocalExecutor's engine): forked workers over inherited data; a dead worker costs only its group."""
import os
import signal

import numpy as np

from manymodels_runtime.worker_pool import WorkerPool, signal_description

# Module-level data: forked workers inherit it, nothing is pickled per task.
DATA = np.arange(1000, dtype=np.int64) * 3


def test_every_task_runs_once_in_worker_processes():
    results = {}
    pids = set()

    def work(i):
        return (int(DATA[i]), os.getpid())

    def on_result(i, r):
        assert i not in results
        results[i] = r[0]
        pids.add(r[1])

    WorkerPool(2).map(500, work, on_result, lambda i, why: None)
    assert results == {i: i * 3 for i in range(500)}
    assert os.getpid() not in pids and len(pids) == 2


def test_a_killed_worker_costs_only_the_group_it_was_on():
    # Given tasks 37 and 401 SIGKILL their own worker
    results = {}
    died = {}

    def work(i):
        if i in (37, 401):
            os.kill(os.getpid(), signal.SIGKILL)
        return i

    def on_died(i, why):
        died[i] = why
        return "died"

    ex = WorkerPool(2)
    ex.map(600, work, lambda i, r: results.__setitem__(i, r), on_died)
    # Then exactly those two are reported dead, every other task ran, workers were replaced
    assert sorted(died) == [37, 401]
    assert "SIGKILL" in died[37]
    assert len(results) == 600
    assert all(results[i] == i for i in range(600) if i not in (37, 401))
    assert ex.replaced == 2


def test_results_sent_just_before_a_death_are_kept():
    # Given the parent busy with worker A's first result while worker B sends three results
    # and dies: the parent next sees B's death and B's unread results together
    import time
    out = {}
    died = []

    def work(i):
        if i == 12:
            time.sleep(0.3)  # B starts after the parent is already busy with A
        if i == 15:
            os.kill(os.getpid(), signal.SIGKILL)
        return i

    def on_result(i, r):
        if i == 0:
            time.sleep(1.0)
        out[i] = r

    WorkerPool(2).map(200, work, on_result, lambda i, why: died.append(i) or "died")
    # Then B's results 12..14, still in its pipe when it died, are not lost
    assert died == [15]
    assert [out.get(i) for i in (12, 13, 14)] == [12, 13, 14]
    assert len(out) == 200


def test_worker_that_exits_mid_chunk_is_reported_with_its_exit_code():
    died = {}

    def work(i):
        if i == 3:
            os._exit(7)
        return i

    out = {}
    WorkerPool(1).map(10, work, lambda i, r: out.__setitem__(i, r), lambda i, why: died.setdefault(i, why))
    assert list(died) == [3] and "exited with code 7" in died[3]
    assert sorted(out) == list(range(10))


def test_workers_run_with_one_native_thread():
    got = []
    WorkerPool(2).map(2, lambda i: os.environ.get("OPENBLAS_NUM_THREADS"), lambda i, r: got.append(r),
                         lambda i, why: None)
    assert got == ["1", "1"]


def test_signal_description_names_the_signal():
    assert "SIGKILL" in signal_description(-9) and "OOM" in signal_description(-9)
    assert "SIGSEGV" in signal_description(-11)


def test_workers_exit_when_the_parent_is_killed(tmp_path):
    # Given a parent running the executor, killed with SIGKILL mid-run (the CLI's hard stop)
    import subprocess
    import sys
    import time
    from conftest import RUNTIME
    script = tmp_path / "parent.py"
    script.write_text(
        "import os, sys, time\n"
        f"sys.path.insert(0, {str(RUNTIME)!r})\n"
        "from manymodels_runtime.worker_pool import WorkerPool\n"
        "def work(i):\n    time.sleep(0.2)\n    return os.getpid()\n"
        "def on_result(i, pid):\n    print(pid, flush=True)\n"
        "WorkerPool(2).map(1000, work, on_result, lambda i, why: None)\n")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    pids = set()
    while len(pids) < 2:
        pids.add(int(parent.stdout.readline()))
    parent.kill()
    parent.wait()
    # Then its workers do not linger as orphans
    deadline = time.time() + 5
    alive = pids
    while alive and time.time() < deadline:
        time.sleep(0.05)
        alive = {p for p in pids if _running(p)}
    for p in alive:  # do not leave them behind when the assertion fails
        os.kill(p, signal.SIGKILL)
    assert not alive, f"orphaned workers {alive}"


def _running(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except OSError:
        return False
