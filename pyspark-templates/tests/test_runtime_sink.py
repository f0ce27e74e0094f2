"""The SQLite sink: quoted identifiers, write modes, and an all-or-nothing transaction."""
import sqlite3

import pytest

from manymodels_runtime.errors import InputError, SinkWriteError
from manymodels_runtime.sinks import SqliteSink

KEYS = ['store "id"', "item; drop table x"]


def row(store, run_id, pred=1.0, time="2024-01-01", row_index=None, origin="2023-12-31", pipeline="p"):
    return (store, "i", time, origin, row_index, pred, None, None, "1", "m", pipeline, run_id, "2024-01-01T00:00:00Z")


def table_rows(path, table):
    con = sqlite3.connect(path)
    try:
        return con.execute(f'select * from "{table}" order by 1, 3, 12').fetchall()
    finally:
        con.close()


def runs_of(path, table):
    """(store, run_id) of every row of a table, in order."""
    return [(r[0], r[11]) for r in table_rows(path, table)]


def test_replace_run_keeps_other_runs_and_quotes_every_identifier(tmp_path):
    db = tmp_path / "sub" / "p.db"
    sink = SqliteSink(str(db), 'pred "table"', KEYS, "replace_run")
    sink.prepare()
    assert sink.write("r1", [[row("a", "r1"), row("b", "r1")]]) == 2
    assert sink.write("r2", [[row("a", "r2")]]) == 1
    assert runs_of(db, 'pred ""table""') == [("a", "r2"), ("b", "r1")]
    assert runs_of(db, 'pred ""table""_history') == [("a", "r1")]
    # A rerun of r1 replaces every row r1 wrote, the superseded one in the history included.
    assert sink.write("r1", [[row("c", "r1", 5.0)]]) == 1
    assert runs_of(db, 'pred ""table""') == [("a", "r2"), ("c", "r1")]
    assert runs_of(db, 'pred ""table""_history') == []
    cols = [r[1] for r in sqlite3.connect(db).execute('pragma table_info("pred ""table""")')]
    assert cols[:2] == KEYS and cols[2:] == ["time", "forecast_origin", "row_index", "prediction", "label",
                                             "probabilities", "model_version",
                                             "model_name", "pipeline", "run_id", "scored_at"]
    hist = [r[1] for r in sqlite3.connect(db).execute('pragma table_info("pred ""table""_history")')]
    assert hist == cols + ["superseded_at", "superseded_by"]


def test_a_later_run_supersedes_and_the_older_stays_readable_by_run_id(tmp_path):
    db = tmp_path / "p.db"
    sink = SqliteSink(str(db), "predictions", KEYS, "replace_run")
    sink.prepare()
    days = ("2024-01-01", "2024-01-02")
    sink.write("r1", [[row("a", "r1", 1.0, d, origin="2023-12-31") for d in days]])
    # r2 starts a day later: one date overlaps, one is new.
    sink.write("r2", [[row("a", "r2", 2.0, d, origin="2024-01-01") for d in days[1:] + ("2024-01-03",)]])
    con = sqlite3.connect(db)
    current = con.execute("select time, forecast_origin, prediction, run_id from predictions order by time").fetchall()
    assert current == [("2024-01-01", "2023-12-31", 1.0, "r1"), ("2024-01-02", "2024-01-01", 2.0, "r2"),
                       ("2024-01-03", "2024-01-01", 2.0, "r2")]
    hist = con.execute("select time, run_id, superseded_by, superseded_at is not null from predictions_history").fetchall()
    assert hist == [("2024-01-02", "r1", "r2", 1)]
    # Every run, whole, from the view.
    assert con.execute("select time from predictions_all where run_id = 'r1' order by time").fetchall() == \
        [("2024-01-01",), ("2024-01-02",)]
    assert con.execute("select count(*) from predictions_all").fetchone() == (4,)


def test_regression_rows_are_keyed_by_their_input_row_and_pipelines_do_not_mix(tmp_path):
    db = tmp_path / "p.db"
    sink = SqliteSink(str(db), "t", KEYS, "replace_run")
    sink.prepare()
    sink.write("r1", [[row("a", "r1", time=None, origin=None, row_index=i) for i in range(3)]])
    sink.write("r2", [[row("a", "r2", time=None, origin=None, row_index=i) for i in (1, 2)]])
    sink.write("r3", [[row("a", "r3", time=None, origin=None, row_index=0, pipeline="other")]])
    con = sqlite3.connect(db)
    assert con.execute("select pipeline, row_index, run_id from t order by pipeline, row_index").fetchall() == \
        [("other", 0, "r3"), ("p", 0, "r1"), ("p", 1, "r2"), ("p", 2, "r2")]
    assert con.execute("select row_index, run_id from t_history order by row_index").fetchall() == [(1, "r1"), (2, "r1")]


