#!/usr/bin/env bash
# The main job on the embedded local engine, from a fresh machine: installs what is
# needed, then validates and compiles the example pipelines.yaml.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
bash scripts/bootstrap.sh
# shellcheck disable=SC1091
source .tooling/env.sh
mm() { echo "\$ manymodels $*" >&2; node bin/manymodels.js "$@"; }
mm validate pipelines.yaml
mm compile --stage train
mm compile --stage score
