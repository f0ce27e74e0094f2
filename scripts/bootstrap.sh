#!/usr/bin/env bash
# Brings everything manymodels needs onto a fresh machine, idempotently:
# Node >= 22.13 (from the npm registry's `node` package when the machine's is older),
# the npm dependencies, the compiled CLI, and a Python 3 that has pandas, numpy,
# scikit-learn and statsmodels (pip where an index answers, Debian's packages where not),
# and, for scripts/test.sh, pytest, chromium and xmllint from Debian's packages.
# It writes .tooling/env.sh, which the other scripts source. Safe to run again.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tooling="$root/.tooling"
mkdir -p "$tooling"
say() { printf '[bootstrap] %s\n' "$*" >&2; }

NODE_PIN=24.21.0

# node:sqlite (the local registry) needs 22.13 or newer without a flag.
node_ok() { "$1" -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 13) ? 0 : 1)' 2>/dev/null; }

# --- Node ---------------------------------------------------------------
node_bin=""
if [ -x "$tooling/node/node_modules/node/bin/node" ]; then
  node_bin="$tooling/node/node_modules/node/bin/node"
elif command -v node >/dev/null 2>&1 && node_ok "$(command -v node)"; then
  node_bin=$(command -v node)
else
  command -v npm >/dev/null 2>&1 || { say "npm is needed to fetch Node $NODE_PIN; install Node.js first"; exit 1; }
  say "machine Node is $(node --version 2>/dev/null || echo absent); installing Node $NODE_PIN from the npm registry"
  mkdir -p "$tooling/node"
  (cd "$tooling/node" && npm install --no-save --no-package-lock --prefix . "node@$NODE_PIN" >/dev/null 2>&1) \
    || { say "could not install node@$NODE_PIN from the npm registry"; exit 1; }
  node_bin="$tooling/node/node_modules/node/bin/node"
fi
node_dir=$(dirname "$node_bin")
export PATH="$node_dir:$PATH"

# --- npm dependencies -------------------------------------------------------
stamp="$tooling/npm-installed.stamp"
if [ ! -d "$root/node_modules" ] || [ ! -f "$stamp" ] || [ "$root/package-lock.json" -nt "$stamp" ]; then
  say "installing npm dependencies"
  (cd "$root" && npm ci --no-audit --no-fund >/dev/null 2>&1) || (cd "$root" && npm ci --no-audit --no-fund)
  touch "$stamp"
fi

# --- compiled CLI -------------------------------------------------------------
build_stamp="$root/dist/.build-stamp"
if [ ! -f "$build_stamp" ] || [ -n "$(find "$root/src" "$root/tsconfig.json" "$root/tsconfig.build.json" -newer "$build_stamp" -print -quit 2>/dev/null)" ]; then
  say "compiling the CLI"
  rm -rf "$root/dist"
  (cd "$root" && "$node_bin" node_modules/typescript/bin/tsc -p tsconfig.build.json)
  touch "$build_stamp"
fi

# --- Python -------------------------------------------------------------------
py_ok() { "$1" -c 'import pandas, numpy, sklearn, statsmodels' >/dev/null 2>&1; }
find_python() {
  local c
  for c in "${MANYMODELS_PYTHON:-}" "$(command -v python3 2>/dev/null || true)" /usr/bin/python3 /usr/local/bin/python3; do
    [ -n "$c" ] && [ -x "$c" ] && py_ok "$c" && { echo "$c"; return 0; }
  done
  return 1
}
python_bin=$(find_python || true)
if [ -z "$python_bin" ]; then
  say "no Python 3 with pandas, numpy, scikit-learn and statsmodels found; installing"
  base_py=$(command -v python3 || echo /usr/bin/python3)
  if timeout 20 "$base_py" -m pip install --user --quiet pandas numpy scikit-learn statsmodels pytest >/dev/null 2>&1 && py_ok "$base_py"; then
    python_bin=$base_py
  elif command -v apt-get >/dev/null 2>&1; then
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq \
      python3-pandas python3-numpy python3-sklearn python3-statsmodels python3-psycopg2 python3-pytest >/dev/null
    python_bin=$(find_python || true)
  fi
  [ -n "$python_bin" ] || { say "could not provide pandas/numpy/scikit-learn/statsmodels; set MANYMODELS_PYTHON to a Python that has them"; exit 1; }
fi
# --- what only the tests need (scripts/test.sh sets MANYMODELS_NEED_PYTEST=1) ---------
# pytest, Debian's chromium for the report's browser checks (playwright-core drives it),
# xmllint (libxml2-utils) to validate --junit output against docs/junit.xsd, tmux for the
# dashboard's real-terminal test, and PostgreSQL (the server the sql-source tests start
# themselves) with psycopg2, the local engine's driver for sql sources.
if [ "${MANYMODELS_NEED_PYTEST:-0}" = 1 ] && command -v apt-get >/dev/null 2>&1; then
  test_pkgs=()
  "$python_bin" -c 'import pytest' >/dev/null 2>&1 || test_pkgs+=(python3-pytest)
  [ -x /usr/bin/chromium ] || test_pkgs+=(chromium)
  command -v xmllint >/dev/null 2>&1 || test_pkgs+=(libxml2-utils)
  command -v tmux >/dev/null 2>&1 || test_pkgs+=(tmux)
  command -v openssl >/dev/null 2>&1 || test_pkgs+=(openssl)
  compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null || command -v pg_ctl >/dev/null 2>&1 || test_pkgs+=(postgresql)
  "$python_bin" -c 'import psycopg2' >/dev/null 2>&1 || test_pkgs+=(python3-psycopg2)
  "$python_bin" -c 'import numba' >/dev/null 2>&1 || test_pkgs+=(python3-numba)
  if [ ${#test_pkgs[@]} -gt 0 ]; then
    say "installing Debian packages the tests use: ${test_pkgs[*]}"
    sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq >/dev/null || true
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${test_pkgs[@]}" >/dev/null \
      || say "could not install ${test_pkgs[*]}; the tests that need them will fail under CI"
  fi
fi

cat > "$tooling/env.sh" <<ENV
export PATH="$node_dir:\$PATH"
export MANYMODELS_PYTHON="$python_bin"
ENV
say "ready: node $("$node_bin" --version), python $("$python_bin" -c 'import sys,pandas;print(sys.version.split()[0], "pandas", pandas.__version__)')"
