"""The fast `ets` engine against its references: the plain-Python loops, the numpy and numba
recursions against each other, and the fitted models against statsmodels' ExponentialSmoothing
on random series (parameters and forecasts close), plus the edge cases the model promises."""
from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from conftest import RUNTIME
from model_helpers import forecast_data
from manymodels_runtime.models import get_model
from manymodels_runtime.models import _ets_fast as F
from manymodels_runtime.models.base import future_times
from manymodels_runtime.models.ets import forecast_from_state

HAS_NUMBA = F.numba_kernel() is not None
# Outside CI a machine without numba skips the kernel's test (the numpy path is tested either
# way); under CI it must run: scripts/bootstrap.sh installs python3-numba for the tests.
if not HAS_NUMBA and os.environ.get("CI") == "true":
    raise RuntimeError("numba is missing: scripts/bootstrap.sh installs python3-numba for the tests")
CONFIGS = [  # trend, damped, seasonal
    (True, False, "add"), (True, True, "add"), (False, False, "add"),
    (True, False, "mul"), (True, True, "mul"), (True, False, None), (False, False, None),
]


def simulate(n, alpha, beta, gamma, phi=1.0, m=7, noise=1.0, seed=0, level=100.0, slope=0.2, amp=10.0, mul=False):
    """A series drawn from the additive (or multiplicative-season) model itself."""
    rng = np.random.default_rng(seed)
    lev, b = level, slope
    s = (1 + 0.1 * np.sin(2 * np.pi * np.arange(m) / m)) if mul else amp * np.sin(2 * np.pi * np.arange(m) / m)
    y = np.empty(n)
    for t in range(n):
        j = t % m
        lb = lev + phi * b
        e = rng.normal(0, noise)
        y[t] = lb * s[j] + e if mul else lb + s[j] + e
        lev = lb + alpha * (e / s[j] if mul else e)
        b = phi * b + alpha * beta * (e / s[j] if mul else e)
        s[j] = s[j] + gamma * (e / lb if mul else e)
    return y


def random_candidates(k, seed):
    rng = np.random.default_rng(seed)
    p = np.column_stack([rng.uniform(0.01, 0.9, k), rng.uniform(0, 0.5, k), rng.uniform(0, 0.4, k),
                         rng.uniform(0.8, 1.0, k)])
    p[:, 1] *= p[:, 0]
    return p


@pytest.mark.parametrize("trend,damped,seasonal", CONFIGS)
def test_numpy_recursion_equals_the_plain_loops(trend, damped, seasonal):
    y = simulate(60, 0.3, 0.1, 0.1, mul=seasonal == "mul", seed=1)
    m = 7 if seasonal else 1
    l0, b0, s0 = F.initial_states(y, trend, seasonal, m)
    params = random_candidates(9, 2)
    if not trend:
        params[:, 1] = 0.0
        b0 = 0.0
    if not damped:
        params[:, 3] = 1.0
    if not seasonal:
        params[:, 2] = 0.0
    mul = seasonal == "mul"
    ref = F.evaluate(y, params, l0, b0, s0, mul, engine="loops")
    got = F.evaluate(y, params, l0, b0, s0, mul, engine="numpy")
    for a, b in zip(ref, got):
        np.testing.assert_allclose(b, a, rtol=1e-11, atol=1e-9)


@pytest.mark.skipif(not HAS_NUMBA, reason="numba is not importable")
@pytest.mark.parametrize("trend,damped,seasonal", CONFIGS)
def test_numba_and_numpy_engines_fit_the_same_model(trend, damped, seasonal):
    y = simulate(300, 0.2, 0.05, 0.1, mul=seasonal == "mul", seed=3)
    m = 7 if seasonal else 0
    a = F.fit_holt_winters(y, trend, damped, seasonal, m, engine="numba")
    b = F.fit_holt_winters(y, trend, damped, seasonal, m, engine="numpy")
    for key in ("alpha", "beta", "gamma", "phi", "level", "slope", "sse"):
        assert b[key] == pytest.approx(a[key], rel=1e-7, abs=1e-9), key
    np.testing.assert_allclose(b["season"], a["season"], rtol=1e-7, atol=1e-9)


def test_least_squares_initial_states_recover_a_noiseless_start():
    # Without noise the errors are zero exactly at the true initial state, so the affine
    # least-squares solve must return it (seasonal terms centred on zero, as simulated).
    alpha, beta, gamma = 0.3, 0.2, 0.1
    m = 7
    s_true = np.sin(2 * np.pi * np.arange(m) / m) * 5
    s_true -= s_true.mean()
    t = np.arange(80)
    y = 50.0 + 0.5 * (t + 1) + s_true[t % m]  # the model's path when every error is zero
    got = F.least_squares_states(y, np.array([alpha, beta, gamma, 1.0]), True, True, m, "numpy")
    assert got is not None
    assert got[0] == pytest.approx(50.0, abs=1e-8)
    assert got[1] == pytest.approx(0.5, abs=1e-8)
    np.testing.assert_allclose(got[2], s_true, atol=1e-8)


