"""train_entry.py end to end as a subprocess: bad data, failure isolation, the failure
budget, up-front errors with exit code 2, events, resume with --only-groups, and the group
journal with --skip-groups."""
import json
import re

import pandas as pd

POISON_MODEL = '''
import os, signal
import numpy as np

def train(pdf, params):
    print("a stray print from user code")          # must not reach the events on stdout
    if (pdf["price"] == 666).any():
        raise ValueError("poisoned group")
    if (pdf["price"] == 999).any():
        os.kill(os.getpid(), signal.SIGKILL)       # the worker dies mid-group
    return float(pdf["sales"].mean())

def predict(model, pdf):
    return np.full(len(pdf), model)
'''


def test_bad_data_groups_each_get_a_clear_status(project, base_spec, series):
    # Given one good group per awkward key, plus groups with bad data
    good_keys = [("1", "a/b"), ("1", ".."), ("2", "with space"), ("3", "東京"), ("007", "x")]
    parts = [series(k, seed=i) for i, k in enumerate(good_keys)]
    nan_target = series(("4", "nan-target"), seed=9)
    nan_target.loc[nan_target.index[:10], "sales"] = None
    parts.append(nan_target)
    parts.append(series(("5", "single"), days=1))
    dup = series(("6", "dup"), seed=3)
    parts.append(pd.concat([dup, dup.iloc[[4]]]))
    unsorted = series(("7", "unsorted"), seed=4)
    parts.append(unsorted.sample(frac=1.0, random_state=0))
    project.write_data(pd.concat(parts))
    # When
    res = project.run("train", base_spec())
    # Then the run finishes (the 1 failure is within the budget)
    assert res.code == 0, res.stderr
    g = res.by_keys()
    for k in good_keys + [("7", "unsorted")]:
        assert g[k]["status"] == "ok", g[k]
        assert re.match(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,254}$", g[k]["modelName"])
        assert (res.out / g[k]["artifact"]).is_file()
    assert g[("1", "..")]["artifact"].startswith("artifacts/demo__1_--__")
    assert g[("007", "x")]["keys"] == {"store_id": "007", "item_id": "x"}
    assert g[("4", "nan-target")]["status"] == "ok" and g[("4", "nan-target")]["droppedRows"] == 10
    assert g[("5", "single")]["status"] == "skipped" and g[("5", "single")]["reason"].startswith("stale: its last observation (2024-01-01)")
    assert g[("6", "dup")]["status"] == "failed" and g[("6", "dup")]["errorClass"] == "DuplicateTimestamps"
    # Events: start, throttled progress ending at the total, a group_failed per failure, summary
    assert res.events[0]["event"] == "start" and res.events[0]["total"] == 9
    progress = res.kinds("progress")
    assert progress[-1]["done"] == 9
    assert [e["groupId"] for e in res.kinds("group_failed")] == [g[("6", "dup")]["groupId"]]
    summary = res.events[-1]
    assert summary["event"] == "summary" and summary["counts"] == {"total": 9, "ok": 7, "failed": 1, "skipped": 1}
    assert summary["manifest"] == "run-manifest.json" and summary["exceeded"] is False
    m = res.manifest
    assert m["counts"] == summary["counts"] and m["dataFingerprint"].startswith("sha256:")
    assert set(m["timings"]) >= {"readSeconds", "fitSeconds", "writeSeconds"}


def test_a_raising_model_and_a_killed_worker_cost_only_their_groups(project, base_spec, series):
    parts = [series((str(i), "ok"), seed=i) for i in range(8)]
    raising = series(("r", "raises"), seed=20)
    raising.loc[raising.index[3], "price"] = 666
    killing = series(("k", "kills"), seed=21)
    killing.loc[killing.index[3], "price"] = 999
    project.write_data(pd.concat(parts[:4] + [raising] + parts[4:] + [killing]))
    custom = project.custom_model("models/poison.py", POISON_MODEL)
    res = project.run("train", base_spec(model={"type": "custom", "custom": custom}))
    assert res.code == 0, res.stderr
    g = res.by_keys()
    assert g[("r", "raises")]["status"] == "failed" and g[("r", "raises")]["errorClass"] == "ValueError"
    assert g[("r", "raises")]["errorMessage"] == "poisoned group"
    assert g[("k", "kills")]["status"] == "failed" and g[("k", "kills")]["errorClass"] == "WorkerDied"
    assert "SIGKILL" in g[("k", "kills")]["errorMessage"]
    assert sum(1 for v in g.values() if v["status"] == "ok") == 8
    assert res.manifest["workersReplaced"] <= 1  # 0 when it died holding the last task
    assert {e["errorClass"] for e in res.kinds("group_failed")} == {"ValueError", "WorkerDied"}
    # stdout carried only events, although the user's code printed
    assert all(line.startswith("{") for line in res.stdout.splitlines())
    assert "a stray print" in res.stderr


