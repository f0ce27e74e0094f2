"""Reads the input into column arrays for the local executor: CSV (always), Parquet (with
pyarrow), the up-front column checks (MM410–MM413), and the parsed-input cache.

Why arrays and not one DataFrame: the executor slices each group out of plain numpy arrays
that forked workers inherit; key columns become integer codes over their sorted distinct
strings (identity is the string as written: '007' stays '007'), and the time column is
parsed once per distinct string rather than once per row. Parsing a large CSV dominates
the cost of cheap models, so big files are parsed by several processes at once and the
result is cached as .npy files that the score stage and later runs load in about a second.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import (EMPTY_INPUT, MISSING_COLUMNS, UNSUPPORTED_INPUT, WRONG_COLUMN_TYPE,
                     InputError)
from .events import log
from .spec import JobSpec, resolve_path

CACHE_FORMAT = 1
CACHE_KEEP = 3                   # parsed copies kept per cache dir (each can be ~1 GB)
NAT = np.iinfo(np.int64).min
MIB = 1 << 20
PARALLEL_MIN_BYTES = 64 * MIB    # below this, forking costs more than it saves
RANGE_BYTES = 96 * MIB           # CSV text parsed at a time by one process
# Strings read as missing in numeric and time columns. Key columns keep every string as
# written (an empty key is the group "", 'NA' is the group "NA").
NA_STRINGS = ["", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "NULL", "null", "None",
              "#N/A", "<NA>"]


@dataclass
class KeyColumn:
    name: str
    codes: np.ndarray            # int16 (int32 past 32,766 values), one per row, index into `values`
    values: np.ndarray           # object array of str, sorted


@dataclass
class Table:
    n_rows: int
    keys: list[KeyColumn]
    time: np.ndarray | None      # int64 ns since epoch, NAT where missing
    target: np.ndarray | None    # float64, NaN where missing
    target_classes: list[str] | None   # classification labels that were not numbers: target holds their index
    features: dict[str, np.ndarray]    # float64, or the smallest int type when all values are whole
    fingerprint: str
    from_cache: bool = False
    read_seconds: float = 0.0


@dataclass(frozen=True)
class ReadRequest:
    fmt: str
    path: str
    options: tuple
    keys: tuple[str, ...]
    time: str | None
    target: str | None
    target_labels: bool          # classification: read the target as labels, not numbers
    features: tuple[str, ...]

    def cache_key(self, fingerprint: str) -> str:
        doc = json.dumps({"v": CACHE_FORMAT, "fp": fingerprint, "fmt": self.fmt,
                          "options": [list(o) for o in self.options], "keys": self.keys,
                          "time": self.time, "target": self.target, "labels": self.target_labels,
                          "features": self.features}, sort_keys=True)
        return hashlib.sha256(doc.encode("utf-8")).hexdigest()[:32]


# --------------------------------------------------------------------------- fingerprint


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


# --------------------------------------------------------------------------- public entry


def read_table(spec: JobSpec, *, need_target: bool, cache_dir: str | None, workers: int) -> Table:
    """Reads the spec's input; raises InputError (MM410–MM413) before any group runs."""
    t0 = time.perf_counter()
    fmt = spec.data.format
    if fmt in ("delta", "jdbc"):
        raise InputError(UNSUPPORTED_INPUT,
                         f"data.format {fmt} needs Spark: run with --executor spark (a Databricks or "
                         "Synapse target), or export the data to CSV or Parquet for the local engine")
    if fmt not in ("csv", "parquet"):
        raise InputError(UNSUPPORTED_INPUT, f"unsupported data.format {fmt!r}")
    path = resolve_path(spec.data.path)
    if not os.path.exists(path):
        raise InputError(UNSUPPORTED_INPUT, f"input not found: {spec.data.path} (relative paths are "
                                            "relative to the project root)")
    if fmt == "parquet":
        _require_pyarrow()
    cols = spec.columns
    header = _csv_header(path, spec.data.options) if fmt == "csv" else _parquet_columns(path)
    wanted = list(cols.keys) + ([cols.time] if cols.time else []) + list(cols.features)
    missing = [c for c in wanted if c not in header]
    target_present = cols.target in header
    if need_target and not target_present:
        missing.append(cols.target)
    if missing:
        raise InputError(MISSING_COLUMNS,
                         f"columns named in the pipeline are missing from {spec.data.path}: "
                         f"{', '.join(missing)}. The file has: {', '.join(map(str, header))}")
    req = ReadRequest(
        fmt=fmt, path=path, options=tuple(sorted((str(k), str(v)) for k, v in spec.data.options.items())),
        keys=tuple(cols.keys), time=cols.time,
        # The score stage reads the target too when the file has it, so train and score
        # share one cached copy of the parsed input.
        target=cols.target if target_present else None,
        target_labels=spec.task == "classification", features=tuple(cols.features))
    fingerprint = data_fingerprint(path)
    entry = os.path.join(cache_dir, req.cache_key(fingerprint)) if cache_dir else None
    if entry and os.path.isfile(os.path.join(entry, "meta.json")):
        try:
            table = _load_cache(entry, req, fingerprint)
            table.read_seconds = time.perf_counter() - t0
            return table
        except (OSError, ValueError, KeyError) as e:
            log(f"ignoring an unreadable input cache entry ({e}); parsing the input again")
    if fmt == "csv":
        parts = _parse_csv(req, workers, cache_dir)
    else:
        parts = [_read_parquet(req)]
    table = _finalize(req, parts, fingerprint)
    if entry:
        try:
            _save_cache(entry, table)
            _prune_cache(cache_dir, keep=entry)
        except OSError as e:
            log(f"could not write the input cache under {cache_dir}: {e}")
    table.read_seconds = time.perf_counter() - t0
    return table


