"""CSV: the Spark-style options a pipeline may carry, the header, and parsing into the chunk
arrays columns.finalize merges. Files past PARALLEL_MIN_BYTES without quoted fields are split
at line starts and parsed by several forked processes, each range saved as a part on disk."""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from dataclasses import replace

import numpy as np
import pandas as pd

from ..errors import EMPTY_INPUT, TIME_PARTS_NOT_INTEGERS, UNSUPPORTED_INPUT, WRONG_COLUMN_TYPE, InputError
from .columns import parse_frame
from .fingerprint import MIB
from .table import ReadRequest

PARALLEL_MIN_BYTES = 64 * MIB    # below this, forking costs more than it saves
RANGE_BYTES = 96 * MIB           # CSV text parsed at a time by one process
# Strings read as missing in numeric and time columns. Key columns keep every string as
# written (an empty key is the group "", 'NA' is the group "NA").
NA_STRINGS = ["", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "NULL", "null", "None",
              "#N/A", "<NA>"]


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


def csv_header(path: str, options: dict) -> list[str]:
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
    if req.time_column():
        dtype[req.time] = "category"
        na_values[req.time] = na
    for c in req.text_features:
        dtype[c] = "category"
        na_values[c] = na
    numeric = [f for f in req.features if f not in req.text_features] + req.part_columns()
    if req.target:
        if req.target_labels:
            dtype[req.target] = "category"
            na_values[req.target] = na
        else:
            numeric.append(req.target)
    for c in numeric:
        dtype[c] = "float64"
        na_values[c] = na
    usecols = list(req.keys) + ([req.time] if req.time_column() else []) + req.part_columns() + \
        list(req.features) + ([req.target] if req.target else [])
    kw.update(dtype=dtype, na_values=na_values, keep_default_na=False, usecols=usecols,
              engine="c")
    return kw, numeric


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
        # "cannot safely convert": a value past the float64 range (1e309) in a numeric column.
        if any(m in str(e) for m in ("could not convert", "Unable to parse", "cannot safely convert")):
            with _opened(open_source()) as source:
                raise _explain_non_numeric(source, req, numeric, names) from None
        raise InputError(UNSUPPORTED_INPUT, f"cannot read {req.path} as CSV: {e}") from None
    return parse_frame(frame, req)


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
    lines, text = [], []
    for c in numeric:
        s = frame[c]
        bad = s[s.notna() & pd.to_numeric(s, errors="coerce").isna()]
        part = next((p for p, pc in req.time_parts if pc == c), None)
        if part and len(bad):
            examples = ", ".join(repr(v) for v in bad.unique()[:3])
            return InputError(TIME_PARTS_NOT_INTEGERS,
                              f"time part {part} (column '{c}') has {len(bad)} value(s) that are not whole "
                              f"numbers, e.g. {examples}; time.parts columns hold integers "
                              "(year 2013, month 3, day 1, hour 0)")
        if part:
            continue
        role = "target" if c == req.target else "feature"
        # Written as a number, but past what a 64-bit float holds (about ±1.8e308): pandas
        # refuses 1e309 where Python's float() makes it infinite.
        huge = bad[bad.map(_past_float_range)]
        words = bad[~bad.index.isin(huge.index)]
        if len(words) and role == "feature" and not len(huge):
            text.append(c)
        if len(words):
            examples = ", ".join(repr(v) for v in words.unique()[:3])
            lines.append(f"{role} column '{c}' has {len(words)} non-numeric value(s), e.g. {examples}")
        if len(huge):
            examples = ", ".join(repr(v) for v in huge.unique()[:3])
            lines.append(f"{role} column '{c}' has {len(huge)} value(s) out of the 64-bit float range, "
                         f"e.g. {examples}")
    detail = "; ".join(lines) or "a numeric column holds text"
    if text and len(text) == len(lines):
        # Only features hold text: they are categories, and the read starts again with them.
        return TextFeatures(text)
    return InputError(WRONG_COLUMN_TYPE, f"{detail}. The target must be numbers (text labels are "
                                         "for task: classification); a feature may be numbers, "
                                         "true/false, or text (a category)")


class TextFeatures(InputError):
    """Feature columns found to hold text during a read that took them for numbers: the
    caller reads again with them in ReadRequest.text_features."""

    def __init__(self, columns: list[str]):
        super().__init__(WRONG_COLUMN_TYPE, f"feature column(s) {', '.join(columns)} hold text")
        self.columns = list(columns)


def _is_float(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _past_float_range(text: str) -> bool:
    try:
        return np.isinf(float(text)) and text.strip().lower().lstrip("+-") not in ("inf", "infinity")
    except ValueError:
        return False


SAMPLE_ROWS = 5000               # rows read first to see which features hold text


def text_features(req: ReadRequest) -> tuple[str, ...]:
    """The features whose first SAMPLE_ROWS values hold text that is neither a number nor
    true/false (in any case): they are read as categories. A feature that turns to text later
    in the file is found by the full read (TextFeatures), which then runs once more."""
    if not req.features:
        return ()
    kw, _ = _csv_read_kwargs(req)
    kw.update(dtype=str, usecols=list(req.features), nrows=SAMPLE_ROWS,
              na_values={f: kw["na_values"].get(f, NA_STRINGS) for f in req.features})
    try:
        frame = pd.read_csv(req.path, **kw)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError):
        return ()  # the full read reports it
    out = []
    for f in req.features:
        s = frame[f].dropna()
        if not len(s):
            continue
        # float() as Python reads numbers: 1e309 is a number (the full read then names it as
        # out of range), not a category.
        distinct = s.unique()
        if not all(_is_float(v) for v in distinct) and {v.lower() for v in distinct} - {"true", "false"}:
            out.append(f)
    return tuple(out)