def _statsmodels(y, trend, damped, seasonal, m, h):
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ExponentialSmoothing(y, trend="add" if trend else None, damped_trend=damped, seasonal=seasonal,
                                   seasonal_periods=m if seasonal else None).fit()
    return res, res.forecast(h)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("trend,damped,seasonal", [(True, False, "add"), (False, False, "add"),
                                                    (True, False, "mul"), (True, True, "add")])
def test_fast_fit_is_as_good_as_statsmodels_on_random_series(seed, trend, damped, seasonal):
    y = simulate(500, 0.25, 0.02, 0.15, phi=0.95 if damped else 1.0, seed=seed, mul=seasonal == "mul",
                 slope=0.2 if trend else 0.0)
    h = 28
    fast = F.fit_holt_winters(y, trend, damped, seasonal, 7)
    res, expected = _statsmodels(y, trend, damped, seasonal, 7, h)
    # in-sample: no worse than statsmodels' optimum (its SSE) within 1 %; 3 % for
    # multiplicative seasons, whose initial state is not re-estimated by least squares
    assert fast["sse"] <= (1.03 if seasonal == "mul" else 1.01) * res.sse
    # parameters close to statsmodels' (which estimates the initial state jointly)
    assert fast["alpha"] == pytest.approx(res.params["smoothing_level"], abs=0.06)
    assert fast["gamma"] == pytest.approx(res.params["smoothing_seasonal"], abs=0.06)
    # forecasts close, relative to the series' noise (sd 1) and level (~100)
    state = {**fast, "damped": damped, "seasonal": seasonal, "m": 7}
    got = forecast_from_state(state, np.arange(1, h + 1))
    assert np.max(np.abs(got - expected)) < 0.02 * np.mean(np.abs(y)) + 3.0


def test_parameters_of_the_generating_process_are_recovered():
    y = simulate(3000, 0.3, 0.05, 0.2, seed=5)
    fast = F.fit_holt_winters(y, True, False, "add", 7)
    assert fast["alpha"] == pytest.approx(0.3, abs=0.04)
    assert fast["gamma"] == pytest.approx(0.2, abs=0.05)


def _frame(y, start="2022-01-01"):
    return pd.DataFrame({"date": pd.date_range(start, periods=len(y)), "sales": np.asarray(y, dtype=float)})


def _forecast(state, h=7):
    m = get_model("ets")
    return m.predict(state, pd.DataFrame({"date": future_times(state, h)}))


def test_edge_cases_short_constant_zeros_and_gaps():
    m = get_model("ets")
    # exactly two seasons is enough
    y = 10 + np.tile([1.0, 2, 3, 4, 5, 6, 9], 2)
    assert np.isfinite(_forecast(m.fit(forecast_data(_frame(y), []), {}))).all()
    with pytest.raises(ValueError, match="at least 14 periods"):
        m.fit(forecast_data(_frame(y[:13]), []), {})
    # constant: the constant, without a search
    st = m.fit(forecast_data(_frame(np.full(40, 3.0)), []), {})
    np.testing.assert_array_equal(_forecast(st), np.full(7, 3.0))
    # intermittent zeros with seasonal: mul fall back to additive seasons
    rng = np.random.default_rng(9)
    zeros = np.where(rng.random(200) < 0.4, 0.0, rng.poisson(3, 200).astype(float))
    st = m.fit(forecast_data(_frame(zeros), []), {"seasonal": "mul"})
    assert st["seasonal"] == "add" and np.isfinite(_forecast(st)).all()
    # gaps: interpolated like the statsmodels engine does
    frame = _frame(simulate(300, 0.2, 0.05, 0.1, seed=6)).drop(index=list(range(100, 130)) + [298])
    st = m.fit(forecast_data(frame, []), {})
    ref = m.fit(forecast_data(frame, []), {"engine": "statsmodels"})
    assert np.max(np.abs(_forecast(st, 28) - _forecast(ref, 28))) < 6.0
    # no trend, no season, two points
    st = m.fit(forecast_data(_frame([1.0, 2.0]), []), {"trend": None, "seasonal": None})
    assert np.isfinite(_forecast(st)).all()


def test_state_is_plain_numbers_and_arrays():
    st = get_model("ets").fit(forecast_data(_frame(simulate(100, 0.2, 0.05, 0.1, seed=7)), []), {})
    for key, value in st.items():
        assert value is None or isinstance(value, (str, bool, int, float, np.ndarray)), (key, type(value))
    assert st["season"].shape == (7,) and st["season"].dtype == np.float64


def test_without_numba_the_numpy_engine_runs():
    code = ("from manymodels_runtime.models import _ets_fast as F; import numpy as np;"
            "assert F.numba_kernel() is None;"
            "r = F.fit_holt_winters(np.arange(30.0) % 7 + np.arange(30.0), True, False, 'add', 7);"
            "print(round(r['level'], 6))")
    env = {**os.environ, "MANYMODELS_NO_NUMBA": "1", "PYTHONPATH": str(RUNTIME)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) == pytest.approx(F.fit_holt_winters(
        np.arange(30.0) % 7 + np.arange(30.0), True, False, "add", 7)["level"], rel=1e-7)
