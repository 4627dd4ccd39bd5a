#!/usr/bin/env bash
# Runs a command under this project's Node: `bash scripts/with-node.sh CMD ARGS...`.
# The machine's node when it satisfies package.json's engines.node; else the pinned
# Node 22 that scripts/setup.sh unpacked and checked (see scripts/node-plan.mjs),
# whose bin dir is put first on PATH, so CMD, npm (#!/usr/bin/env node) and every
# node they start run on it. Nothing is downloaded here: run scripts/setup.sh first.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: bash scripts/with-node.sh COMMAND [ARGS...]" >&2
  exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if ! command -v node >/dev/null 2>&1; then
  echo "with-node: no node on PATH: install Node.js and npm (any version), then run bash scripts/setup.sh" >&2
  exit 3
fi

plan_text=$(node "$here/node-plan.mjs")
mapfile -t plan <<<"$plan_text"
if [ "${plan[0]}" = pinned ]; then
  binary="${plan[2]}/${plan[4]}"
  if [ ! -x "$binary" ]; then
    echo "with-node: Node ${plan[1]} is not installed at $binary: run bash scripts/setup.sh" >&2
    exit 3
  fi
  PATH="$(dirname "$binary"):$PATH"
  export PATH
fi
exec "$@"