def parse_csv(req: ReadRequest, workers: int, cache_dir: str | None) -> list[dict]:
    req = replace(req, text_features=text_features(req))
    for _ in range(len(req.features) + 1):
        try:
            return _parse_csv(req, workers, cache_dir)
        except TextFeatures as e:
            req = replace(req, text_features=tuple(sorted(set(req.text_features) | set(e.columns))))
    raise InputError(WRONG_COLUMN_TYPE, f"cannot settle the types of the feature columns of {req.path}")


def _parse_csv(req: ReadRequest, workers: int, cache_dir: str | None) -> list[dict]:
    size = os.path.getsize(req.path)
    n_proc = max(1, workers or os.cpu_count() or 1)
    enc = dict(req.options).get("encoding", dict(req.options).get("charset", "utf-8")).lower().replace("_", "-")
    quote = dict(req.options).get("quote", '"')
    if n_proc > 1 and size >= PARALLEL_MIN_BYTES and enc in ("utf-8", "utf8", "ascii", "latin-1", "iso-8859-1") \
            and len(quote) == 1:
        # Splitting at newlines is only safe when no field is quoted (a quoted field may hold
        # a newline): the file is searched for the quote character while the processes parse,
        # and a hit stops them and sends the file to a single parse.
        try:
            return _parse_csv_parallel(req, n_proc, size, cache_dir, quote.encode("latin-1"))
        except _Quoted:
            pass
    return [_parse_csv_source(lambda: req.path, req, None)]


class _Quoted(Exception):
    """The file holds the quote character: it cannot be split at newlines."""


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


def range_count(size: int, n_proc: int) -> int:
    """Ranges of about RANGE_BYTES, a multiple of n_proc of them: every process parses as many
    (11 ranges over 2 processes would leave one core idle while the other parses the last)."""
    n = max(n_proc, -(-size // RANGE_BYTES))
    return -(-n // n_proc) * n_proc


def _parse_csv_parallel(req: ReadRequest, n_proc: int, size: int, cache_dir: str | None,
                        quote: bytes) -> list[dict]:
    """Splits the file at line starts into ranges of about RANGE_BYTES and parses them in
    n_proc forked processes, each range saved as a part the moment it is parsed: a process
    never holds more than one range's parse buffers (pandas needs ~3x the text size while
    parsing), and the parent maps the parts instead of receiving them through a pipe."""
    import multiprocessing as mp

    header = csv_header(req.path, dict(req.options))
    ranges = _split_points(req.path, size, range_count(size, n_proc))
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
        # One pass of memchr over the file, beside the parse (not before it).
        if _file_contains(req.path, quote):
            for p in procs:
                p.terminate()
            for p in procs:
                p.join()
            raise _Quoted()
        for p in procs:
            p.join()
        parts = []
        for j in range(len(ranges)):
            d = os.path.join(tmp, str(j))
            err = os.path.join(d, "error.json")
            if os.path.exists(err):
                with open(err, encoding="utf-8") as fh:
                    e = json.load(fh)
                if e.get("textFeatures"):
                    raise TextFeatures(e["textFeatures"])
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
        except TextFeatures as e:
            _write_error(out, e.code, e.message, e.columns)
            return
        except InputError as e:
            _write_error(out, e.code, e.message)
            return
        except Exception as e:  # reported by the parent as MM410 with this text
            _write_error(out, UNSUPPORTED_INPUT, f"cannot read {req.path}: {e}")
            return


def _write_error(out: str, code: str, message: str, text_columns: list[str] | None = None) -> None:
    with open(os.path.join(out, "error.json"), "w", encoding="utf-8") as fh:
        json.dump({"code": code, "message": message, "textFeatures": text_columns}, fh)


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
    if "time_ns" in part:  # composed from time.parts
        np.save(os.path.join(d, "time_ns.npy"), part["time_ns"])
        meta["time_ns"] = "time_ns.npy"
    with open(os.path.join(d, "meta.json"), "w", encoding="utf-8") as fh:
        json.dump(meta, fh, ensure_ascii=False)


def _load_part(d: str) -> dict:
    with open(os.path.join(d, "meta.json"), encoding="utf-8") as fh:
        meta = json.load(fh)
    # Memory-mapped: finalize copies each column once, into its final array; the temp
    # directory can be removed while mapped (the pages live until unmapped).
    part = {"n": meta["n"], "cat": {}, "num": {}, "stats": meta["stats"]}
    for c, m in meta["cat"].items():
        part["cat"][c] = (np.load(os.path.join(d, m["file"]), mmap_mode="r"), m["categories"])
    for c, f in meta["num"]:
        part["num"][c] = np.load(os.path.join(d, f), mmap_mode="r")
    if meta.get("time_ns"):
        part["time_ns"] = np.load(os.path.join(d, meta["time_ns"]), mmap_mode="r")
    return part
