"""Holt-Winters fitted without statsmodels: one recursion, many candidate parameters at once.

The model (error-correction form, the same equations statsmodels' `ExponentialSmoothing`
uses; beta is the trend smoothing of statsmodels, i.e. the trend moves by alpha·beta·error):

    additive season:       e_t = y_t − (l + φb) − s          multiplicative: e_t = y_t − (l + φb)·s
    level   l ← l + φb + α·e                                     l ← l + φb + α·e / s
    trend   b ← φb + α·β·e                                       b ← φb + α·β·e / s
    season  s ← s + γ·e                                          s ← s + γ·e / (l_old + φb_old)

with s the seasonal term of the same phase one season back. No trend is b = 0 and β = 0; no
season is one neutral term and γ = 0; an undamped trend is φ = 1.

The smoothing parameters minimise the sum of squared one-step errors, as statsmodels does,
but the search is a batched one: a coarse grid over the unit cube, then repeated local grids
(every combination of −step, 0, +step per parameter around the best point so far, the step
halved whenever the centre stays best). Every pass evaluates a whole batch of candidates in
one run of the recursion: with numba (when importable) a compiled loop per candidate; without
it the recursion steps through time once with every candidate's state in a numpy vector. Both
engines evaluate the same candidates, so they choose the same parameters (up to rounding).

Parameters are searched in u ∈ [0, 1]^k and mapped as α = 1e-4 + (1 − 2e-4)·u², β = α·u²,
γ = (1 − α)·u², φ = 0.8 + 0.18·u (statsmodels' usual constraints β ≤ α, γ ≤ 1 − α; the
squares give small values, typical of noisy series, a finer resolution).

Initial states come from the first seasons (at most ten): a least-squares line gives the level
and slope, the mean deviation of each phase from the line gives the seasonal terms (centred
on 0, or on 1 when multiplicative). Given the smoothing parameters of an additive model the
one-step errors are linear in the initial states, so after the search those states are
re-estimated by least squares (as statsmodels estimates them jointly) and the search is
refined once more from there.
"""
from __future__ import annotations

import itertools
import os
import warnings

import numpy as np

ALPHA_LO = 1e-4
PHI_LO, PHI_SPAN = 0.8, 0.18
GRID_LEVELS = {1: 12, 2: 8, 3: 6, 4: 5}
MIN_STEP = 4e-3
MAX_PASSES = 40
NO_NUMBA_ENV = "MANYMODELS_NO_NUMBA"


# --------------------------------------------------------------------------- recursion


def run_loops(y, scale, alpha, beta, gamma, phi, l0, b0, s0, mul, record, sse, lvl, tr, seas, errs):
    """One recursion per candidate k, written as loops (numba compiles this; plain Python runs
    it too, slowly). Candidate k sees the data y·scale[k] and starts from l0[k], b0[k] and the
    seasonal terms s0[k] (by slot: slot j holds the term of the phases t ≡ j mod m); it leaves
    its sum of squared errors, final level, slope and seasonal terms (by slot) in sse, lvl, tr,
    seas, and its one-step errors in errs[k] when `record`."""
    n = y.shape[0]
    m = s0.shape[1]
    for k in range(alpha.shape[0]):
        a = alpha[k]
        ab = a * beta[k]
        g = gamma[k]
        p = phi[k]
        c = scale[k]
        lev = l0[k]
        b = b0[k]
        for j in range(m):
            seas[k, j] = s0[k, j]
        total = 0.0
        j = 0  # t mod m, without a division per step
        for t in range(n):
            s = seas[k, j]
            lb = lev + p * b
            if mul:
                e = c * y[t] - lb * s
                lev = lb + a * e / s
                b = p * b + ab * e / s
                seas[k, j] = s + g * e / lb
            else:
                e = c * y[t] - lb - s
                lev = lb + a * e
                b = p * b + ab * e
                seas[k, j] = s + g * e
            total += e * e
            if record:
                errs[k, t] = e
            j += 1
            if j == m:
                j = 0
        sse[k] = total
        lvl[k] = lev
        tr[k] = b


