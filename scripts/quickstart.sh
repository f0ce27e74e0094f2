#!/usr/bin/env bash
# The main job on the embedded local engine, from a fresh machine: installs what is needed,
# generates the example data, validates, then trains, promotes and scores the example pipelines.yaml.
# Re-running it trains a new run and promotes against the models already in production.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/bootstrap.sh
# shellcheck disable=SC1091
source .tooling/env.sh
mm() { printf '\n$ manymodels %s\n' "$*" >&2; node bin/manymodels.js "$@"; }
if [ ! -f data/sales.csv ]; then
  mm sample-data --out data/sales.csv --stores 10 --items 20 --days 730
fi
# After the data exists, so validate checks its columns and dates too.
mm validate pipelines.yaml
mm train
mm promote
mm score
mm runs list --limit 5
printf '\nPredictions are in .manymodels/predictions.db (table predictions).\n' >&2
