#!/usr/bin/env bash
# The whole test suite: type check, vitest (CLI, language, engines, emulators) and pytest
# (the Python runtime). Installs what it needs first (scripts/bootstrap.sh).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
MANYMODELS_NEED_PYTEST=1 bash scripts/bootstrap.sh
# shellcheck disable=SC1091
source .tooling/env.sh
echo "== type check"
node node_modules/typescript/bin/tsc -p tsconfig.json --noEmit
echo "== python runtime (pytest)"
"$MANYMODELS_PYTHON" -m pytest pyspark-templates/tests -q -p no:cacheprovider
echo "== vitest"
node node_modules/vitest/vitest.mjs run