def test_a_failed_write_rolls_back_the_delete_and_the_history_move(tmp_path):
    db = tmp_path / "p.db"
    sink = SqliteSink(str(db), "predictions", KEYS, "replace_run")
    sink.prepare()
    sink.write("r1", [[row("a", "r1")]])

    def batches():
        yield [row("a", "r2")]
        raise sqlite3.OperationalError("disk full (simulated)")

    with pytest.raises(SinkWriteError):
        sink.write("r1", batches())
    with pytest.raises(SinkWriteError):
        sink.write("r2", batches())
    assert runs_of(db, "predictions") == [("a", "r1")]
    assert runs_of(db, "predictions_history") == []


def test_one_run_with_two_rows_for_one_key_writes_nothing(tmp_path):
    db = tmp_path / "p.db"
    sink = SqliteSink(str(db), "predictions", KEYS, "replace_run")
    sink.prepare()
    sink.write("r1", [[row("a", "r1")]])
    with pytest.raises(SinkWriteError) as e:
        sink.write("r2", [[row("b", "r2"), row("b", "r2", 2.0)]])
    assert "UNIQUE" in str(e.value)
    assert runs_of(db, "predictions") == [("a", "r1")]


def test_overwrite_and_append(tmp_path):
    db = tmp_path / "p.db"
    SqliteSink(str(db), "t", KEYS, "append").prepare()
    SqliteSink(str(db), "t", KEYS, "append").write("r1", [[row("a", "r1")]])
    SqliteSink(str(db), "t", KEYS, "append").write("r1", [[row("a", "r1")]])
    # append deletes nothing: the first write of r1 is kept, in the history.
    assert runs_of(db, "t") == [("a", "r1")] and runs_of(db, "t_history") == [("a", "r1")]
    SqliteSink(str(db), "t", KEYS, "overwrite").write("r9", [[row("z", "r9")]])
    assert runs_of(db, "t") == [("z", "r9")] and runs_of(db, "t_history") == []


def test_prepare_refuses_a_table_without_our_columns(tmp_path):
    db = tmp_path / "p.db"
    con = sqlite3.connect(db)
    con.execute("create table t (x int)")
    con.commit()
    con.close()
    with pytest.raises(InputError) as e:
        SqliteSink(str(db), "t", KEYS, "append").prepare()
    assert e.value.code == "MM415" and "run_id" in e.value.message


def test_a_table_of_an_earlier_version_is_refused_with_the_way_to_migrate(tmp_path):
    db = tmp_path / "p.db"
    con = sqlite3.connect(db)
    cols = [c for c in ["a", "b", "time", "row_index", "prediction", "model_version", "model_name", "run_id",
                        "scored_at"]]
    con.execute(f"create table t ({', '.join(cols)})")
    con.execute("insert into t values ('1', '2', '2024-01-01', null, 1.0, '1', 'm', 'old', 'x')")
    con.commit()
    con.close()
    with pytest.raises(InputError) as e:
        SqliteSink(str(db), "t", ["a", "b"], "replace_run").prepare()
    assert e.value.code == "MM415" and "forecast_origin, pipeline" in e.value.message
    assert 'ALTER TABLE "t" RENAME TO "t_before_keys"' in e.value.message
    # Nothing was changed: the old rows are there, and no history table was made.
    con = sqlite3.connect(db)
    assert con.execute("select count(*) from t").fetchone() == (1,)
    assert con.execute("select name from sqlite_master where name like 't_%'").fetchall() == []
    # Following the message works.
    con.execute('ALTER TABLE "t" RENAME TO "t_before_keys"')
    con.commit()
    con.close()
    SqliteSink(str(db), "t", ["a", "b"], "replace_run").prepare()


def test_the_writes_find_current_rows_through_the_unique_index(tmp_path):
    """Superseding looks each new row up in the current table's unique index (no scan per row)."""
    db = tmp_path / "p.db"
    sink = SqliteSink(str(db), "t", KEYS, "replace_run")
    sink.prepare()
    con = sqlite3.connect(db)
    con.execute(f"create temp table mm_incoming as select * from t where 0")
    match = " AND ".join(f"{c} = {n}" for c, n in zip(sink._identity("c"), sink._identity("n")))
    plan = con.execute(f"explain query plan select 1 from temp.mm_incoming as n join t as c on {match}").fetchall()
    assert any("USING INDEX t__current" in r[3] for r in plan), plan


def test_every_sink_kind_the_jobspec_accepts_has_one_sink_module():
    from manymodels_runtime.sinks import SINKS
    from manymodels_runtime.spec import SINK_TYPES
    assert sorted(SINKS) == sorted(SINK_TYPES)
    for kind, cls in SINKS.items():
        assert cls.kind == kind and cls.__module__ == f"manymodels_runtime.sinks.{kind}"
        assert all(callable(getattr(cls, m, None)) for m in ("from_spec", "prepare", "write", "write_spark"))