# --------------------------------------------------------------------------- CSV


def _csv_options(options: dict) -> dict:
    """Maps the Spark-style CSV options a pipeline may carry to pandas arguments."""
    kw: dict = {}
    for k, v in options.items():
        lk = k.lower()
        if lk in ("sep", "delimiter"):
            kw["sep"] = str(v)
        elif lk in ("encoding", "charset"):
            kw["encoding"] = str(v)
        elif lk == "quote":
            kw["quotechar"] = str(v)
        elif lk == "escape":
            kw["escapechar"] = str(v)
        elif lk == "header":
            if str(v).lower() != "true":
                raise InputError(UNSUPPORTED_INPUT, "CSV input needs a header row (data.options.header "
                                                    "must be true); columns are matched by name")
        elif lk == "nullvalue":
            kw["na_extra"] = str(v)
        # Other Spark options (inferSchema, dateFormat, …) have no meaning for this reader:
        # keys are strings by contract and times are parsed per distinct value.
    return kw


def _csv_header(path: str, options: dict) -> list[str]:
    kw = _csv_options(options)
    kw.pop("na_extra", None)
    try:
        return [str(c) for c in pd.read_csv(path, nrows=0, **kw).columns]
    except pd.errors.EmptyDataError:
        raise InputError(EMPTY_INPUT, f"{path} is empty (no header row)") from None
    except (UnicodeDecodeError, pd.errors.ParserError, OSError, ValueError, LookupError) as e:
        raise InputError(UNSUPPORTED_INPUT, f"cannot read {path} as CSV: {e}") from None


def _csv_read_kwargs(req: ReadRequest) -> tuple[dict, list[str]]:
    kw = _csv_options(dict(req.options))
    na_extra = kw.pop("na_extra", None)
    na = NA_STRINGS + ([na_extra] if na_extra else [])
    dtype: dict = {k: "category" for k in req.keys}
    na_values: dict = {}
    if req.time:
        dtype[req.time] = "category"
        na_values[req.time] = na
    numeric = list(req.features)
    if req.target:
        if req.target_labels:
            dtype[req.target] = "category"
            na_values[req.target] = na
        else:
            numeric.append(req.target)
    for c in numeric:
        dtype[c] = "float64"
        na_values[c] = na
    usecols = list(req.keys) + ([req.time] if req.time else []) + list(req.features) + \
        ([req.target] if req.target else [])
    kw.update(dtype=dtype, na_values=na_values, keep_default_na=False, usecols=usecols,
              engine="c")
    return kw, numeric


