"""format: sql against a real PostgreSQL started here (tests/pg_server.py): the local engine's
psycopg2 reader (COPY into the parsed-input cache), the Spark path through the fake pyspark's
JDBC reader (which checks Spark's option rules and reads the same server), credentials from the
environment or a Databricks secret scope, and the coded errors (MM450–MM453) that never echo
a password."""
import json
import os

import pandas as pd
import pytest

import pg_server
from pg_server import PASSWORD, USER
from manymodels_runtime.errors import InputError
from manymodels_runtime.sql_source import error_code, one_statement, source_sql, table_sql

BIN = pg_server.find_bin()
if BIN is None and os.environ.get("CI") == "true":
    raise RuntimeError("PostgreSQL is missing: scripts/bootstrap.sh installs it (postgresql) for the tests")
needs_pg = pytest.mark.skipif(BIN is None, reason="PostgreSQL is not installed")

ENV = {"MM_PG_USER": USER, "MM_PG_PASSWORD": PASSWORD}


@pytest.fixture(scope="module")
def pg():
    server = pg_server.Server(BIN)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def sales(pg):
    """The conftest's two daily series in a table with SQL types (text, int, date, numeric, boolean)."""
    from conftest import _series
    frame = pd.concat([_series(("1", "10")), _series(("2", "20"), seed=1)], ignore_index=True)
    rows = ", ".join(f"('{r.store_id}', {int(r.item_id)}, DATE '{r.date}', {r.sales}, {r.price}, "
                     f"{'TRUE' if r.promo else 'FALSE'})" for r in frame.itertuples())
    pg.execute('CREATE SCHEMA retail',
               'CREATE TABLE retail."Sales" (store_id text, item_id integer, date date, sales double precision, '
               'price numeric(6, 2), promo boolean)',
               f'INSERT INTO retail."Sales" VALUES {rows}')
    return frame


def sql_spec(base_spec, pg, **sql):
    src = {"url": pg.url, "table": None, "query": None, "partition": None, "userEnv": "MM_PG_USER",
           "passwordEnv": "MM_PG_PASSWORD", "secretScope": None, "userKey": None, "passwordKey": None, **sql}
    return base_spec(data={"format": "sql", "options": {}, "path": None, "sql": src})


def assert_no_password(project, res):
    assert PASSWORD not in res.stdout + res.stderr
    for root, _, files in os.walk(project.root / "runs"):
        for f in files:
            assert PASSWORD not in open(os.path.join(root, f), encoding="latin-1").read(), f


def test_one_statement_drops_trailing_semicolons_and_refuses_a_second_statement():
    assert one_statement("SELECT 1 ;  \n;") == "SELECT 1"
    assert one_statement("SELECT 'a;b', \"c;\", $$;$$, $t$;$t$ /* ; */ -- ;\nFROM x") .endswith("FROM x")
    with pytest.raises(InputError) as e:
        one_statement("SELECT 1; DROP TABLE sales")
    assert e.value.code == "MM452"
    assert source_sql({"query": "SELECT 1 -- the end"}) == "(\nSELECT 1 -- the end\n) AS mm_source"


def test_driver_messages_map_to_their_codes():
    assert error_code('FATAL:  password authentication failed for user "mm"') == "MM451"
    assert error_code("fe_sendauth: no password supplied") == "MM451"
    assert error_code('FATAL:  role "nobody" does not exist') == "MM451"
    assert error_code('connection to server at "127.0.0.1", port 1 failed: Connection refused') == "MM450"
    assert error_code("org.postgresql.util.PSQLException: The connection attempt failed.") == "MM450"
    # A column that happens to be called password is a query problem, not a login one.
    assert error_code('ERROR:  column "password" does not exist') == "MM452"
    assert error_code('ERROR:  relation "x" does not exist') == "MM452"


def test_table_names_are_quoted_identifiers_never_pasted_text():
    assert table_sql("retail.Sales") == '"retail"."Sales"'
    for bad in ('sales"; DROP TABLE x; --', "a.b.c", "1x", "x y"):
        with pytest.raises(InputError):
            table_sql(bad)


@needs_pg
def test_train_from_a_table_matches_the_same_rows_as_csv(project, base_spec, pg, sales):
    project.write_data(sales)
    csv = project.run("train", base_spec(), "csv")
    res = project.run("train", sql_spec(base_spec, pg, table="retail.Sales"), "sql", env=ENV)
    assert res.code == 0, res.stderr
    assert csv.code == 0, csv.stderr
    got = {k: (g["status"], g["metrics"]) for k, g in res.by_keys().items()}
    want = {k: (g["status"], g["metrics"]) for k, g in csv.by_keys().items()}
    assert got == want and len(got) == 2
    # The second read finds the parsed copy in the cache (the same rows, the same fingerprint).
    again = project.run("train", sql_spec(base_spec, pg, table="retail.Sales"), "sql2", env=ENV)
    assert again.code == 0 and again.manifest["dataFingerprint"] == res.manifest["dataFingerprint"]