def test_sink_for_builds_the_jobspecs_sink(tmp_path, base_spec, monkeypatch):
    from manymodels_runtime.sinks import DeltaSink, Sink, SynapseSqlSink, sink_for
    from manymodels_runtime.spec import parse_job_spec
    monkeypatch.chdir(tmp_path)
    spec = parse_job_spec({**base_spec(), "stage": "score"})
    sink = sink_for(spec)
    assert isinstance(sink, SqliteSink) and sink.table == "predictions" and not sink.needs_spark
    delta = parse_job_spec({**base_spec(scoring={"sink": {"type": "delta", "path": "out/preds", "tableName": None}}),
                            "stage": "score", "engine": "spark-local"})
    assert isinstance(sink_for(delta), DeltaSink) and sink_for(delta).needs_spark
    syn = parse_job_spec({**base_spec(scoring={"sink": {"type": "synapse_sql", "flavor": "synapse", "database": "pool",
                                                        "table": "preds", "passwordEnv": "MM_TEST_UNSET_PW"},
                                               "writeMode": "append"}),
                          "stage": "score", "engine": "synapse"})
    s = sink_for(syn)
    assert isinstance(s, SynapseSqlSink)
    assert all(isinstance(x, Sink) for x in (sink, sink_for(delta), s))
    with pytest.raises(InputError) as e:
        s.prepare()  # a credential named but not set: MM415 before any group runs
    assert e.value.code == "MM415" and "MM_TEST_UNSET_PW" in e.value.message


def test_a_writer_killed_mid_write_leaves_the_previous_rows_and_the_rerun_writes_once(tmp_path):
    """A real process, SIGKILLed while its rows are half inserted (inside the transaction)."""
    import os
    import signal
    import subprocess
    import sys
    import textwrap
    import time
    db = tmp_path / "p.db"
    sink = SqliteSink(str(db), "predictions", KEYS, "replace_run")
    sink.prepare()
    sink.write("r1", [[row(s, "r1") for s in "ab"]])
    marker = tmp_path / "half"
    script = textwrap.dedent(f"""
        import time, sys
        sys.path.insert(0, {os.path.dirname(os.path.dirname(__file__))!r})
        from manymodels_runtime.sinks import SqliteSink
        def rows():
            yield ("a", "i", "2024-01-01", "2023-12-31", None, 2.0, None, None, "1", "m", "p", "r2", "x")
            open({str(marker)!r}, "w").close()
            time.sleep(60)
            yield ("b", "i", "2024-01-01", "2023-12-31", None, 2.0, None, None, "1", "m", "p", "r2", "x")
        SqliteSink({str(db)!r}, "predictions", {KEYS!r}, "replace_run").write("r2", [rows()])
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 30
        while not marker.exists() and time.time() < deadline:
            time.sleep(0.05)
        assert marker.exists()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert runs_of(db, "predictions") == [("a", "r1"), ("b", "r1")]
    assert runs_of(db, "predictions_history") == []
    # The rerun of r2 writes once.
    assert sink.write("r2", [[row(s, "r2") for s in "ab"]]) == 2
    assert sink.write("r2", [[row(s, "r2") for s in "ab"]]) == 2
    assert runs_of(db, "predictions") == [("a", "r2"), ("b", "r2")]
    assert runs_of(db, "predictions_history") == [("a", "r1"), ("b", "r1")]


def test_a_table_without_label_and_probabilities_gains_them_and_keeps_its_rows(tmp_path):
    # Given a predictions table (and history, view) as the version before labels wrote them
    db = tmp_path / "p.db"
    old = ["a", "b", "time", "forecast_origin", "row_index", "prediction", "model_version", "model_name",
           "pipeline", "run_id", "scored_at"]
    con = sqlite3.connect(db)
    con.execute(f"create table t ({', '.join(old)})")
    con.execute(f"create table t_history ({', '.join(old)}, superseded_at, superseded_by)")
    con.execute(f"create view t_all as select {', '.join(old)}, null as superseded_at, null as superseded_by "
                f"from t union all select * from t_history")
    con.execute("insert into t values ('1', '2', '2024-01-01', '2023-12-31', null, 1.5, '1', 'm', 'p', 'old', 'x')")
    con.commit()
    con.close()
    sink = SqliteSink(str(db), "t", ["a", "b"], "replace_run")
    sink.prepare()
    sink.write("new", [[("9", "9", None, None, 0, None, "low", '{"low":1.0}', "1", "m", "p", "new", "y")]])
    con = sqlite3.connect(db)
    assert con.execute("select a, prediction, label, probabilities, run_id from t_all order by a").fetchall() == \
        [("1", 1.5, None, None, "old"), ("9", None, "low", '{"low":1.0}', "new")]
    assert "label" in [r[1] for r in con.execute("pragma table_info(t_history)")]