def _parse_frame(frame: pd.DataFrame, req: ReadRequest) -> dict:
    """One parsed chunk as plain arrays: categorical columns as (codes, categories)."""
    out = {"n": len(frame), "cat": {}, "num": {}}
    cat_cols = list(req.keys) + ([req.time] if req.time else []) + \
        ([req.target] if req.target and req.target_labels else [])
    for c in cat_cols:
        s = frame[c]
        if not isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype("category")
        # Codes stay in pandas' own (smallest) int type; the merge maps them to the final one.
        out["cat"][c] = (s.cat.codes.to_numpy(), [str(v) for v in s.cat.categories])
    out["stats"] = {}
    for c in req.features + ((req.target,) if req.target and not req.target_labels else ()):
        col = frame[c]
        # float64 columns come out as views of the parsed block, not copies.
        out["num"][c] = col.to_numpy() if col.dtype == np.float64 else \
            col.to_numpy(dtype=np.float64, na_value=np.nan)
    for c in req.features:
        out["stats"][c] = _int_stats(out["num"][c])
    return out


def _int_stats(a: np.ndarray) -> dict | None:
    """min/max when every value is a whole number (no NaN), else None: a column that is
    integral everywhere is stored as the smallest int type that holds it, exactly."""
    if a.size == 0:
        return {"min": 0.0, "max": 0.0}
    lo, hi = float(np.min(a)), float(np.max(a))  # NaN propagates: not integral
    if np.isnan(lo) or np.isnan(hi) or not (np.floor(a) == a).all():
        return None
    return {"min": lo, "max": hi}


def _parse_csv_source(open_source, req: ReadRequest, names: list[str] | None) -> dict:
    """Parses what open_source() returns (a path, or a file object over a byte range)."""
    kw, numeric = _csv_read_kwargs(req)
    if names is not None:
        kw.update(header=None, names=names)
    try:
        with _opened(open_source()) as source:
            frame = pd.read_csv(source, **kw)
    except pd.errors.ParserError as e:
        raise InputError(UNSUPPORTED_INPUT, f"cannot parse {req.path} as CSV: {e}") from None
    except UnicodeDecodeError as e:
        raise InputError(UNSUPPORTED_INPUT, f"{req.path} is not in the expected text encoding "
                                            f"(set data.options.encoding): {e}") from None
    except ValueError as e:
        if "could not convert" in str(e) or "Unable to parse" in str(e):
            with _opened(open_source()) as source:
                raise _explain_non_numeric(source, req, numeric, names) from None
        raise InputError(UNSUPPORTED_INPUT, f"cannot read {req.path} as CSV: {e}") from None
    return _parse_frame(frame, req)


@contextlib.contextmanager
def _opened(source):
    """A path stays a path (pandas opens and closes it); a stream we opened is closed."""
    try:
        yield source
    finally:
        if not isinstance(source, str):
            source.close()


def _explain_non_numeric(source, req: ReadRequest, numeric: list[str], names) -> InputError:
    """Second, slower read of the numeric columns as text, only to name the bad values."""
    kw, _ = _csv_read_kwargs(req)
    kw.update(dtype=str, usecols=numeric)
    if names is not None:
        kw.update(header=None, names=names)
    frame = pd.read_csv(source, **kw)
    lines = []
    for c in numeric:
        s = frame[c]
        bad = s[s.notna() & pd.to_numeric(s, errors="coerce").isna()]
        if len(bad):
            role = "target" if c == req.target else "feature"
            examples = ", ".join(repr(v) for v in bad.unique()[:3])
            lines.append(f"{role} column '{c}' has {len(bad)} non-numeric value(s), e.g. {examples}")
    detail = "; ".join(lines) or "a numeric column holds text"
    return InputError(WRONG_COLUMN_TYPE, f"{detail}. The target and features must be numbers "
                                         "(encode categories and booleans as 0/1 before training)")


