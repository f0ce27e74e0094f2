"""Processes of the local engine that must not outlive their parent: the runtime (its parent is
the CLI) and each worker (its parent is the runtime)."""
from __future__ import annotations

import os
import signal


def die_with_parent(parent_pid: int, exit_code: int) -> None:
    """Linux: the kernel SIGKILLs this process when its parent dies, whatever killed the parent
    (PR_SET_PDEATHSIG), so an orphan never waits for work forever or writes after the parent is
    gone. Exits at once with `exit_code` if the parent died before this ran."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:
        os._exit(exit_code)
