"""Fake DataFrame over pandas, with the Spark semantics the runtime relies on.

Values are kept as Python objects with None for null (as Spark rows hold them). The point
of the fake is `GroupedData.applyInPandas`: it ships the function through pickle (as Spark
does), hands each group over with the pandas dtypes Arrow would give, and checks that every
frame the function returns matches the declared schema exactly: column names and order,
and dtypes per field type. Writers record their calls (see _record) instead of connecting.
"""
import json
import os
import pickle
import re
import zipfile

import numpy as np
import pandas as pd

from .types import BooleanType, DoubleType, IntegerType, LongType, NullType, StringType, StructField, StructType, \
    TimestampType, type_from_name


class SchemaMismatch(AssertionError):
    """A frame returned by an applyInPandas function does not match its declared schema."""


def _record(event):
    path = os.environ.get("FAKE_PYSPARK_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(event, default=str) + "\n")


def _local_path(path):
    """Spark on Databricks reads dbfs:/ and /Volumes/ natively, and on Synapse abfss://. The fake
    reads them where the test keeps those trees: under the mount roots the runtime is told about
    (paths.py; for abfss:// the Synapse emulator's `<root>/<container>@<account>/<path>`)."""
    m = re.match(r"^abfss?://([^@/]+)@([^./]+)\.[^/]+(?:/(.*))?$", path, re.IGNORECASE)
    if m:
        mount = os.environ.get("MANYMODELS_ABFSS_MOUNT")
        if not mount:
            raise ValueError(f"fake pyspark: {path} needs MANYMODELS_ABFSS_MOUNT (no real lake here)")
        return os.path.join(mount, f"{m.group(1).lower()}@{m.group(2).lower()}", *(m.group(3) or "").split("/"))
    if path.startswith("dbfs:"):
        path = "/dbfs/" + path[len("dbfs:"):].lstrip("/")
    for root, var in (("/dbfs", "MANYMODELS_DBFS_MOUNT"), ("/Volumes", "MANYMODELS_VOLUMES_MOUNT")):
        if path == root or path.startswith(root + "/"):
            mount = os.environ.get(var)
            if not mount:
                raise ValueError(f"fake pyspark: {path} needs {var} (no real {root} here)")
            return os.path.join(mount, path[len(root):].lstrip("/"))
    return path


def _is_null(v):
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT


def _cast_value(v, t):
    if _is_null(v) or isinstance(t, NullType):
        return None
    if isinstance(t, StringType):
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v)
    if isinstance(t, DoubleType):
        try:
            return float(v)
        except (TypeError, ValueError):
            return None  # Spark: an unparseable string casts to null
    if isinstance(t, LongType):
        try:
            return int(float(v))
        except (TypeError, ValueError):
            return None
    if isinstance(t, BooleanType):
        if isinstance(v, str):
            return {"true": True, "false": False}.get(v.lower())
        return bool(v)
    raise ValueError(f"fake pyspark: cannot cast to {t!r}")


def _unquote(name):
    if len(name) >= 2 and name[0] == "`" and name[-1] == "`":
        return name[1:-1].replace("``", "`")
    if "." in name:
        # Real Spark reads an unquoted dot as struct-field access and fails on flat columns.
        raise ValueError(f"fake pyspark: unquoted column reference {name!r} would be struct access in Spark")
    return name