def run_vectorised(y, scale, alpha, beta, gamma, phi, l0, b0, s0, mul, record, sse, lvl, tr, seas, errs):
    """The same recursion and outputs as `run_loops`, stepping through time once with every
    candidate's state in a vector (the engine when numba is not importable)."""
    m = s0.shape[1]
    K = alpha.shape[0]
    ab = alpha * beta
    lev = np.array(l0, dtype=np.float64)
    b = np.array(b0, dtype=np.float64)
    S = np.array(s0.T, dtype=np.float64)  # (m, K): one phase is one row
    total = np.zeros(K)
    has_trend = bool(np.any(ab != 0) or np.any(b != 0))
    damped = bool(np.any(phi != 1.0))
    seasonal = bool(m > 1 or np.any(gamma != 0) or np.any(S != 0))
    unscaled = bool(np.all(scale == 1.0))
    lb, e, tmp, yt = np.empty(K), np.empty(K), np.empty(K), np.empty(K)
    with np.errstate(all="ignore"):
        for t in range(y.shape[0]):
            s = S[t % m]
            if has_trend:
                if damped:
                    np.multiply(phi, b, out=b)  # b now holds φ·b
                np.add(lev, b, out=lb)
            else:
                lb[:] = lev
            if unscaled:
                yt.fill(y[t])
            else:
                np.multiply(scale, y[t], out=yt)
            if mul:
                np.multiply(lb, s, out=e)
                np.subtract(yt, e, out=e)
                np.divide(e, s, out=tmp)
                if has_trend:
                    b += ab * tmp
                np.multiply(alpha, tmp, out=lev)
                lev += lb
                np.divide(e, lb, out=tmp)
                tmp *= gamma
                s += tmp
            else:
                np.subtract(yt, lb, out=e)
                if seasonal:
                    e -= s
                if has_trend:
                    b += ab * e
                np.multiply(alpha, e, out=lev)
                lev += lb
                if seasonal:
                    np.multiply(gamma, e, out=tmp)
                    s += tmp
            if record:
                errs[:, t] = e
            np.multiply(e, e, out=tmp)
            total += tmp
    sse[:] = total
    lvl[:] = lev
    tr[:] = b
    seas[:] = S.T


_COMPILED = None  # None = not tried yet; False = numba unavailable


def numba_kernel():
    """`run_loops` compiled by numba (cached on disk where numba can write), or None when numba
    is not importable or fails to compile, or MANYMODELS_NO_NUMBA is set to anything but 0."""
    global _COMPILED
    if _COMPILED is None:
        _COMPILED = False
        if os.environ.get(NO_NUMBA_ENV, "") in ("", "0"):
            try:
                with warnings.catch_warnings():  # llvmlite's DeprecationWarnings on import
                    warnings.simplefilter("ignore")
                    import numba  # optional: Debian's python3-numba, Databricks ML runtimes

                for cache in (True, False):  # no writable cache location: compile in this process only
                    try:
                        fn = numba.njit(cache=cache, nogil=True)(run_loops)
                        _call(fn, np.ones(3), np.full((1, 4), 0.5), np.ones(1), np.zeros(1), np.zeros((1, 2)),
                              np.ones(1), False, False)
                        _COMPILED = fn
                        break
                    except Exception:
                        continue
            except Exception:  # numba missing or broken: the numpy engine gives the same fits
                _COMPILED = False
    return _COMPILED or None


def _call(kernel, y, params, l0, b0, s0, scale, mul, record):
    K = params.shape[0]
    sse, lvl, tr = np.empty(K), np.empty(K), np.empty(K)
    seas = np.empty((K, s0.shape[1]))
    errs = np.empty((K, y.shape[0]) if record else (1, 1))
    kernel(np.ascontiguousarray(y, dtype=np.float64), np.ascontiguousarray(scale, dtype=np.float64),
           np.ascontiguousarray(params[:, 0]), np.ascontiguousarray(params[:, 1]),
           np.ascontiguousarray(params[:, 2]), np.ascontiguousarray(params[:, 3]),
           np.ascontiguousarray(l0, dtype=np.float64), np.ascontiguousarray(b0, dtype=np.float64),
           np.ascontiguousarray(s0, dtype=np.float64), bool(mul), bool(record), sse, lvl, tr, seas, errs)
    return sse, lvl, tr, seas, errs


