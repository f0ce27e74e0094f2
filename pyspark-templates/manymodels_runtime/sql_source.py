"""A PostgreSQL source (data.format: sql), what both readers share: the SQL text that names
its rows, its credentials, and the JDBC URL Spark's reader takes. No driver is imported here
(input_data/sql_reader.py uses psycopg2 on the local engine, spark_executor.py Spark's JDBC).

SQL text. A table name is never pasted in: it must be `name` or `schema.name` of plain
identifiers (validate's MM319 checks the same), and each part is quoted ("public"."sales"), so
case is kept and no text of the name can end the identifier. Column names come from the
database's own answer and are quoted the same way (a `"` doubled). A query is the user's own
SQL and runs as written, with the rights of the user it connects as; it is wrapped as a
subquery — `(` newline, the query, newline `) AS mm_source` — only when that is safe: after
trailing `;` and blanks are dropped it is one statement (no `;` outside quotes, dollar quotes
and comments). The newlines end a trailing `--` comment inside the parentheses. A query that is
more than one statement is refused (MM452) rather than run in part.
"""
from __future__ import annotations

import os
import re

from .errors import InputError

UNREACHABLE = "MM450"        # the database server cannot be reached
AUTH_FAILED = "MM451"        # the server refused the user name or password
QUERY_FAILED = "MM452"       # the table does not exist, the query fails, or reading is not allowed
NO_CREDENTIALS = "MM453"     # an environment variable or secret named for the credentials is not there

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
_URL = re.compile(r"^postgres(?:ql)?://([^/?#]*)(/[^?#]*)?(\?[^#]*)?$", re.IGNORECASE)


def quote_ident(name: str) -> str:
    """Any column name as a quoted PostgreSQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def table_sql(table: str) -> str:
    """`schema.name` (each part a plain identifier) as quoted SQL; MM452 otherwise."""
    parts = table.split(".")
    if len(parts) > 2 or not all(IDENTIFIER.match(p) for p in parts):
        raise InputError(QUERY_FAILED, f"data.sql.table {table!r} is not a table name (name or schema.name of "
                                       "letters, digits and _); write data.sql.query instead")
    return ".".join(quote_ident(p) for p in parts)


def one_statement(query: str) -> str:
    """The query without trailing `;` and blanks; MM452 when a `;` remains outside quoted text,
    dollar-quoted text and comments (more than one statement)."""
    q = query.rstrip()
    while q.endswith(";"):
        q = q[:-1].rstrip()
    i, n = 0, len(q)
    while i < n:
        c = q[i]
        if c in "'\"":
            end = q.find(c, i + 1)
            while end != -1 and end + 1 < n and q[end + 1] == c:  # '' or "" inside
                end = q.find(c, end + 2)
            i = n if end == -1 else end + 1
        elif q.startswith("--", i):
            end = q.find("\n", i)
            i = n if end == -1 else end + 1
        elif q.startswith("/*", i):
            end = q.find("*/", i + 2)
            i = n if end == -1 else end + 2
        elif c == "$":
            m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", q[i:])
            if m:
                end = q.find(m.group(0), i + len(m.group(0)))
                i = n if end == -1 else end + len(m.group(0))
            else:
                i += 1
        elif c == ";":
            raise InputError(QUERY_FAILED, "data.sql.query holds more than one statement (a ; before its end); "
                                           "give one SELECT")
        else:
            i += 1
    if not q:
        raise InputError(QUERY_FAILED, "data.sql.query is empty")
    return q


def source_sql(sql: dict) -> str:
    """What a FROM clause names: the quoted table, or the query as a subquery."""
    if sql.get("table"):
        return table_sql(sql["table"])
    return f"(\n{one_statement(sql['query'])}\n) AS mm_source"


def describe(sql: dict) -> str:
    """The source in messages: the URL (it holds no credentials, MM319) and the table or 'query'."""
    return f"{sql['url']} table {sql['table']}" if sql.get("table") else f"{sql['url']} (data.sql.query)"


def jdbc_url(url: str) -> str:
    """postgresql://host[:port]/db[?params] as the PostgreSQL JDBC driver's jdbc:postgresql://… ."""
    m = _URL.match(url)
    if not m or "@" in m.group(1):
        raise InputError(QUERY_FAILED, "data.sql.url is not postgresql://host[:port]/database without credentials")
    return "jdbc:postgresql://" + url.split("://", 1)[1]


def env_credentials(sql: dict, environ=None) -> tuple[str | None, str | None]:
    """(user, password) from the environment variables sql.userEnv / sql.passwordEnv names;
    MM453 when one is named but not set. The password is registered with the redaction point."""
    from .redact import register_secret

    environ = os.environ if environ is None else environ
    out = []
    for field, what in (("userEnv", "user name"), ("passwordEnv", "password")):
        name = sql.get(field)
        if not name:
            out.append(None)
            continue
        if name not in environ:
            raise InputError(NO_CREDENTIALS, f"data.sql.{field[:-3]}_env names the environment variable {name} "
                                             f"for the {what}, which is not set")
        out.append(environ[name])
    if out[1]:
        register_secret(out[1], f"the password in data.sql.password_env ({sql.get('passwordEnv')})")
    return out[0], out[1]