def test_failure_budget_exceeded_exits_1_and_still_writes_the_manifest(project, base_spec, series):
    parts = [series((str(i), "x"), seed=i) for i in range(4)]
    for p in parts[:2]:
        p.loc[p.index[0], "price"] = 666
    project.write_data(pd.concat(parts))
    custom = project.custom_model("poison.py", POISON_MODEL)
    res = project.run("train", base_spec(model={"type": "custom", "custom": custom},
                                         failureBudget={"maxFailed": 1, "maxFailedFraction": None}))
    assert res.code == 1, res.stderr
    m = res.manifest
    assert m["counts"]["failed"] == 2 and m["failureBudget"]["exceeded"] is True
    assert res.events[-1]["event"] == "summary" and res.events[-1]["exceeded"] is True


def test_wrong_spec_version_is_exit_2_with_an_error_event(project, base_spec, series):
    project.write_data(series(("1", "a")))
    res = project.run("train", base_spec(specVersion=2))
    assert res.code == 2
    assert res.events == [{"event": "error", "code": "MM414", "message": res.events[0]["message"]}]
    assert "specVersion" in res.events[0]["message"]
    assert not (res.out / "run-manifest.json").exists()


def test_missing_fields_are_listed_together(project, base_spec, series):
    project.write_data(series(("1", "a")))
    spec = base_spec()
    del spec["columns"]["target"]
    del spec["pipeline"]
    res = project.run("train", spec)
    assert res.code == 2 and res.events[0]["code"] == "MM414"
    assert "columns.target" in res.events[0]["message"] and "pipeline" in res.events[0]["message"]


def test_missing_columns_and_non_numeric_target_are_exit_2(project, base_spec, series):
    project.write_data(series(("1", "a")).drop(columns=["price", "promo"]))
    res = project.run("train", base_spec())
    assert res.code == 2 and res.events[0]["code"] == "MM411"
    assert "price" in res.events[0]["message"] and "promo" in res.events[0]["message"]
    bad = series(("1", "a"))
    bad["sales"] = bad["sales"].astype(str)
    bad.loc[bad.index[2], "sales"] = "n/a-ish"
    project.write_data(bad)
    res = project.run("train", base_spec())
    assert res.code == 2 and res.events[0]["code"] == "MM412" and "n/a-ish" in res.events[0]["message"]


def test_unknown_model_type_is_exit_2_not_a_failure_per_group(project, base_spec, series):
    project.write_data(series(("1", "a")))
    res = project.run("train", base_spec(model={"type": "no_such_model"}))
    assert res.code == 2 and res.events[0]["code"] == "MM414" and "no_such_model" in res.events[0]["message"]


def test_resume_with_only_groups_reruns_those_and_keeps_the_rest(project, base_spec, series):
    parts = [series((str(i), "x"), seed=i) for i in range(3)]
    parts[1].loc[parts[1].index[0], "price"] = 666
    project.write_data(pd.concat(parts))
    custom = project.custom_model("poison.py", POISON_MODEL)
    first = project.run("train", base_spec(model={"type": "custom", "custom": custom}), "r1")
    assert first.code == 0
    failed = [g for g in first.manifest["groups"] if g["status"] == "failed"]
    assert len(failed) == 1
    # When the data is fixed and only the failed group is re-run in the same run
    parts[1].loc[parts[1].index[0], "price"] = 1.0
    project.write_data(pd.concat(parts))
    only = project.write_text("only.json", json.dumps([failed[0]["groupId"]]))
    second = project.run("train", base_spec(model={"type": "custom", "custom": custom}), "r1",
                         "--only-groups", str(only))
    # Then only that group ran, and the manifest covers the whole run
    assert second.code == 0, second.stderr
    assert second.events[0]["total"] == 1
    m = second.manifest
    assert m["counts"] == {"total": 3, "ok": 3, "failed": 0, "skipped": 0}
    before = {g["groupId"]: g for g in first.manifest["groups"]}
    for g in m["groups"]:
        if g["groupId"] != failed[0]["groupId"]:
            assert g == before[g["groupId"]]


def test_events_can_go_to_a_file(project, base_spec, series):
    project.write_data(series(("1", "a")))
    res = project.run("train", base_spec(), events_to_stdout=False)
    assert res.code == 0 and res.stdout == ""
    assert [e["event"] for e in res.events][0] == "start" and res.events[-1]["event"] == "summary"