def kernel_for(engine: str):
    """The recursion for an engine: "auto" (numba when available, else numpy), "numba",
    "numpy", or "loops" (plain Python; for tests)."""
    if engine == "loops":
        return run_loops
    if engine == "numpy":
        return run_vectorised
    compiled = numba_kernel()
    if compiled is None:
        if engine == "numba":
            raise RuntimeError("numba is not available")
        return run_vectorised
    return compiled


def evaluate(y, params, l0, b0, s0, mul, engine="auto"):
    """(sse, level, slope, seasonal terms by slot) of every candidate; params is (K, 4) α, β, γ,
    φ, all starting from the same initial state (level l0, slope b0, seasonal terms s0). A
    candidate whose recursion leaves the finite numbers gets sse = inf."""
    K = params.shape[0]
    s0 = np.asarray(s0, dtype=np.float64)
    with np.errstate(all="ignore"):
        sse, lvl, tr, seas, _ = _call(kernel_for(engine), y, params, np.full(K, float(l0)),
                                      np.full(K, float(b0)), np.repeat(s0[None, :], K, axis=0),
                                      np.ones(K), mul, False)
    bad = ~(np.isfinite(sse) & np.isfinite(lvl) & np.isfinite(tr) & np.isfinite(seas).all(axis=1))
    sse[bad] = np.inf
    return sse, lvl, tr, seas


# --------------------------------------------------------------------------- initial states


def initial_states(y: np.ndarray, trend: bool, seasonal: str | None, m: int):
    """(level, slope, seasonal terms by slot) before the first observation, from at most ten
    seasons at the start (ten periods without a season)."""
    n = y.size
    w = min(n, 10 * m) if seasonal else min(n, 10)
    if seasonal:
        w -= w % m
    head = y[:w]
    t = np.arange(w, dtype=np.float64)
    if trend and w >= 2:
        slope, icpt = np.polyfit(t, head, 1)
    else:
        slope, icpt = 0.0, float(head.mean())
    line = icpt + slope * t
    if seasonal == "mul":
        with np.errstate(all="ignore"):
            ratio = np.where(line > 0, head / line, np.nan).reshape(-1, m)
            seen = np.isfinite(ratio).any(axis=0)
            s0 = np.where(seen, np.nanmean(np.where(seen[None, :], ratio, 1.0), axis=0), 1.0)
        s0 = s0 / s0.mean() if np.isfinite(s0).all() and s0.mean() > 0 else np.ones(m)
    elif seasonal:
        s0 = (head - line).reshape(-1, m).mean(axis=0)
        s0 = s0 - s0.mean()
    else:
        s0 = np.zeros(1)
    # the state one period before the first observation: its one-step forecast is the line at 0
    return float(icpt - slope), float(slope), np.asarray(s0, dtype=np.float64)


def least_squares_states(y, p, trend: bool, seasonal: bool, m: int, engine: str):
    """Initial (level, slope, seasonal terms) minimising the squared one-step errors of an
    additive model with smoothing parameters p = (α, β, γ, φ). The errors are affine in the
    initial state, e = e(y, 0) + D·x, and column i of D is the error path of unit state i on
    zero data; all columns come from one batched run of the recursion."""
    mm = m if seasonal else 1
    dims = 1 + int(trend) + (mm if seasonal else 0)
    K = dims + 1
    l0, b0, s0 = np.zeros(K), np.zeros(K), np.zeros((K, mm))
    l0[1] = 1.0
    if trend:
        b0[2] = 1.0
    if seasonal:
        first = 2 + int(trend)
        s0[first:first + mm] = np.eye(mm)
    scale = np.zeros(K)
    scale[0] = 1.0
    with np.errstate(all="ignore"):
        *_, errs = _call(kernel_for(engine), y, np.repeat(np.asarray(p, dtype=np.float64)[None, :], K, axis=0),
                         l0, b0, s0, scale, False, True)
    base, D = errs[0], errs[1:].T
    if seasonal:
        # a shift of every seasonal term against the level leaves the errors unchanged: pin
        # the seasonal terms to sum to zero
        D = np.vstack([D, np.r_[np.zeros(1 + int(trend)), np.ones(mm)]])
        base = np.r_[base, 0.0]
    if not (np.isfinite(D).all() and np.isfinite(base).all()):
        return None
    x, *_ = np.linalg.lstsq(D, -base, rcond=None)
    if not np.isfinite(x).all():
        return None
    return float(x[0]), (float(x[1]) if trend else 0.0), (x[1 + int(trend):] if seasonal else np.zeros(1))


