"""One entry script with a stage argument (manymodels_entry.py train|score); train_entry.py and
score_entry.py, the names JobSpecs and remote runs use, are that script with the stage given."""
import json
import subprocess
import sys

import pandas as pd

from conftest import RUNTIME

SCRIPTS = ("manymodels_entry.py", "train_entry.py", "score_entry.py")


def _bootstrap(name: str) -> str:
    text = (RUNTIME / name).read_text(encoding="utf-8")
    start = text.index("import os\n")
    end = text.index("from manymodels_runtime.entry import main")
    return text[start:end]


def _entry(*args, cwd):
    return subprocess.run([sys.executable, str(RUNTIME / args[0]), *args[1:]], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


def test_the_three_scripts_find_the_package_the_same_way():
    # A remote run uploads one entry script and the runtime zip, nothing else: each script must
    # find the package on its own, so the lines that do it are repeated, and must not drift.
    first = _bootstrap(SCRIPTS[0])
    assert "--runtime-zip" in first
    for name in SCRIPTS[1:]:
        assert _bootstrap(name) == first, f"{name} finds the package differently from {SCRIPTS[0]}"


def test_the_stage_argument_is_required_and_checked(tmp_path):
    for args in ((), ("predict", "--help")):
        proc = _entry("manymodels_entry.py", *args, cwd=tmp_path)
        assert proc.returncode == 2 and proc.stdout == ""
        assert "the first argument must be the stage (train, score or plan)" in proc.stderr
        assert "Traceback" not in proc.stderr
    score_help = _entry("manymodels_entry.py", "score", "--help", cwd=tmp_path)
    assert score_help.returncode == 0 and "--models" in score_help.stdout
    assert "--models" not in _entry("train_entry.py", "--help", cwd=tmp_path).stdout
    assert "--models" in _entry("score_entry.py", "--help", cwd=tmp_path).stdout


def test_manymodels_entry_train_is_train_entry(project, base_spec, series):
    project.write_data(pd.concat([series(("1", "a")), series(("2", "b"), seed=3)]))
    spec = project.write_spec({**base_spec(), "stage": "train"})
    manifests = []
    for run_id, script in (("r1", ("train_entry.py",)), ("r2", ("manymodels_entry.py", "train"))):
        out = project.root / "runs" / run_id
        proc = _entry(*script, "--spec", str(spec), "--run-id", run_id, "--out", str(out), "--no-cache",
                      "--workers", "1", cwd=project.root)
        assert proc.returncode == 0, proc.stderr
        manifests.append(json.loads((out / "run-manifest.json").read_text(encoding="utf-8")))
    strip = lambda m: [{k: g[k] for k in ("groupId", "status", "metrics", "trainRows")} for g in m["groups"]]
    assert strip(manifests[0]) == strip(manifests[1]) and len(manifests[0]["groups"]) == 2