def spark_credentials(spark, sql: dict) -> tuple[str | None, str | None]:
    """(user, password) for Spark's reader: with sql.secretScope, where Databricks' dbutils is
    there, each of userKey / passwordKey read with dbutils.secrets.get(scope, key) (a name
    without a key falls back to its environment variable); elsewhere the environment variables
    (Synapse: set on the pool or in the job's Spark configuration). Secrets read are registered
    with the redaction point."""
    from .redact import register_secret

    scope = sql.get("secretScope")
    dbutils = _dbutils(spark) if scope else None
    if dbutils is None:
        if scope and not sql.get("passwordEnv"):
            raise InputError(NO_CREDENTIALS, f"data.sql.secret_scope {scope} needs Databricks' dbutils, which this "
                                             "Spark does not have; give data.sql.password_env (and user_env) here")
        return env_credentials(sql)
    env_user, env_password = env_credentials({**sql, "passwordEnv": None if sql.get("passwordKey") else sql.get("passwordEnv")})
    out = []
    for field, env_value in (("userKey", env_user), ("passwordKey", env_password)):
        key = sql.get(field)
        if not key:
            out.append(env_value)
            continue
        try:
            out.append(dbutils.secrets.get(scope=scope, key=key))
        except Exception as e:  # the service's error (no such scope or key, no permission)
            raise InputError(NO_CREDENTIALS, f"cannot read secret {key} of scope {scope}: "
                                             f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    register_secret(out[1], f"the password of data.sql (secret scope {scope})")
    return out[0], out[1]


def _dbutils(spark):
    try:
        from pyspark.dbutils import DBUtils  # Databricks only
    except ImportError:
        return None
    return DBUtils(spark)


def read_spark(spark, sql: dict):
    """Spark's JDBC reader over the source: `dbtable` for a table, `query` for a query (or, with
    a partitioning, the query as a `dbtable` subquery: Spark refuses `query` together with
    `partitionColumn`); with sql.partition, partitionColumn / lowerBound / upperBound /
    numPartitions, the bounds from the pipeline or, when it gives none, from one
    SELECT MIN, MAX of the column."""
    user, password = spark_credentials(spark, sql)
    url = jdbc_url(sql["url"])

    def reader():
        r = spark.read.format("jdbc").option("url", url).option("driver", "org.postgresql.Driver")
        if user is not None:
            r = r.option("user", user)
        if password is not None:
            r = r.option("password", password)
        return r

    part = sql.get("partition")
    r = reader()
    if sql.get("table"):
        r = r.option("dbtable", table_sql(sql["table"]))
    elif part:
        r = r.option("dbtable", source_sql(sql))
    else:
        r = r.option("query", one_statement(sql["query"]))
    if part:
        lower, upper = part.get("lower"), part.get("upper")
        if lower is None or upper is None:
            col = quote_ident(part["column"])
            row = _load(reader().option("query", f"SELECT MIN({col}) AS lo, MAX({col}) AS hi FROM {source_sql(sql)}"),
                        sql).collect()[0]
            lower, upper = row["lo"], row["hi"]
        if lower is not None and upper is not None:
            r = r.option("partitionColumn", part["column"]).option("lowerBound", str(lower)) \
                .option("upperBound", str(upper)).option("numPartitions", str(int(part["count"])))
    return _load(r, sql)


def error_code(message: str) -> str:
    """The MM45x code of a driver's message: refused credentials, an unreachable server, or
    (anything else) a failing table or query."""
    low = message.lower()
    if any(w in low for w in ("password authentication failed", "no password supplied", "authentication failed",
                              "no password was provided", "pg_hba.conf")) or re.search(r'role "[^"]*" does not exist', low):
        return AUTH_FAILED
    if any(w in low for w in ("connection refused", "could not connect", "could not translate host", "timeout expired",
                              "timed out", "unknownhost", "no route to host", "connection to server", "connection attempt failed")):
        return UNREACHABLE
    return QUERY_FAILED


def _load(r, sql: dict):
    """r.load(), its failure (a Py4J error carrying the driver's) as MM450–MM452 with the
    driver's first line, never the Java trace."""
    from .redact import redact
    try:
        return r.load()
    except Exception as e:
        text = str(e)
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("at ")]
        first = next((ln for ln in lines if "PSQLException" in ln or "SQLException" in ln), lines[0] if lines else type(e).__name__)
        raise InputError(error_code(text), f"reading {describe(sql)} failed: {redact(first)}") from None