class Column:
    def __init__(self, fn, name):
        self._fn = fn          # df -> (object Series, DataType)
        self.name = name

    @classmethod
    def ref(cls, name):
        real = _unquote(name)

        def fn(df):
            if real not in df.pdf.columns:
                raise ValueError(f"fake pyspark: no column {real!r} in {list(df.pdf.columns)}")
            return df.pdf[real], df._type(real)
        return cls(fn, real)

    def eval(self, df):
        return self._fn(df)

    def cast(self, t):
        t = type_from_name(t)
        return Column(lambda df: (self.eval(df)[0].map(lambda v: _cast_value(v, t)).astype(object), t),
                      self.name)

    def alias(self, name):
        return Column(self._fn, name)

    def isNull(self):
        return Column(lambda df: (self.eval(df)[0].map(_is_null).astype(object), BooleanType()), self.name)

    def isNotNull(self):
        return Column(lambda df: (self.eval(df)[0].map(lambda v: not _is_null(v)).astype(object), BooleanType()),
                      self.name)

    def __and__(self, other):
        return Column(lambda df: ((self.eval(df)[0].astype(bool) & other.eval(df)[0].astype(bool)).astype(object),
                                  BooleanType()), self.name)

    def __or__(self, other):
        return Column(lambda df: ((self.eval(df)[0].astype(bool) | other.eval(df)[0].astype(bool)).astype(object),
                                  BooleanType()), self.name)

    def __eq__(self, value):
        return Column(lambda df: (self.eval(df)[0].map(lambda v: None if _is_null(v) else v == value).astype(object),
                                  BooleanType()), self.name)

    __hash__ = None

    def __invert__(self):
        # SQL NOT: null stays null.
        return Column(lambda df: (self.eval(df)[0].map(lambda v: None if _is_null(v) else not v).astype(object),
                                  BooleanType()), self.name)

    def isin(self, *cols):
        """Column.isin(*cols): true when the value equals one of the literals (a single list or
        set may be given instead); null for a null value, as SQL IN."""
        if len(cols) == 1 and isinstance(cols[0], (list, set, tuple)):
            cols = tuple(cols[0])
        if any(isinstance(c, Column) for c in cols):
            raise ValueError("fake pyspark: isin supports literal values only")
        values = list(cols)
        return Column(lambda df: (self.eval(df)[0].map(lambda v: None if _is_null(v) else v in values).astype(object),
                                  BooleanType()), self.name)

    def when(self, condition, value):
        """Another branch of a CASE WHEN chain that functions.when started."""
        if self._branches is None:
            raise ValueError("when() can only be applied on a Column previously generated by when() function")
        return _case(self._branches + [(condition, value)], None, self.name)

    def otherwise(self, value):
        if self._branches is None:
            raise ValueError("otherwise() can only be applied on a Column previously generated by when() function")
        if self._otherwise is not None:
            raise ValueError("otherwise() can only be applied once on a Column previously generated by when()")
        return _case(self._branches, (value,), self.name)

    _branches = None
    _otherwise = None


def _as_column(value):
    if isinstance(value, Column):
        return value
    from .functions import lit
    return lit(value)


def _case(branches, otherwise, name):
    """CASE WHEN c1 THEN v1 ... [ELSE v] END: the first branch whose condition is true (null is
    not true) gives the value; no branch and no ELSE gives null. The type is the values' type
    (lit(None) takes the others')."""
    def fn(df):
        conds = [_as_column(c).eval(df)[0] for c, _ in branches]
        vals = [_as_column(v).eval(df) for _, v in branches] + \
            ([_as_column(otherwise[0]).eval(df)] if otherwise else [])
        types = [t for _, t in vals if not isinstance(t, NullType)]
        if any(t != types[0] for t in types):
            raise ValueError(f"fake pyspark: CASE WHEN branches of different types {types} (the runtime casts)")
        n = len(df.pdf)
        out = [None] * n
        for i in range(n):
            for j, c in enumerate(conds):
                if c.iloc[i] is not None and not _is_null(c.iloc[i]) and bool(c.iloc[i]):
                    out[i] = vals[j][0].iloc[i]
                    break
            else:
                if otherwise:
                    out[i] = vals[-1][0].iloc[i]
        return pd.Series([None if _is_null(v) else v for v in out], index=df.pdf.index, dtype=object), \
            (types[0] if types else NullType())
    col = Column(fn, name)
    col._branches = list(branches)
    col._otherwise = otherwise
    return col


