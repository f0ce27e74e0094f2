"""Compact, library-free storage and evaluation of fitted tree ensembles.

scikit-learn's fitted HistGradientBoosting and RandomForest objects pickle to 170 KB–MBs per
group, most of it per-node bookkeeping (gain, counts, depth, binning tables) that prediction
never reads, and unpickling thousands of them dominates batch scoring (PERFORMANCE-NOTES:
10 s of a 10k-model scoring run). We keep only what a prediction walks — per internal node
the feature, threshold, missing-value direction and two child codes, plus leaf values — as
a handful of NumPy arrays, and evaluate all trees at once, vectorised over (rows × trees).

Results equal scikit-learn's own predictions bit for bit (same comparisons, leaf values
summed in the same order, HistGradientBoosting's categorical splits read from the same
bitsets); tests check this. Artifacts also stop depending on the
scikit-learn version installed where they are scored.

Child codes: `c >= 0` is an internal node index, `c < 0` is leaf `-c - 1`.
"""
from __future__ import annotations

import numpy as np


def _pack(parts: list[dict], **extra) -> dict:
    """Concatenate per-tree arrays into one ensemble dict with the narrowest index dtypes."""
    feats = np.concatenate([p["feature"] for p in parts]) if parts else np.zeros(0)
    n_features_hint = int(feats.max()) + 1 if feats.size else 1
    fdt = np.int16 if n_features_hint < 2**15 else np.int32
    return {
        "feature": feats.astype(fdt),
        "threshold": np.concatenate([p["threshold"] for p in parts]).astype(np.float64),
        "left": np.concatenate([p["left"] for p in parts]).astype(np.int32),
        "right": np.concatenate([p["right"] for p in parts]).astype(np.int32),
        "nan_left": np.concatenate([p["nan_left"] for p in parts]).astype(bool),
        "values": np.concatenate([p["values"] for p in parts]).astype(np.float64),
        "roots": np.array([p["root"] for p in parts], dtype=np.int32),
        **extra,
    }


def _encode(is_leaf: np.ndarray, left: np.ndarray, right: np.ndarray, int_off: int, leaf_off: int):
    """Map one tree's node ids to global child codes; returns (codes of all nodes, internal mask)."""
    internal = ~is_leaf
    int_idx = np.cumsum(internal) - 1 + int_off
    leaf_idx = np.cumsum(is_leaf) - 1 + leaf_off
    code = np.where(is_leaf, -leaf_idx - 1, int_idx)
    return code, internal


def from_hist_gradient_boosting(est) -> dict:
    """Compact form of a fitted HistGradientBoostingRegressor/Classifier, categorical splits
    included: such a node keeps the 256-bit set of the category codes that go left (8 uint32
    words, a row of `cat_left`), and every categorical feature the set of codes seen in
    training (`cat_known`, row `cat_row[feature]`); see `leaves` for how they are read."""
    parts, int_off, leaf_off = [], 0, 0
    bitsets, n_bitsets = [], 0
    k = int(est.n_trees_per_iteration_)
    for iteration in est._predictors:  # list (iterations) of lists (one predictor per class)
        for pred in iteration:
            nodes = pred.nodes
            is_leaf = nodes["is_leaf"].astype(bool)
            code, internal = _encode(is_leaf, nodes["left"], nodes["right"], int_off, leaf_off)
            categorical = nodes["is_categorical"][internal].astype(bool)
            cat_set = np.where(categorical, nodes["bitset_idx"][internal].astype(np.int64) + n_bitsets, -1)
            if categorical.any():
                bitsets.append(np.asarray(pred.raw_left_cat_bitsets, dtype=np.uint32))
                n_bitsets += int(pred.raw_left_cat_bitsets.shape[0])
            parts.append({
                "feature": nodes["feature_idx"][internal].astype(np.int64),
                "threshold": nodes["num_threshold"][internal],
                "left": code[nodes["left"][internal].astype(np.int64)],
                "right": code[nodes["right"][internal].astype(np.int64)],
                "nan_left": nodes["missing_go_to_left"][internal],
                "values": nodes["value"][is_leaf],
                "root": code[0],
                "cat_set": cat_set,
            })
            int_off += int(internal.sum())
            leaf_off += int(is_leaf.sum())
    extra = {}
    if n_bitsets:
        known, f_idx_map = est._bin_mapper.make_known_categories_bitsets()
        is_cat = np.asarray(est._bin_mapper.is_categorical_, dtype=bool)
        extra = {"cat_set": np.concatenate([p["cat_set"] for p in parts]).astype(np.int32),
                 "cat_left": np.concatenate(bitsets).astype(np.uint32),
                 "cat_known": np.asarray(known, dtype=np.uint32),
                 "cat_row": np.where(is_cat, np.asarray(f_idx_map, dtype=np.int64), -1).astype(np.int32)}
    return _pack(parts, kind="hgb", per_iteration=k,
                 baseline=np.asarray(est._baseline_prediction, dtype=np.float64).reshape(-1),
                 float32_inputs=False, **extra)


