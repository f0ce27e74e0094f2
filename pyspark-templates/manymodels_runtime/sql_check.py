"""`manymodels validate --data` on a PostgreSQL source (data.format: sql): its columns, their
types and a small sample, read the way the local reader reads the source (sql_reader.connect:
the same credentials variables, the same session settings; sql_source: the same SQL text).

The request is one JSON document on stdin: {"sql": <the JobSpec's data.sql>, "columns": [the
pipeline's columns], "limit": rows to sample}. The answer is one JSON line on stdout:

  {"columns": [{"name", "type"}], "sampled": [names], "rows": [[text, ...]], "whole": bool}

where the names come from `SELECT * FROM <source> LIMIT 0` (the server plans the query and
checks the rights, but reads no row), the types from pg_type, and the rows — at most `limit`,
only the pipeline's columns that the source has — as text the way the CSV reader would see
them ("" for NULL, true/false, ISO 8601 dates). `whole` is true when the source has no more
rows than that. A problem is {"error": {"code", "message", "field"}} with the data.sql field
that names it (url, table, query, user_env, password_env), and for a missing table the
source's tables as "tables" (for validate's did-you-mean). Exit 0 either way: the answer says.
Every statement runs in a read-only session with a statement timeout.
"""
from __future__ import annotations

import datetime
import decimal
import json
import sys

from .errors import UNSUPPORTED_INPUT, InputError
from .redact import redact_value
from .sql_source import AUTH_FAILED, QUERY_FAILED, describe, env_credentials, quote_ident, source_sql

STATEMENT_TIMEOUT_MS = 60_000
MAX_TABLES = 2000


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (datetime.date, datetime.datetime, datetime.time)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, memoryview):
        return v.tobytes().hex()
    return str(v)


def _source_field(sql: dict) -> str:
    return "table" if sql.get("table") else "query"


def _tables(conn) -> list[str]:
    """The tables and views the user can see, as schema.name (and the bare name in public)."""
    out: list[str] = []
    with conn.cursor() as cur:
        cur.execute("SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
                    "ORDER BY table_schema, table_name LIMIT %s", (MAX_TABLES,))
        for schema, name in cur.fetchall():
            out.append(f"{schema}.{name}")
            if schema == "public":
                out.append(name)
    return out


def inspect(sql: dict, columns: list[str], limit: int) -> dict:
    from .input_data.sql_reader import _first_line, _psycopg2, connect

    try:
        env_credentials(sql)
    except InputError as e:
        return {"error": {"code": e.code, "message": e.message,
                          "field": "password_env" if "password_env" in e.message else "user_env"}}
    try:
        pg = _psycopg2()
    except InputError as e:
        return {"error": {"code": e.code, "message": e.message, "field": "format"}}
    try:
        source = source_sql(sql)
    except InputError as e:
        return {"error": {"code": e.code, "message": e.message, "field": _source_field(sql)}}
    try:
        conn = connect(sql)
    except InputError as e:
        field = "url"
        if e.code == AUTH_FAILED:
            field = "password_env" if sql.get("passwordEnv") else "user_env" if sql.get("userEnv") else "url"
        return {"error": {"code": e.code, "message": e.message, "field": field}}
    try:
        conn.set_session(readonly=True)
        with conn.cursor() as cur:
            cur.execute("SET statement_timeout = %s", (STATEMENT_TIMEOUT_MS,))
            try:
                cur.execute(f"SELECT * FROM {source} LIMIT 0")
            except pg.Error as e:
                err = {"code": QUERY_FAILED, "message": f"reading {describe(sql)} failed: {_first_line(e)}",
                       "field": _source_field(sql)}
                if sql.get("table") and getattr(e, "pgcode", None) == "42P01":  # undefined_table
                    conn.rollback()
                    cur.execute("SET statement_timeout = %s", (STATEMENT_TIMEOUT_MS,))
                    err["tables"] = _tables(conn)
                return {"error": err}
            described = [(d.name, d.type_code) for d in cur.description]
            oids = sorted({oid for _, oid in described})
            cur.execute("SELECT oid, format_type(oid, NULL) FROM pg_type WHERE oid = ANY(%s)", (oids,))
            type_names = dict(cur.fetchall())
            names = [n for n, _ in described]
            sampled = [c for c in dict.fromkeys(columns) if c in names]
            rows: list[list[str]] = []
            if sampled:
                select = ", ".join(quote_ident(c) for c in sampled)
                try:
                    cur.execute(f"SELECT {select} FROM {source} LIMIT %s", (limit + 1,))
                except pg.Error as e:
                    return {"error": {"code": QUERY_FAILED, "message": f"reading {describe(sql)} failed: {_first_line(e)}",
                                      "field": _source_field(sql)}}
                rows = [[_text(v) for v in r] for r in cur.fetchall()]
            whole = len(rows) <= limit
            return {"columns": [{"name": n, "type": type_names.get(oid, str(oid))} for n, oid in described],
                    "sampled": sampled, "rows": rows[:limit], "whole": whole}
    finally:
        conn.close()


def main(argv: list[str]) -> int:
    try:
        req = json.loads(sys.stdin.read())
        out = inspect(req["sql"], list(req.get("columns") or []), int(req.get("limit") or 1000))
    except InputError as e:
        out = {"error": {"code": e.code, "message": e.message, "field": "format"}}
    except (ValueError, KeyError, TypeError) as e:
        out = {"error": {"code": UNSUPPORTED_INPUT, "message": f"malformed request: {e}", "field": "format"}}
    sys.stdout.write(json.dumps(redact_value(out)) + "\n")
    return 0