class Row(tuple):
    def __new__(cls, names, values):
        r = super().__new__(cls, values)
        r._names = list(names)
        return r

    def __getitem__(self, item):
        if isinstance(item, str):
            return tuple.__getitem__(self, self._names.index(item))
        return tuple.__getitem__(self, item)

    def __getattr__(self, item):
        if item.startswith("_"):
            raise AttributeError(item)
        try:
            return self[item]
        except ValueError:
            raise AttributeError(item) from None

    def asDict(self):
        return dict(zip(self._names, self))


def to_pandas_typed(pdf, fields):
    """Object columns → the pandas dtypes Arrow gives a pandas UDF."""
    out = {}
    for f in fields:
        s = pdf[f.name]
        t = f.dataType
        has_null = s.map(_is_null).any() if len(s) else False
        if isinstance(t, DoubleType):
            out[f.name] = s.map(lambda v: np.nan if _is_null(v) else float(v)).astype(np.float64)
        elif isinstance(t, LongType):
            out[f.name] = s.map(lambda v: np.nan if _is_null(v) else v).astype(np.float64 if has_null else np.int64)
        elif isinstance(t, TimestampType):
            out[f.name] = pd.to_datetime(s)
        elif isinstance(t, BooleanType) and not has_null:
            out[f.name] = s.astype(bool)
        else:
            out[f.name] = s.map(lambda v: None if _is_null(v) else v).astype(object)
    return pd.DataFrame(out, columns=[f.name for f in fields]).reset_index(drop=True)


def check_frame(out, schema):
    if not isinstance(out, pd.DataFrame):
        raise SchemaMismatch(f"applyInPandas function returned {type(out).__name__}, not a pandas DataFrame")
    if list(out.columns) != schema.names:
        raise SchemaMismatch(f"columns {list(out.columns)} != declared {schema.names}")
    for f in schema.fields:
        s = out[f.name]
        t = f.dataType
        nulls = s.map(_is_null)
        if nulls.any() and not f.nullable:
            raise SchemaMismatch(f"column {f.name!r} is not nullable but holds nulls")
        vals = s[~nulls]
        if isinstance(t, StringType):
            if s.dtype != object or not all(isinstance(v, str) for v in vals):
                raise SchemaMismatch(f"column {f.name!r} must hold str (object dtype), got {s.dtype} "
                                     f"{[type(v).__name__ for v in vals[:3]]}")
        elif isinstance(t, DoubleType):
            if s.dtype != np.float64:
                raise SchemaMismatch(f"column {f.name!r} must be float64, got {s.dtype}")
        elif isinstance(t, LongType):
            # Arrow masks NaN as null, so a nullable long may arrive as float64 holding integers.
            ok = s.dtype == np.int64 or (isinstance(t, IntegerType) and s.dtype == np.int32) or \
                (s.dtype == np.float64 and f.nullable
                                         and bool(np.all(np.floor(vals.to_numpy()) == vals.to_numpy())))
            if not ok:
                raise SchemaMismatch(f"column {f.name!r} must be int64 (or float64 integers with NaN), got {s.dtype}")
        elif isinstance(t, BooleanType):
            if not all(isinstance(v, (bool, np.bool_)) for v in vals):
                raise SchemaMismatch(f"column {f.name!r} must hold booleans")


def _from_typed(pdf, fields):
    """A returned pandas frame → object columns with None for NaN/NaT."""
    out = {}
    for f in fields:
        s = pdf[f.name]
        vals = []
        for v in s.tolist():
            if _is_null(v):
                vals.append(None)
            elif isinstance(f.dataType, LongType):
                vals.append(int(v))
            else:
                vals.append(v)
        out[f.name] = pd.Series(vals, dtype=object)
    return pd.DataFrame(out, columns=[f.name for f in fields])


