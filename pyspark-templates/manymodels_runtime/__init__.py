"""manymodels_runtime: the Python side of manymodels (per-group training/scoring, model zoo, metrics, sample data)."""