def _in_bitset(bitsets: np.ndarray, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Whether each category code `values[i]` (0–255) is in the 256-bit set `bitsets[rows[i]]`."""
    words = bitsets[rows, values >> 5]
    return ((words >> (values & 31).astype(np.uint32)) & np.uint32(1)).astype(bool)


def from_forest(est, classifier: bool) -> dict:
    """Compact form of a fitted RandomForestRegressor/Classifier (single output)."""
    parts, int_off, leaf_off = [], 0, 0
    for tree in est.estimators_:
        t = tree.tree_
        left, right = t.children_left, t.children_right
        is_leaf = left == -1
        code, internal = _encode(is_leaf, left, right, int_off, leaf_off)
        value = t.value[:, 0, :]
        if classifier:
            # What DecisionTreeClassifier.predict_proba does per row, done once per leaf.
            v = value[is_leaf]
            norm = v.sum(axis=1)[:, None]
            norm[norm == 0.0] = 1.0
            leaf_values = v / norm
        else:
            leaf_values = value[is_leaf, 0]
        missing_left = getattr(t, "missing_go_to_left", None)
        parts.append({
            "feature": t.feature[internal].astype(np.int64),
            "threshold": t.threshold[internal],
            "left": code[left[internal]],
            "right": code[right[internal]],
            "nan_left": (np.zeros(int(internal.sum()), dtype=bool) if missing_left is None
                         else np.asarray(missing_left)[internal].astype(bool)),
            "values": leaf_values,
            "root": code[0],
        })
        int_off += int(internal.sum())
        leaf_off += int(is_leaf.sum())
    # sklearn trees compare float32 inputs against float64 thresholds.
    return _pack(parts, kind="forest", float32_inputs=True)


def leaves(ens: dict, X: np.ndarray) -> np.ndarray:
    """Leaf index reached by every row in every tree: int64 (n_rows, n_trees)."""
    X = np.asarray(X, dtype=np.float64)
    if ens["float32_inputs"]:
        X = X.astype(np.float32)
    n, t = X.shape[0], ens["roots"].size
    node = np.empty((n, t), dtype=np.int64)
    node[:] = ens["roots"][None, :]
    rows = np.broadcast_to(np.arange(n)[:, None], (n, t))
    feature, threshold, nan_left = ens["feature"], ens["threshold"], ens["nan_left"]
    left, right = ens["left"], ens["right"]
    cat_set = ens.get("cat_set")
    active = node >= 0
    while active.any():
        nd = node[active]
        x = X[rows[active], feature[nd]]
        go_left = x <= threshold[nd]  # float32 vs float64 promotes to float64, like the C code
        nan = np.isnan(x)
        if cat_set is not None:
            _categorical_split(ens, cat_set[nd], feature[nd], x, nan, go_left, nan_left[nd])
        if nan.any():
            go_left[nan] = nan_left[nd[nan]]
        node[active] = np.where(go_left, left[nd], right[nd])
        active = node >= 0
    return -node - 1


def _categorical_split(ens: dict, sets: np.ndarray, feats: np.ndarray, x: np.ndarray, nan: np.ndarray,
                       go_left: np.ndarray, nan_left: np.ndarray) -> None:
    """go_left at categorical nodes, as scikit-learn decides it: missing → the missing side; a
    code in the node's left set → left; else a code seen in training → right; an unseen code
    → the missing side. Codes are whole numbers 0–255 (HistGradientBoosting's limit); any
    other value counts as unseen."""
    cat = (sets >= 0) & ~nan
    if not cat.any():
        return
    v = x[cat]
    whole = (v >= 0) & (v < 256) & (np.floor(v) == v)
    code = np.where(whole, v, 0).astype(np.int64)
    left = _in_bitset(ens["cat_left"], sets[cat], code) & whole
    known = _in_bitset(ens["cat_known"], np.maximum(ens["cat_row"][feats[cat]], 0), code) & whole
    go_left[cat] = np.where(left, True, np.where(known, False, nan_left[cat]))


def _ordered_sum(first: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """first + vals[:, 0] + vals[:, 1] + … strictly left to right (matching sklearn's loop)."""
    return np.cumsum(np.concatenate([first[:, None], vals], axis=1), axis=1)[:, -1]


def raw_predict(ens: dict, X: np.ndarray) -> np.ndarray:
    """HistGB: raw scores (n, per_iteration). Forest: mean prediction (n,) or (n, n_classes)."""
    leaf = leaves(ens, X)
    n = leaf.shape[0]
    vals = ens["values"]
    if ens["kind"] == "hgb":
        k = ens["per_iteration"]
        out = np.empty((n, k))
        for c in range(k):
            cols = leaf[:, c::k]
            out[:, c] = _ordered_sum(np.full(n, ens["baseline"][c]), vals[cols])
        return out
    t = leaf.shape[1]
    picked = vals[leaf]  # (n, t) or (n, t, classes)
    if picked.ndim == 2:
        return _ordered_sum(np.zeros(n), picked) / t
    out = np.empty((n, picked.shape[2]))
    for c in range(picked.shape[2]):
        out[:, c] = _ordered_sum(np.zeros(n), picked[:, :, c])
    return out / t


def size_bytes(ens: dict) -> int:
    return int(sum(v.nbytes for v in ens.values() if isinstance(v, np.ndarray)))


__all__ = ["from_hist_gradient_boosting", "from_forest", "raw_predict", "leaves", "size_bytes"]