class DataFrame:
    def __init__(self, pdf, fields, session):
        self.pdf = pdf.reset_index(drop=True)
        self.fields = list(fields)
        self.session = session

    # -- schema
    @property
    def columns(self):
        return [f.name for f in self.fields]

    @property
    def schema(self):
        return StructType(self.fields)

    def _type(self, name):
        for f in self.fields:
            if f.name == name:
                return f.dataType
        raise ValueError(f"fake pyspark: no column {name!r}")

    def _col(self, c):
        return Column.ref(c) if isinstance(c, str) else c

    # -- transformations
    def select(self, *cols):
        data, fields = {}, []
        for c in cols:
            c = self._col(c)
            s, t = c.eval(self)
            data[c.name] = s.reset_index(drop=True)
            fields.append(StructField(c.name, t, True))
        return DataFrame(pd.DataFrame(data, columns=[f.name for f in fields]), fields, self.session)

    def withColumn(self, name, c):
        s, t = c.eval(self)
        pdf = self.pdf.copy()
        pdf[name] = s.values
        fields = [f for f in self.fields if f.name != name] + [StructField(name, t, True)]
        if name in self.columns:
            fields = [StructField(name, t, True) if f.name == name else f for f in self.fields]
        return DataFrame(pdf[[f.name for f in fields]], fields, self.session)

    def filter(self, c):
        mask = c.eval(self)[0].map(lambda v: bool(v) if v is not None else False).astype(bool)
        return DataFrame(self.pdf[mask.values], self.fields, self.session)

    where = filter

    def drop(self, *names):
        keep = [f for f in self.fields if f.name not in names]
        return DataFrame(self.pdf[[f.name for f in keep]], keep, self.session)

    def limit(self, n):
        return DataFrame(self.pdf.head(n), self.fields, self.session)

    def distinct(self):
        return DataFrame(self.pdf.drop_duplicates(), self.fields, self.session)

    def unionByName(self, other, allowMissingColumns=False):
        mine, theirs = set(self.columns), set(other.columns)
        if (mine != theirs) and not allowMissingColumns:
            raise ValueError("fake pyspark: unionByName with different columns needs allowMissingColumns=True")
        fields = list(self.fields) + [f for f in other.fields if f.name not in mine]
        names = [f.name for f in fields]
        rows = [[None if _is_null(v) else v for v in r]
                for part in (self.pdf, other.pdf) for r in part.reindex(columns=names).itertuples(index=False)]
        return DataFrame(pd.DataFrame(rows, columns=names, dtype=object), fields, self.session)

    def mapInPandas(self, fn, schema):
        """Spark hands the function an iterator of Arrow batches as pandas frames (one here) and
        checks every frame it yields against the schema."""
        if not isinstance(schema, StructType):
            raise SchemaMismatch("the fake wants a StructType schema (as the runtime declares)")
        fn = pickle.loads(pickle.dumps(fn))
        outs = []
        for out in fn(iter([to_pandas_typed(self.pdf, self.fields)])):
            check_frame(out, schema)
            outs.append(_from_typed(out, schema.fields))
        _record({"op": "mapInPandas", "schema": [[f.name, f.dataType.simpleString()] for f in schema.fields]})
        result = pd.concat(outs, ignore_index=True) if outs else pd.DataFrame({n: [] for n in schema.names})
        return DataFrame(result, schema.fields, self.session)

    def repartition(self, n, *cols):
        """One partition here: the call is recorded (the runtime's partitioning is checked from the log)."""
        _record({"op": "repartition", "n": n, "cols": [c if isinstance(c, str) else c.name for c in cols]})
        return self

    def groupBy(self, *cols):
        return GroupedData(self, [self._col(c) for c in cols])

    def cache(self):
        return self

    def unpersist(self):
        return self

    # -- actions
    def collect(self):
        return [Row(self.columns, [None if _is_null(v) else v for v in r])
                for r in self.pdf.itertuples(index=False, name=None)]

    def count(self):
        return len(self.pdf)

    def toPandas(self):
        return to_pandas_typed(self.pdf, self.fields)

    @property
    def write(self):
        return DataFrameWriter(self)