def test_classification_with_text_labels(project, base_spec):
    import numpy as np
    from manymodels_runtime.artifacts import parse_artifact
    rng = np.random.default_rng(0)
    rows = []
    for store in ("1", "2"):
        x = rng.normal(size=80)
        label = np.where(x + rng.normal(scale=0.5, size=80) > 0, "yes", "no")
        rows.append(pd.DataFrame({"store_id": store, "item_id": "a", "x": x, "churn": label}))
    project.write_data(pd.concat(rows))
    spec = base_spec(task="classification", frequency=None,
                     columns={"time": None, "features": ["x"], "target": "churn"},
                     metrics=["accuracy", "roc_auc"], scoring={"horizon": None},
                     model={"type": "logistic", "holdout": {"periods": None, "fraction": 0.25}, "minTrainRows": 10})
    res = project.run("train", spec)
    assert res.code == 0, res.stderr
    for g in res.manifest["groups"]:
        assert g["status"] == "ok", g
        assert g["metrics"]["accuracy"] > 0.6 and g["metrics"]["roc_auc"] > 0.6
        art = parse_artifact((res.out / g["artifact"]).read_bytes())
        assert art["meta"]["targetClasses"] == ["no", "yes"]


STOP_MODEL = '''
import os, signal, time

def train(pdf, params):
    if (pdf["price"] == 777).any():
        time.sleep(0.5)                                # let the journal reach the disk
        os.kill(os.getppid(), signal.SIGKILL)          # the runtime dies (an OOM kill)
        time.sleep(60)
    return float(pdf["sales"].mean())

def predict(model, pdf):
    return [model] * len(pdf)
'''


def test_a_killed_run_leaves_a_journal_of_its_finished_groups(project, base_spec, series):
    parts = [series((str(i), "x"), seed=i) for i in range(4)]
    parts[3].loc[parts[3].index[0], "price"] = 777     # the last group (keys sort) kills the runtime
    project.write_data(pd.concat(parts))
    custom = project.custom_model("stop.py", STOP_MODEL)
    res = project.run("train", base_spec(model={"type": "custom", "custom": custom}), "r1", "--workers", "1")
    assert res.code != 0 and not (res.out / "run-manifest.json").exists()
    lines = (res.out / "groups.journal.ndjson").read_text().splitlines()
    header, rows = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]
    assert header["journal"] == 1 and header["runId"] == "r1" and header["stage"] == "train"
    assert [r["status"] for r in rows] == ["ok", "ok", "ok"]
    assert all((res.out / r["artifact"]).exists() for r in rows)


def test_skip_groups_runs_the_others_and_a_finished_run_drops_its_journal(project, base_spec, series):
    parts = [series((str(i), "x"), seed=i) for i in range(3)]
    project.write_data(pd.concat(parts))
    first = project.run("train", base_spec(), "r1")
    assert first.code == 0 and not (first.out / "groups.journal.ndjson").exists()
    done = [g["groupId"] for g in first.manifest["groups"][:2]]
    skip = project.write_text("skip.json", json.dumps(done))
    second = project.run("train", base_spec(), "r2", "--skip-groups", str(skip))
    assert second.code == 0, second.stderr
    assert [g["groupId"] for g in second.manifest["groups"]] == [first.manifest["groups"][2]["groupId"]]


def test_one_holdout_window_for_the_whole_run_and_stale_series_are_skipped(project, base_spec, series):
    # Given groups that end on different days (holdout: 7 periods, the data ends 2024-02-29)
    project.write_data(pd.concat([series(("1", "full"), days=60, seed=1),
                                  series(("2", "early"), days=56, seed=2),     # ends 2024-02-25
                                  series(("3", "stale"), days=41, seed=3)]))   # ends 2024-02-10
    res = project.run("train", base_spec())
    assert res.code == 0, res.stderr
    g = res.by_keys()
    # Then both live groups are evaluated on the same window (after 2024-02-22): 7 and 3 days
    assert g[("1", "full")]["status"] == "ok" and g[("1", "full")]["testRows"] == 7
    assert g[("2", "early")]["status"] == "ok" and g[("2", "early")]["testRows"] == 3
    # And the series that ended before the window is skipped, saying why
    assert g[("3", "stale")]["status"] == "skipped"
    assert g[("3", "stale")]["reason"] == ("stale: its last observation (2024-02-10) is before the run's holdout, "
                                           "which starts after 2024-02-22 (the data ends 2024-02-29)")
