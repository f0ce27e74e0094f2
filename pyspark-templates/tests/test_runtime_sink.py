"""The SQLite sink: quoted identifiers, write modes, and an all-or-nothing transaction."""
import sqlite3

import pytest

from manymodels_runtime.errors import InputError, SinkWriteError
from manymodels_runtime.sinks import SqliteSink

KEYS = ['store "id"', "item; drop table x"]


def row(store, run_id, pred=1.0):
    return (store, "i", "2024-01-01", None, pred, "1", "m", run_id, "2024-01-01T00:00:00Z")


def table_rows(path, table):
    con = sqlite3.connect(path)
    try:
        return con.execute(f'select * from "{table}" order by 1, 8').fetchall()
    finally:
        con.close()


def test_replace_run_keeps_other_runs_and_quotes_every_identifier(tmp_path):
    db = tmp_path / "sub" / "p.db"
    sink = SqliteSink(str(db), 'pred "table"', KEYS, "replace_run")
    sink.prepare()
    assert sink.write("r1", [[row("a", "r1"), row("b", "r1")]]) == 2
    assert sink.write("r2", [[row("a", "r2")]]) == 1
    assert sink.write("r1", [[row("c", "r1", 5.0)]]) == 1
    got = table_rows(db, 'pred ""table""')
    assert [(r[0], r[7]) for r in got] == [("a", "r2"), ("c", "r1")]
    cols = [r[1] for r in sqlite3.connect(db).execute('pragma table_info("pred ""table""")')]
    assert cols[:2] == KEYS and cols[2:] == ["time", "row_index", "prediction", "model_version", "model_name",
                                             "run_id", "scored_at"]


def test_a_failed_write_rolls_back_the_delete(tmp_path):
    db = tmp_path / "p.db"
    sink = SqliteSink(str(db), "predictions", KEYS, "replace_run")
    sink.prepare()
    sink.write("r1", [[row("a", "r1")]])

    def batches():
        yield [row("b", "r1")]
        raise sqlite3.OperationalError("disk full (simulated)")

    with pytest.raises(SinkWriteError):
        sink.write("r1", batches())
    assert [r[0] for r in table_rows(db, "predictions")] == ["a"]


def test_overwrite_and_append(tmp_path):
    db = tmp_path / "p.db"
    SqliteSink(str(db), "t", KEYS, "append").prepare()
    SqliteSink(str(db), "t", KEYS, "append").write("r1", [[row("a", "r1")]])
    SqliteSink(str(db), "t", KEYS, "append").write("r1", [[row("a", "r1")]])
    assert len(table_rows(db, "t")) == 2
    SqliteSink(str(db), "t", KEYS, "overwrite").write("r9", [[row("z", "r9")]])
    assert [(r[0], r[7]) for r in table_rows(db, "t")] == [("z", "r9")]


def test_prepare_refuses_a_table_without_our_columns(tmp_path):
    db = tmp_path / "p.db"
    con = sqlite3.connect(db)
    con.execute("create table t (x int)")
    con.commit()
    con.close()
    with pytest.raises(InputError) as e:
        SqliteSink(str(db), "t", KEYS, "append").prepare()
    assert e.value.code == "MM415" and "run_id" in e.value.message


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
