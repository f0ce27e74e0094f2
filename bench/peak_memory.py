#!/usr/bin/env python3
"""Runs a command and reports its wall time and the peak memory of its whole process tree.

Memory is the sum of PSS (proportional set size) over the process and all its descendants,
sampled every 500 ms (reading smaps costs CPU: at 100 ms it slowed a
two-worker run by ~15%): forked workers share the parent's pages copy-on-write, and PSS counts
a shared page once across them, where summing RSS would count it in every worker.
Usage: python3 bench/peak_memory.py -- COMMAND [ARGS...]   → one JSON line on stderr at the end
"""
import json
import os
import subprocess
import sys
import time


def children_of() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="ascii", errors="replace") as fh:
                stat = fh.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields start after the last ')'.
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        tree.setdefault(ppid, []).append(int(name))
    return tree


def pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_pss_kb(root: int) -> int:
    tree = children_of()
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += pss_kb(pid)
        stack.extend(tree.get(pid, []))
    return total


def main() -> int:
    argv = sys.argv[1:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    start = time.perf_counter()
    proc = subprocess.Popen(argv)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_pss_kb(proc.pid))
        time.sleep(0.5)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": round(seconds, 2), "peak_mb": round(peak / 1024), "exit": proc.returncode}), file=sys.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
