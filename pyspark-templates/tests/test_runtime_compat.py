"""The job-start check of what the runtime needs (compat.py): the versions it finds on this
Python, and MM416 naming the runtime for a package that is missing or older than the minimum."""
from __future__ import annotations

import types

import pytest

from manymodels_runtime.compat import RUNTIME_MISSING, check_runtime, runtime_name
from manymodels_runtime.errors import InputError


def test_this_python_has_what_the_runtime_needs():
    found = check_runtime()
    assert set(found) == {"pandas", "numpy", "scikit-learn", "statsmodels"}


def test_a_missing_or_old_package_is_mm416_naming_the_runtime():
    def importer(name):
        if name == "statsmodels":
            raise ImportError(name)
        return types.SimpleNamespace(__version__="1.4.4" if name == "pandas" else "2.1.3")

    with pytest.raises(InputError) as err:
        check_runtime(env={"DATABRICKS_RUNTIME_VERSION": "13.3"}, importer=importer, python_version=(3, 9, 5))
    assert err.value.code == RUNTIME_MISSING
    message = err.value.message
    assert message.startswith("Databricks Runtime 13.3 (Python ")
    assert "Python 3.9.5 (needs 3.10 or newer)" in message
    assert "pandas 1.4.4 (needs 1.5 or newer)" in message
    assert "statsmodels is not installed" in message
    assert "numpy" not in message.split("cannot run manymodels:")[1]


def test_versions_with_suffixes_compare_by_their_numbers():
    importer = lambda name: types.SimpleNamespace(__version__={"pandas": "2.2.3+dbr", "numpy": "2.1.0rc1", "sklearn": "1.6.1", "statsmodels": "0.14.4"}[name])  # noqa: E731
    assert check_runtime(env={}, importer=importer, python_version=(3, 12, 3))["numpy"] == "2.1.0rc1"
    assert runtime_name({}).startswith("Python ")
