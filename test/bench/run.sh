#!/usr/bin/env bash
# Runs every benchmark in test/bench, one after another. Benchmarks print figures and exit
# non-zero only when something failed (not on slowness). Each also writes its figures, baseline
# and ratios to bench-results/<name>.json (git-ignored; see test/bench/support/results.ts).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bash bin/ensure-deps.sh

shopt -s nullglob
benches=(test/bench/*.bench.ts)
if [ ${#benches[@]} -eq 0 ]; then
  echo "no test/bench/*.bench.ts found" >&2
  exit 1
fi
for b in "${benches[@]}"; do
  echo "=== $b"
  node --import tsx "$b"
done
echo "=== results in bench-results/: $(cd bench-results && ls -- *.json | tr '\n' ' ')"