class GroupedData:
    def __init__(self, df, cols):
        self.df = df
        self.cols = cols

    def applyInPandas(self, fn, schema):
        if not isinstance(schema, StructType):
            raise SchemaMismatch("the fake wants a StructType schema (as the runtime declares)")
        keys = [c.name for c in self.cols]
        # Spark pickles the function to ship it to executors (cloudpickle there; plain pickle
        # here, which the runtime's callable objects must survive).
        fn = pickle.loads(pickle.dumps(fn))
        df = self.df
        pdf = df.pdf
        outs = []
        if len(pdf):
            key_frame = pdf[keys].astype(object).where(pdf[keys].notna(), "\0null")
            for _, idx in key_frame.groupby(keys, sort=True).groups.items():
                part = to_pandas_typed(pdf.loc[idx], df.fields)
                out = fn(part)
                check_frame(out, schema)
                outs.append(_from_typed(out, schema.fields))
        _record({"op": "applyInPandas", "keys": keys, "schema": [[f.name, f.dataType.simpleString()]
                                                                 for f in schema.fields], "groups": len(outs)})
        result = pd.concat(outs, ignore_index=True) if outs else pd.DataFrame({n: [] for n in schema.names})
        return DataFrame(result, schema.fields, df.session)


class DataFrameWriter:
    def __init__(self, df):
        self._df = df
        self._format = None
        self._mode = None
        self._options = {}

    def format(self, f):
        self._format = f
        return self

    def mode(self, m):
        self._mode = m
        return self

    def option(self, k, v):
        self._options[str(k)] = v if isinstance(v, str) else str(v)
        return self

    def options(self, **kw):
        for k, v in kw.items():
            self.option(k, v)
        return self

    def _done(self, method, target):
        rows = [list(r) for r in self._df.collect()]
        _record({"op": "write", "method": method, "format": self._format, "mode": self._mode,
                 "options": self._options, "target": target, "columns": self._df.columns, "rows": rows})

    def save(self, path=None):
        self._done("save", path)

    def saveAsTable(self, name):
        self._done("saveAsTable", name)


