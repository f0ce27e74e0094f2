"""Evaluation metrics for one group's holdout: forecast/regression errors and classification scores.

Owns `compute_metrics(task, names, y_true, y_pred, y_score)`, the only place the metric
formulas live (docs/metrics.md documents them and their edge cases). Values are plain
floats; an undefined value is NaN (never an exception), so one odd group cannot fail a run.
Percentages are fractions: a WAPE of 0.21 means 21 %.
"""
from __future__ import annotations

import math

import numpy as np

REGRESSION_METRICS = ("mae", "rmse", "mape", "smape", "wape", "accuracy")
CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
METRICS_BY_TASK = {
    "forecast": REGRESSION_METRICS,
    "regression": REGRESSION_METRICS,
    "classification": CLASSIFICATION_METRICS,
}

NAN = float("nan")
# Where a larger value is better; every other metric is an error, lower is better (the same
# set as src/pipeline/catalog.ts, which promotion and the results tables use).
HIGHER_IS_BETTER = frozenset(("accuracy", "precision", "recall", "f1", "roc_auc"))


def higher_is_better(name: str) -> bool:
    return name in HIGHER_IS_BETTER


def compute_metrics(task: str, names: list[str], y_true, y_pred, y_score=None) -> dict[str, float]:
    """Each requested metric of `y_pred` (and `y_score`) against `y_true`, in the order asked.

    Raises ValueError for an unknown task, an unknown metric name (or one that does not
    apply to the task), or arrays of different lengths.
    """
    if task not in METRICS_BY_TASK:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(METRICS_BY_TASK)}")
    allowed = METRICS_BY_TASK[task]
    bad = [n for n in names if n not in allowed]
    if bad:
        raise ValueError(
            f"unknown metric(s) for task '{task}': {', '.join(map(str, bad))}; known: {', '.join(allowed)}"
        )
    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.float64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} values but y_pred has {y_pred.size}")
    if y_score is not None:
        y_score = np.asarray(y_score, dtype=np.float64).ravel()
        if y_score.shape != y_true.shape:
            raise ValueError(f"y_true has {y_true.size} values but y_score has {y_score.size}")
    # Rows without an actual value cannot be scored; drop them (the core already does, this
    # keeps the function safe on its own).
    keep = ~np.isnan(y_true)
    if not keep.all():
        y_true, y_pred = y_true[keep], y_pred[keep]
        y_score = y_score[keep] if y_score is not None else None
    fn = _regression if task != "classification" else _classification
    return {n: float(v) for n, v in fn(names, y_true, y_pred, y_score).items()}


def _regression(names, y, p, _score) -> dict:
    out = {}
    n = y.size
    e = p - y
    ae = np.abs(e)
    wape = _wape(ae, y)
    for name in names:
        if n == 0:
            out[name] = NAN
        elif name == "mae":
            out[name] = ae.mean()
        elif name == "rmse":
            out[name] = math.sqrt(np.mean(e * e))
        elif name == "mape":
            nz = y != 0
            out[name] = np.mean(ae[nz] / np.abs(y[nz])) if nz.any() else NAN
        elif name == "smape":
            denom = np.abs(y) + np.abs(p)
            # Both actual and prediction zero is a perfect prediction: the term is 0, not 0/0.
            with np.errstate(invalid="ignore", divide="ignore"):
                terms = np.where(denom == 0, 0.0, 2.0 * ae / denom)
            out[name] = terms.mean()
        elif name == "wape":
            out[name] = wape
        elif name == "accuracy":
            out[name] = 1.0 - wape
    return out


def _wape(ae: np.ndarray, y: np.ndarray) -> float:
    if ae.size == 0:
        return NAN
    num, den = float(ae.sum()), float(np.abs(y).sum())
    if den == 0:
        # All actuals zero: predicting exactly zero is perfect (0), anything else is undefined.
        return 0.0 if num == 0 else NAN
    return num / den


def _classification(names, y, p, score) -> dict:
    n = y.size
    out = {}
    if n == 0:
        return {name: NAN for name in names}
    labels = np.unique(np.concatenate([y, p[~np.isnan(p)]]))
    binary = labels.size <= 2
    # Binary: the positive class is 1 when the labels are 0/1, else the larger label.
    positive = 1.0 if set(labels.tolist()) <= {0.0, 1.0} else float(labels.max())
    for name in names:
        if name == "accuracy":
            out[name] = float(np.mean(y == p))
        elif name in ("precision", "recall", "f1"):
            if binary:
                out[name] = _prf(y, p, positive)[name]
            else:
                # Macro average over every label seen in actuals or predictions.
                out[name] = float(np.mean([_prf(y, p, c)[name] for c in labels]))
        elif name == "roc_auc":
            out[name] = _roc_auc(y == positive, score) if binary and score is not None else NAN
    return out


def _prf(y, p, cls) -> dict:
    tp = float(np.sum((p == cls) & (y == cls)))
    fp = float(np.sum((p == cls) & (y != cls)))
    fn = float(np.sum((p != cls) & (y == cls)))
    # Zero denominators give 0.0, as scikit-learn's default (zero_division) does.
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _roc_auc(is_pos: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve as the Mann-Whitney U statistic (ties count one half)."""
    n_pos = int(is_pos.sum())
    n_neg = is_pos.size - n_pos
    if n_pos == 0 or n_neg == 0 or np.isnan(score).any():
        return NAN
    ranks = _average_ranks(score)
    u = ranks[is_pos].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks with ties sharing their average rank."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    boundaries = np.concatenate([[True], xs[1:] != xs[:-1], [True]])
    starts = np.flatnonzero(boundaries)
    avg = (starts[:-1] + starts[1:] + 1) / 2.0  # mean of ranks start+1 .. end
    ranks = np.empty(x.size)
    ranks[order] = np.repeat(avg, np.diff(starts))
    return ranks


__all__ = ["compute_metrics", "higher_is_better", "HIGHER_IS_BETTER", "METRICS_BY_TASK", "REGRESSION_METRICS", "CLASSIFICATION_METRICS"]
