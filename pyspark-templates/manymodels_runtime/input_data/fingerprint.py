"""The input's fingerprint (docs/contracts.md): what the run manifest records and what keys
the parsed-input cache."""
from __future__ import annotations

import hashlib
import os

MIB = 1 << 20


def data_fingerprint(path: str) -> str:
    """sha256 over path, size, mtime and the first and last MiB (contract); for a directory
    (a Parquet dataset) over every file's relative path, size and mtime."""
    h = hashlib.sha256()
    h.update(os.path.abspath(path).encode("utf-8") + b"\0")
    if os.path.isdir(path):
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                full = os.path.join(root, name)
                st = os.stat(full)
                h.update(f"{os.path.relpath(full, path)}\0{st.st_size}\0{st.st_mtime_ns}\0".encode("utf-8"))
        return "sha256:" + h.hexdigest()
    st = os.stat(path)
    h.update(f"{st.st_size}\0{st.st_mtime_ns}\0".encode("ascii"))
    with open(path, "rb") as fh:
        h.update(fh.read(MIB))
        if st.st_size > MIB:
            fh.seek(max(MIB, st.st_size - MIB))
            h.update(fh.read(MIB))
    return "sha256:" + h.hexdigest()