class DataFrameReader:
    def __init__(self, session):
        self.session = session
        self._format = None
        self._options = {}

    def format(self, f):
        self._format = f
        return self

    def option(self, k, v):
        self._options[str(k).lower()] = str(v)
        return self

    def load(self, path=None):
        if self._format == "jdbc":
            return self._load_jdbc()
        if self._format != "csv":
            raise ValueError(f"fake pyspark reads csv and jdbc only, not {self._format!r}")
        if self._options.get("header") != "true":
            raise ValueError("fake pyspark: csv without header is not supported")
        sep = self._options.get("sep", self._options.get("delimiter", ","))
        raw = pd.read_csv(_local_path(path), dtype=str, keep_default_na=False, sep=sep)
        # Spark's CSV reader (no inferSchema) gives strings, and null for an empty field and,
        # with the nullValue option, for a field equal to it, in every column (keys too).
        null = self._options.get("nullvalue", "")
        _record({"op": "read", "format": "csv", "options": dict(sorted(self._options.items()))})
        pdf = raw.astype(object).where((raw != "") & (raw != null), None)
        return DataFrame(pdf, [StructField(c, StringType(), True) for c in raw.columns], self.session)

    def _load_jdbc(self):
        """Spark's JDBC reader, for jdbc:postgresql URLs only: the option checks Spark makes, then
        the rows of dbtable (as `SELECT * FROM <dbtable>`) or query (as `SELECT * FROM (<query>)
        spark_gen_alias`), read with psycopg2 from the real server the test started. Partition
        options are checked and recorded; the fake reads every row in one piece (Spark's
        partitions together hold the same rows)."""
        o = self._options
        url = o.get("url", "")
        if not url.startswith("jdbc:postgresql://"):
            raise ValueError(f"fake pyspark reads jdbc:postgresql only, not {url!r}")
        if ("dbtable" in o) == ("query" in o):
            raise ValueError("Either 'dbtable' or 'query' parameter should be provided, not both")
        part = [k for k in ("partitioncolumn", "lowerbound", "upperbound", "numpartitions") if k in o]
        if "query" in o and "partitioncolumn" in o:
            raise ValueError("Options 'query' and 'partitionColumn' can not be specified together.")
        if part and len(part) != 4:
            raise ValueError("When reading JDBC data sources, users need to specify all or none for the following "
                             "options: 'partitionColumn', 'lowerBound', 'upperBound', and 'numPartitions'")
        import psycopg2
        source = o["dbtable"] if "dbtable" in o else f"({o['query']}) spark_gen_alias"
        _record({"op": "read", "format": "jdbc",
                 "options": {k: ("***" if k == "password" else v) for k, v in sorted(o.items())}})
        kw = {k: o[k] for k in ("user", "password") if k in o}
        try:
            conn = psycopg2.connect("postgresql://" + url[len("jdbc:postgresql://"):], connect_timeout=10, **kw)
        except psycopg2.OperationalError as e:
            raise RuntimeError(f"py4j.protocol.Py4JJavaError: An error occurred while calling o42.load.\n"
                               f": org.postgresql.util.PSQLException: {str(e).strip()}\n"
                               "\tat org.postgresql.core.v3.ConnectionFactoryImpl.doAuthentication") from None
        try:
            with conn.cursor() as cur:
                try:
                    cur.execute(f"SELECT * FROM {source}")
                except psycopg2.Error as e:
                    raise RuntimeError(": org.postgresql.util.PSQLException: " + (e.pgerror or str(e)).strip()) from None
                names = [d.name for d in cur.description]
                rows = cur.fetchall()
        finally:
            conn.close()
        # Spark's JDBC type mapping, for the types the fake has: boolean, integers (long), floats
        # and numeric (the fake has no DecimalType: double), date and timestamp; text otherwise.
        types = [BooleanType() if d.type_code == 16 else LongType() if d.type_code in (20, 21, 23)
                 else DoubleType() if d.type_code in (700, 701, 1700)
                 else TimestampType() if d.type_code in (1082, 1114, 1184) else StringType() for d in cur.description]
        cols = {}
        for i, (c, t) in enumerate(zip(names, types)):
            vals = [r[i] for r in rows]
            if isinstance(t, TimestampType):
                cols[c] = [None if v is None else pd.Timestamp(v) for v in vals]
            elif isinstance(t, DoubleType):
                cols[c] = [None if v is None else float(v) for v in vals]
            elif isinstance(t, StringType):
                cols[c] = [None if v is None else str(v) for v in vals]
            else:
                cols[c] = vals
        pdf = pd.DataFrame(cols, columns=names, dtype=object)
        return DataFrame(pdf, [StructField(c, t, True) for c, t in zip(names, types)], self.session)

    def csv(self, path, header=True, **kw):
        return self.format("csv").option("header", str(header).lower()).load(path)

    def table(self, name):
        raise ValueError("fake pyspark has no catalog")


class Broadcast:
    def __init__(self, value):
        self.value = value


_ACCUMULATORS = {}


def _accumulator(aid):
    return _ACCUMULATORS[aid]


class Accumulator:
    """Pickles by id, as Spark's do: what the executor side adds reaches the driver's value.
    (Spark merges each task's additions when the task ends; the fake, at once.)"""

    def __init__(self, value):
        self.aid = len(_ACCUMULATORS)
        self._value = value
        _ACCUMULATORS[self.aid] = self

    def add(self, term):
        self._value += term

    @property
    def value(self):
        return self._value

    def __reduce__(self):
        return (_accumulator, (self.aid,))


class SparkContext:
    defaultParallelism = 2

    def __init__(self):
        self.py_files = []

    def addPyFile(self, path):
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
        _record({"op": "addPyFile", "has_package": "manymodels_runtime/__init__.py" in names,
                 "has_stages": "manymodels_runtime/stages.py" in names})
        self.py_files.append(path)

    def broadcast(self, value):
        return Broadcast(value)

    def accumulator(self, value):
        return Accumulator(value)