# --------------------------------------------------------------------------- search


def to_params(u: np.ndarray, trend: bool, damped: bool, seasonal: bool) -> np.ndarray:
    """Unit-cube points (K, k) → (K, 4) α, β, γ, φ (free dims in that order; others fixed)."""
    K = u.shape[0]
    out = np.zeros((K, 4))
    col = 0
    a = ALPHA_LO + (1 - 2 * ALPHA_LO) * u[:, col] ** 2
    col += 1
    out[:, 0] = a
    if trend:
        out[:, 1] = a * u[:, col] ** 2
        col += 1
    if seasonal:
        out[:, 2] = (1 - a) * u[:, col] ** 2
        col += 1
    out[:, 3] = PHI_LO + PHI_SPAN * u[:, col] if damped else 1.0
    return out


def _search(y, l0, b0, s0, trend, damped, seasonal, mul, engine, start=None):
    k = 1 + int(trend) + int(bool(seasonal)) + int(damped)
    levels = GRID_LEVELS[k]
    if start is None:
        axis = (np.arange(levels) + 0.5) / levels
        cand = np.array(list(itertools.product(axis, repeat=k)))
        step = 0.5 / levels
    else:
        cand = start[None, :]
        step = 0.25 / levels
    sse, *_ = evaluate(y, to_params(cand, trend, damped, seasonal), l0, b0, s0, mul, engine)
    best = int(np.argmin(sse))
    u, best_sse = cand[best], sse[best]
    offsets = np.array(list(itertools.product((-1.0, 0.0, 1.0), repeat=k)))
    offsets = offsets[np.any(offsets != 0, axis=1)]
    for _ in range(MAX_PASSES):
        if step < MIN_STEP:
            break
        cand = np.clip(u + step * offsets, 0.0, 1.0)  # a clipped duplicate costs less than np.unique
        sse, *_ = evaluate(y, to_params(cand, trend, damped, seasonal), l0, b0, s0, mul, engine)
        i = int(np.argmin(sse))
        if sse[i] < best_sse:
            u, best_sse = cand[i], sse[i]
        else:
            step /= 2
    return u, best_sse


def fit_holt_winters(y: np.ndarray, trend: bool, damped: bool, seasonal: str | None, m: int,
                     engine: str = "auto") -> dict:
    """Smoothing parameters and final state of Holt-Winters on a regular series without gaps.

    Returns alpha, beta, gamma, phi, sse, level, slope and `season` (m terms in forecast order:
    season[h − 1 mod m] belongs to step h ahead). Raises ValueError when every candidate
    diverges (non-finite errors)."""
    y = np.asarray(y, dtype=np.float64)
    mul = seasonal == "mul"
    l0, b0, s0 = initial_states(y, trend, seasonal, m)
    u, best = _search(y, l0, b0, s0, trend, damped, seasonal, mul, engine)
    if not mul and np.isfinite(best):
        p = to_params(u[None, :], trend, damped, bool(seasonal))[0]
        ls = least_squares_states(y, p, trend, bool(seasonal), m, engine)
        if ls is not None:
            sse_ls = evaluate(y, p[None, :], ls[0], ls[1], ls[2], mul, engine)[0][0]
            if sse_ls < best:
                l0, b0, s0 = ls
                u, best = _search(y, l0, b0, s0, trend, damped, seasonal, mul, engine, start=u)
    if not np.isfinite(best):
        raise ValueError("model 'ets': smoothing diverged (non-finite state)")
    p = to_params(u[None, :], trend, damped, bool(seasonal))
    sse, lvl, tr, seas = evaluate(y, p, l0, b0, s0, mul, engine)
    mm = s0.size
    season = np.roll(seas[0], -(y.size % mm)) if seasonal else np.zeros(0)
    return {"alpha": float(p[0, 0]), "beta": float(p[0, 1]), "gamma": float(p[0, 2]),
            "phi": float(p[0, 3]), "sse": float(sse[0]), "level": float(lvl[0]),
            "slope": float(tr[0]), "season": season}


__all__ = ["evaluate", "fit_holt_winters", "initial_states", "numba_kernel", "run_loops",
           "run_vectorised", "to_params"]