def _parse_csv(req: ReadRequest, workers: int, cache_dir: str | None) -> list[dict]:
    size = os.path.getsize(req.path)
    n_proc = max(1, workers or os.cpu_count() or 1)
    enc = dict(req.options).get("encoding", dict(req.options).get("charset", "utf-8")).lower().replace("_", "-")
    quote = dict(req.options).get("quote", '"')
    if n_proc > 1 and size >= PARALLEL_MIN_BYTES and enc in ("utf-8", "utf8", "ascii", "latin-1", "iso-8859-1") \
            and len(quote) == 1 and not _file_contains(req.path, quote.encode("latin-1")):
        # Splitting at newlines is only safe when no field is quoted (a quoted field may hold
        # a newline); one pass of memchr over the file is cheap next to parsing it.
        return _parse_csv_parallel(req, n_proc, size, cache_dir)
    return [_parse_csv_source(lambda: req.path, req, None)]


def _file_contains(path: str, needle: bytes) -> bool:
    with open(path, "rb") as fh:
        while True:
            block = fh.read(16 * MIB)
            if not block:
                return False
            if needle in block:
                return True


def _split_points(path: str, size: int, n: int) -> list[tuple[int, int]]:
    with open(path, "rb") as fh:
        first = fh.readline()
        start = len(first)
        cuts = [start]
        for i in range(1, n):
            pos = max(start, size * i // n)
            fh.seek(pos)
            fh.readline()  # move to the start of the next full line
            cuts.append(max(cuts[-1], fh.tell()))
        cuts.append(size)
    return [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]


def _parse_csv_parallel(req: ReadRequest, n_proc: int, size: int, cache_dir: str | None) -> list[dict]:
    """Splits the file at line starts into ranges of about RANGE_BYTES and parses them in
    n_proc forked processes, each range saved as a part the moment it is parsed: a process
    never holds more than one range's parse buffers (pandas needs ~3x the text size while
    parsing), and the parent maps the parts instead of receiving them through a pipe."""
    import multiprocessing as mp

    header = _csv_header(req.path, dict(req.options))
    ranges = _split_points(req.path, size, max(n_proc, -(-size // RANGE_BYTES)))
    base = cache_dir if cache_dir else None
    if base:
        os.makedirs(base, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="parse-", dir=base)
    try:
        ctx = mp.get_context("fork")
        procs = []
        for i in range(min(n_proc, len(ranges))):
            mine = [(j, ranges[j]) for j in range(i, len(ranges), n_proc)]
            p = ctx.Process(target=_parse_ranges_child, args=(req, header, mine, tmp))
            p.start()
            procs.append(p)
        for p in procs:
            p.join()
        parts = []
        for j in range(len(ranges)):
            d = os.path.join(tmp, str(j))
            err = os.path.join(d, "error.json")
            if os.path.exists(err):
                with open(err, encoding="utf-8") as fh:
                    e = json.load(fh)
                raise InputError(e["code"], e["message"])
            if not os.path.exists(os.path.join(d, "meta.json")):
                codes = ", ".join(str(p.exitcode) for p in procs)
                raise InputError(UNSUPPORTED_INPUT, f"parsing {req.path} failed in a worker process "
                                                    f"(exit codes {codes})")
            parts.append(_load_part(d))
        return parts
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _parse_ranges_child(req: ReadRequest, header: list[str], ranges: list, tmp: str) -> None:
    for j, (a, b) in ranges:
        out = os.path.join(tmp, str(j))
        os.makedirs(out, exist_ok=True)
        try:
            part = _parse_csv_source(lambda: io.BufferedReader(_ByteRange(req.path, a, b), MIB), req, header)
            _save_part(out, part)
        except InputError as e:
            _write_error(out, e.code, e.message)
            return
        except Exception as e:  # reported by the parent as MM410 with this text
            _write_error(out, UNSUPPORTED_INPUT, f"cannot read {req.path}: {e}")
            return


def _write_error(out: str, code: str, message: str) -> None:
    with open(os.path.join(out, "error.json"), "w", encoding="utf-8") as fh:
        json.dump({"code": code, "message": message}, fh)


class _ByteRange(io.RawIOBase):
    """Bytes [a, b) of a file as a stream: pandas parses one slice of a large CSV without
    the slice being read into memory first."""

    def __init__(self, path: str, a: int, b: int):
        super().__init__()
        self._fh = open(path, "rb")
        self._fh.seek(a)
        self._left = b - a

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        n = min(len(buf), self._left)
        if n <= 0:
            return 0
        got = self._fh.readinto(memoryview(buf)[:n])
        self._left -= got
        return got

    def close(self) -> None:
        self._fh.close()
        super().close()


def _save_part(d: str, part: dict) -> None:
    meta = {"n": part["n"], "cat": {}, "num": [], "stats": part["stats"]}
    for i, (c, (codes, cats)) in enumerate(part["cat"].items()):
        np.save(os.path.join(d, f"c{i}.npy"), codes)
        meta["cat"][c] = {"file": f"c{i}.npy", "categories": cats}
    for i, (c, arr) in enumerate(part["num"].items()):
        np.save(os.path.join(d, f"n{i}.npy"), arr)
        meta["num"].append([c, f"n{i}.npy"])
    with open(os.path.join(d, "meta.json"), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, ensure_ascii=False)


def _load_part(d: str) -> dict:
    with open(os.path.join(d, "meta.json"), encoding="utf-8") as fh:
        meta = json.load(fh)
    # Memory-mapped: _finalize copies each column once, into its final array; the temp
    # directory can be removed while mapped (the pages live until unmapped).
    part = {"n": meta["n"], "cat": {}, "num": {}, "stats": meta["stats"]}
    for c, m in meta["cat"].items():
        part["cat"][c] = (np.load(os.path.join(d, m["file"]), mmap_mode="r"), m["categories"])
    for c, f in meta["num"]:
        part["num"][c] = np.load(os.path.join(d, f), mmap_mode="r")
    return part


# --------------------------------------------------------------------------- Parquet


def _require_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise InputError(UNSUPPORTED_INPUT,
                         "reading Parquet needs the pyarrow package, which this Python does not have: "
                         "install it (python3 -m pip install pyarrow) or point data.path at a CSV export "
                         "(data.format: csv)") from None


def _parquet_columns(path: str) -> list[str]:
    import pyarrow.dataset as ds
    try:
        return list(ds.dataset(path, format="parquet").schema.names)
    except Exception as e:
        raise InputError(UNSUPPORTED_INPUT, f"cannot read {path} as Parquet: {e}") from None


def _read_parquet(req: ReadRequest) -> dict:
    cols = list(req.keys) + ([req.time] if req.time else []) + list(req.features) + \
        ([req.target] if req.target else [])
    try:
        frame = pd.read_parquet(req.path, columns=cols)
    except Exception as e:
        raise InputError(UNSUPPORTED_INPUT, f"cannot read {req.path} as Parquet: {e}") from None
    numeric = list(req.features) + ([req.target] if req.target and not req.target_labels else [])
    bad = [c for c in numeric if not (pd.api.types.is_numeric_dtype(frame[c].dtype)
                                      or pd.api.types.is_bool_dtype(frame[c].dtype))]
    if bad:
        raise InputError(WRONG_COLUMN_TYPE, f"columns must be numeric but are not: {', '.join(bad)}")
    time_ns = None
    if req.time and pd.api.types.is_datetime64_any_dtype(frame[req.time].dtype):
        t = frame[req.time]
        if getattr(t.dt, "tz", None) is not None:
            t = t.dt.tz_convert("UTC").dt.tz_localize(None)
        time_ns = t.to_numpy(dtype="datetime64[ns]").view(np.int64)
        frame = frame.drop(columns=[req.time])
    text_keys = {}
    for k in req.keys:
        # Keys are identities: a non-string value is rendered once per distinct value; a
        # missing key (code -1) becomes "" in _finalize, like an empty CSV field.
        cat = pd.Categorical(frame[k])
        cats = [str(v) for v in cat.categories]
        codes = np.asarray(cat.codes, dtype=np.int32)
        text_keys[k] = (codes, cats)
        frame = frame.drop(columns=[k])
    sub = ReadRequest(req.fmt, req.path, req.options, (), None if time_ns is not None else req.time,
                      req.target, req.target_labels, req.features)
    part = _parse_frame(frame, sub)
    part["cat"].update(text_keys)
    if time_ns is not None:
        part["time_ns"] = time_ns
    return part


# --------------------------------------------------------------------------- finalize


def _merge_categorical(pieces: list[tuple[np.ndarray, list[str]]],
                       missing_as: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Concatenates chunk codes onto one sorted category list (codes -1 stay -1 unless
    `missing_as` names the category they become)."""
    if missing_as is not None:
        fixed = []
        for codes, cats in pieces:
            if codes.size and codes.min() < 0:
                cats = list(cats) + [missing_as]
                codes = np.where(codes < 0, len(cats) - 1, codes).astype(np.int32)
            fixed.append((codes, cats))
        pieces = fixed
    union = np.array(sorted(set().union(*[set(c) for _, c in pieces])), dtype=object)
    # int16 codes halve the memory of a key column when it has < 32,767 distinct values.
    dtype = np.int16 if len(union) < np.iinfo(np.int16).max else np.int32
    out = np.empty(sum(len(c) for c, _ in pieces), dtype=dtype)
    pos = 0
    for codes, cats in pieces:
        lut = np.searchsorted(union, np.array(cats, dtype=object)) if len(cats) else np.empty(0, np.int64)
        # Index -1 (missing) picks the appended -1.
        lut = np.append(lut, -1).astype(dtype)
        np.take(lut, codes, out=out[pos:pos + len(codes)])
        pos += len(codes)
    return out, union


def parse_times(values, column: str) -> np.ndarray:
    """Distinct time strings → int64 ns (UTC, naive); raises MM412 naming bad values."""
    idx = pd.Index(values, dtype=object)
    if not len(idx):
        return np.empty(0, dtype=np.int64)
    try:
        parsed = pd.to_datetime(idx, errors="coerce")
        if parsed.dtype == object:  # mixed UTC offsets
            parsed = pd.to_datetime(idx, errors="coerce", utc=True)
    except (ValueError, TypeError, OverflowError):
        parsed = pd.to_datetime(idx, errors="coerce", utc=True)
    if getattr(parsed, "tz", None) is not None:
        parsed = parsed.tz_convert("UTC").tz_localize(None)
    ns = parsed.asi8.copy()
    bad = idx[ns == NAT]
    if len(bad):
        examples = ", ".join(repr(v) for v in bad[:3])
        raise InputError(WRONG_COLUMN_TYPE,
                         f"time column '{column}' has {len(bad)} value(s) that are not dates or times, "
                         f"e.g. {examples}; use ISO 8601 (2024-01-31 or 2024-01-31T08:00:00)")
    return ns


def _take_all(parts: list[dict], kind: str, col: str) -> list:
    # Popped, so each part's (memory-mapped) column is released as soon as it is merged.
    return [p[kind].pop(col) for p in parts]


def _numeric(parts: list[dict], col: str) -> np.ndarray:
    """One numeric column from all parts, copied once into its final dtype: the smallest int
    type when every part found it integral (exact), else float64."""
    dtype = np.float64
    stats = [p["stats"][col] for p in parts]
    if all(st is not None for st in stats):
        lo, hi = min(st["min"] for st in stats), max(st["max"] for st in stats)
        for t in (np.int8, np.int16, np.int32):
            if np.iinfo(t).min <= lo and hi <= np.iinfo(t).max:
                dtype = t
                break
    return np.concatenate(_take_all(parts, "num", col), dtype=dtype, casting="unsafe")


def _finalize(req: ReadRequest, parts: list[dict], fingerprint: str) -> Table:
    n = sum(p["n"] for p in parts)
    if n == 0:
        raise InputError(EMPTY_INPUT, f"{req.path} has a header but no data rows")
    keys = []
    for k in req.keys:
        # A reader that yields a missing key (none of ours do for CSV) maps it to "", the
        # string an empty field is written as.
        codes, values = _merge_categorical(_take_all(parts, "cat", k), missing_as="")
        keys.append(KeyColumn(k, codes, values))
    times = None
    if req.time and "time_ns" in parts[0]:
        times = np.concatenate([p["time_ns"] for p in parts])
    elif req.time:
        codes, values = _merge_categorical(_take_all(parts, "cat", req.time))
        lut = np.append(parse_times(values, req.time), np.int64(NAT))
        times = lut[codes]
    target = None
    classes = None
    if req.target:
        if req.target_labels:
            codes, values = _merge_categorical(_take_all(parts, "cat", req.target))
            as_num = pd.to_numeric(pd.Index(values, dtype=object), errors="coerce")
            if len(values) and not np.isnan(np.asarray(as_num, dtype=np.float64)).any():
                lut = np.append(np.asarray(as_num, dtype=np.float64), np.nan)
            else:
                # Text labels: the model sees their index in sorted order; the artifact keeps
                # the list so a class index can be mapped back.
                classes = [str(v) for v in values]
                lut = np.append(np.arange(len(values), dtype=np.float64), np.nan)
            target = lut[codes]
        else:
            target = np.concatenate(_take_all(parts, "num", req.target)).astype(np.float64, copy=False)
    features = {f: _numeric(parts, f) for f in req.features}
    return Table(n_rows=n, keys=keys, time=times, target=target, target_classes=classes,
                 features=features, fingerprint=fingerprint)


# --------------------------------------------------------------------------- cache


def _save_cache(entry: str, table: Table) -> None:
    parent = os.path.dirname(entry)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="tmp-", dir=parent)
    try:
        meta = {"format": CACHE_FORMAT, "n": table.n_rows, "fingerprint": table.fingerprint,
                "keys": [], "time": table.time is not None, "target": table.target is not None,
                "classes": table.target_classes, "features": list(table.features)}
        for i, k in enumerate(table.keys):
            np.save(os.path.join(tmp, f"k{i}.npy"), k.codes)
            meta["keys"].append({"name": k.name, "values": [str(v) for v in k.values]})
        if table.time is not None:
            np.save(os.path.join(tmp, "time.npy"), table.time)
        if table.target is not None:
            np.save(os.path.join(tmp, "target.npy"), table.target)
        for i, f in enumerate(table.features):
            np.save(os.path.join(tmp, f"f{i}.npy"), table.features[f])
        # meta.json last: an entry without it is incomplete and never read.
        with open(os.path.join(tmp, "meta.json"), "w", encoding="utf-8") as fh:
            json.dump(meta, fh, ensure_ascii=False)
        try:
            os.rename(tmp, entry)
        except OSError:
            pass  # another run cached the same input first; theirs is identical
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


def _load_cache(entry: str, req: ReadRequest, fingerprint: str) -> Table:
    with open(os.path.join(entry, "meta.json"), encoding="utf-8") as fh:
        meta = json.load(fh)
    if meta.get("format") != CACHE_FORMAT or meta.get("fingerprint") != fingerprint:
        raise ValueError("stale entry")
    os.utime(os.path.join(entry, "meta.json"))  # recency for pruning

    # Memory-mapped: pages come from the page cache on demand and are shared with the
    # forked workers instead of being copied into the parent first.
    def load(name: str) -> np.ndarray:
        return np.load(os.path.join(entry, name), mmap_mode="r")

    keys = [KeyColumn(m["name"], load(f"k{i}.npy"), np.array(m["values"], dtype=object))
            for i, m in enumerate(meta["keys"])]
    table = Table(
        n_rows=int(meta["n"]), keys=keys,
        time=load("time.npy") if meta["time"] else None,
        target=load("target.npy") if meta["target"] else None,
        target_classes=meta.get("classes"),
        features={f: load(f"f{i}.npy") for i, f in enumerate(meta["features"])},
        fingerprint=fingerprint, from_cache=True)
    if [k.name for k in keys] != list(req.keys) or list(table.features) != list(req.features):
        raise ValueError("column mismatch")
    return table


def _prune_cache(cache_dir: str, keep: str) -> None:
    entries = []
    for name in os.listdir(cache_dir):
        d = os.path.join(cache_dir, name)
        meta = os.path.join(d, "meta.json")
        if os.path.isfile(meta):
            entries.append((os.path.getmtime(meta), d))
    entries.sort(reverse=True)
    for _, d in entries[CACHE_KEEP:]:
        if d != keep:
            shutil.rmtree(d, ignore_errors=True)

