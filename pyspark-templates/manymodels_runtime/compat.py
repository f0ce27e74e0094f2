"""What the runtime needs from the Python it runs on, checked when a Spark job starts (before the
JobSpec is read), so a cluster or pool without it fails in seconds with the runtime named
instead of deep inside a pandas UDF. The supported runtimes and their versions are in
docs/compatibility.md (and docs/databricks.md, docs/synapse.md "Supported runtimes")."""
from __future__ import annotations

import importlib
import os
import platform
import sys

from .errors import InputError

RUNTIME_MISSING = "MM416"

# The oldest versions the runtime is written for: pandas 1.5 is what Databricks Runtime 15.4 LTS
# and 16.4 LTS and Synapse Spark 3.4 ship, numpy 1.23 what 15.4 LTS ships; the newer lines
# (pandas 2.x, numpy 2.x, scikit-learn 1.6 on 17.3 LTS) work too (docs/compatibility.md).
MINIMUM_PYTHON = (3, 10)
MINIMUM_PACKAGES = {
    "pandas": (1, 5),
    "numpy": (1, 23),
    "sklearn": (1, 1),
    "statsmodels": (0, 13),
}
PIP_NAMES = {"sklearn": "scikit-learn"}


def _version_tuple(text: str) -> tuple[int, ...]:
    out = []
    for part in text.split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit()) or "0"
        out.append(int(digits))
        if not part.isdigit():
            break
    return tuple(out)


def runtime_name(env: dict[str, str] | None = None) -> str:
    """The platform in words: the Databricks Runtime version when there is one, else Python's."""
    env = os.environ if env is None else env
    dbr = env.get("DATABRICKS_RUNTIME_VERSION")
    python = f"Python {platform.python_version()}"
    if dbr:
        return f"Databricks Runtime {dbr} ({python})"
    return python


def check_runtime(env: dict[str, str] | None = None, importer=importlib.import_module,
                  python_version: tuple[int, ...] | None = None) -> dict[str, str]:
    """The versions found, or InputError MM416 listing everything missing or too old."""
    problems = []
    found: dict[str, str] = {}
    py = python_version if python_version is not None else sys.version_info[:3]
    if tuple(py[:2]) < MINIMUM_PYTHON:
        problems.append(f"Python {'.'.join(map(str, py))} (needs {'.'.join(map(str, MINIMUM_PYTHON))} or newer)")
    for module, minimum in MINIMUM_PACKAGES.items():
        pip = PIP_NAMES.get(module, module)
        want = ".".join(map(str, minimum))
        try:
            version = str(getattr(importer(module), "__version__", "0"))
        except ImportError:
            problems.append(f"{pip} is not installed (needs {want} or newer)")
            continue
        found[pip] = version
        if _version_tuple(version) < minimum:
            problems.append(f"{pip} {version} (needs {want} or newer)")
    if problems:
        raise InputError(RUNTIME_MISSING, f"{runtime_name(env)} cannot run manymodels: {'; '.join(problems)}. "
                                          "Use a supported runtime (Databricks Runtime 15.4 LTS or newer, Synapse Spark 3.4) "
                                          "or install the packages as cluster or pool libraries")
    return found
