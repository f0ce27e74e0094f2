#!/usr/bin/env python3
"""Entry point of the manymodels score stage: `manymodels_entry.py score` under the name the
JobSpec's entryScript and the CLI's remote runs use. A remote run uploads only this file and
the runtime zip, so it finds the package itself (the lines below are the same in all three
entry scripts; tests/test_entry_script.py keeps them so). Usage: python3 score_entry.py --help
"""
import os
import sys


def _package_path(argv):
    """Where manymodels_runtime is imported from: a remote run ships the package as a zip beside
    the uploaded script (--runtime-zip PATH); otherwise it is the folder beside this script."""
    for i, arg in enumerate(argv):
        path = argv[i + 1] if arg == "--runtime-zip" and i + 1 < len(argv) else \
            arg.split("=", 1)[1] if arg.startswith("--runtime-zip=") else None
        if path is not None:
            if not os.path.isfile(path):
                print(f"[manymodels] error MM414: --runtime-zip {path} does not exist", file=sys.stderr)
                sys.exit(2)
            return path
    return os.path.dirname(os.path.abspath(__file__))


sys.path.insert(0, _package_path(sys.argv[1:]))
from manymodels_runtime.entry import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["score", *sys.argv[1:]]))