@needs_pg
def test_train_from_a_query(project, base_spec, pg, sales):
    q = 'SELECT * FROM retail."Sales" WHERE store_id = \'2\' -- one store;\n;'
    res = project.run("train", sql_spec(base_spec, pg, query=q), "q", env=ENV)
    assert res.code == 0, res.stderr
    assert list(res.by_keys()) == [("2", "20")]


@needs_pg
@pytest.mark.parametrize("sql, env, code, words", [
    ({"table": "retail.Sales"}, {**ENV, "MM_PG_PASSWORD": "wrong-" + PASSWORD[::-1]}, "MM451", "refused the credentials"),
    ({"table": "retail.nope"}, ENV, "MM452", 'relation "retail.nope" does not exist'),
    ({"query": "SELECT 1; SELECT 2"}, ENV, "MM452", "more than one statement"),
    ({"table": "retail.Sales"}, {"MM_PG_USER": USER}, "MM453", "MM_PG_PASSWORD"),
    ({"table": "retail.Sales", "store_id": None}, ENV, "MM411", "missing"),
])
def test_problems_are_coded_without_a_trace_or_the_password(project, base_spec, pg, sales, sql, env, code, words):
    spec = sql_spec(base_spec, pg, **{k: v for k, v in sql.items() if k != "store_id"})
    if "store_id" in sql:
        spec["columns"]["keys"] = ["shop"]
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MM_PG_")}, **env}
    res = project.run("train", spec, "bad", env=env)
    assert res.code == 2
    err = res.kinds("error")[0]
    assert err["code"] == code and words in err["message"], err
    assert "Traceback" not in res.stderr
    assert_no_password(project, res)


@needs_pg
def test_an_unreachable_server_is_mm450(project, base_spec, pg):
    spec = sql_spec(base_spec, pg, table="sales")
    spec["data"]["sql"]["url"] = f"postgresql://127.0.0.1:{pg_server._free_port()}/postgres"
    res = project.run("train", spec, "down", env=ENV)
    assert res.code == 2 and res.kinds("error")[0]["code"] == "MM450", res.stderr
    assert "Traceback" not in res.stderr


@needs_pg
def test_spark_reads_through_jdbc_with_a_partitioning_from_min_max(project, base_spec, pg, sales):
    spec = sql_spec(base_spec, pg, table="retail.Sales", partition={"column": "item_id", "lower": None, "upper": None, "count": 4})
    res = project.run("train", spec, "spark", spark=True, env=ENV)
    assert res.code == 0, res.stderr
    assert len(res.by_keys()) == 2
    reads = [e["options"] for e in project.spark_log() if e.get("op") == "read"]
    assert reads[0]["query"] == 'SELECT MIN("item_id") AS lo, MAX("item_id") AS hi FROM "retail"."Sales"'
    main = reads[1]
    assert main["url"] == "jdbc:postgresql://" + pg.url.split("://")[1]
    assert (main["dbtable"], main["partitioncolumn"], main["lowerbound"], main["upperbound"], main["numpartitions"]) == \
        ('"retail"."Sales"', "item_id", "10", "20", "4")
    assert main["user"] == USER and main["password"] == "***"
    assert_no_password(project, res)


@needs_pg
def test_spark_query_with_a_partitioning_is_a_dbtable_subquery_and_secrets_come_from_the_scope(project, base_spec, pg, sales):
    secrets = project.write_text("secrets.json", json.dumps({"pg": {"u": USER, "p": PASSWORD}}))
    spec = sql_spec(base_spec, pg, query='SELECT * FROM retail."Sales"', userEnv=None, passwordEnv=None,
                    secretScope="pg", userKey="u", passwordKey="p",
                    partition={"column": "item_id", "lower": 0, "upper": 100, "count": 2})
    res = project.run("train", spec, "scope", spark=True, env={"FAKE_DBUTILS_SECRETS": str(secrets)})
    assert res.code == 0, res.stderr
    (main,) = [e["options"] for e in project.spark_log() if e.get("op") == "read"]
    assert main["dbtable"] == '(\nSELECT * FROM retail."Sales"\n) AS mm_source' and "query" not in main
    assert (main["lowerbound"], main["upperbound"]) == ("0", "100")
    # Without a partitioning a query is Spark's own `query` option.
    spec["data"]["sql"]["partition"] = None
    res = project.run("train", spec, "scope2", spark=True, env={"FAKE_DBUTILS_SECRETS": str(secrets)})
    assert res.code == 0, res.stderr
    assert [e["options"].get("query") for e in project.spark_log() if e.get("op") == "read"][-1] == 'SELECT * FROM retail."Sales"'


@needs_pg
def test_spark_wrong_password_is_mm451_without_the_java_trace(project, base_spec, pg, sales):
    spec = sql_spec(base_spec, pg, table="retail.Sales")
    res = project.run("train", spec, "sparkbad", spark=True, env={**ENV, "MM_PG_PASSWORD": "nope-" + PASSWORD})
    assert res.code == 2
    err = res.kinds("error")[0]
    assert err["code"] == "MM451" and "password authentication failed" in err["message"], err
    assert "\tat org." not in err["message"] and "nope-" + PASSWORD not in res.stdout + res.stderr
