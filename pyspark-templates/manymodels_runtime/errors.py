"""Runtime error types and the stable MM4xx codes for problems found before any group runs.

Every up-front problem (bad JobSpec, unreadable input, missing columns, wrong column types,
empty input, unusable sink) becomes one `InputError` with a code; the entry scripts turn it
into an `error` event and exit code 2. docs/contracts.md lists each code with its remedy.
"""
from __future__ import annotations

UNSUPPORTED_INPUT = "MM410"   # unreadable/unsupported input format, or a missing optional dependency
MISSING_COLUMNS = "MM411"     # columns named in the spec are absent from the data
WRONG_COLUMN_TYPE = "MM412"   # non-numeric target/feature, unparseable time
TIME_PARTS_NOT_INTEGERS = "MM465"  # a time.parts column holds values that are not whole numbers
TIME_PARTS_NOT_A_DATE = "MM466"    # time.parts values that make no date (month 13, Feb 30)
EMPTY_INPUT = "MM413"         # the input has no data rows
BAD_SPEC = "MM414"            # JobSpec (or model manifest / CLI arguments) malformed
HOLDOUT_OUTSIDE_DATA = "MM418"  # model.holdout.from is not inside the data's time span
BAD_SINK = "MM415"            # predictions sink unusable with this executor or its existing table


class InputError(Exception):
    """A problem found before any group ran; exit code 2."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class SinkWriteError(Exception):
    """Writing predictions failed after the groups ran (the manifest is still written). `code`
    is the MM code the run reports (MM415 unless the sink has its own)."""

    def __init__(self, message: str, code: str = BAD_SINK):
        super().__init__(message)
        self.code = code


class ArtifactIntegrityError(Exception):
    """An artifact's bytes do not match the sha256 recorded for it; it is never loaded."""
