#!/usr/bin/env bash
# The test command: set-up, type check, generated-schema check, then every test file with
# node's test runner. Fails when no test ran.
set -euo pipefail
cd "$(dirname "$0")/.."
bash bin/ensure-deps.sh

echo "== type check"
npx tsc --noEmit

echo "== generated schemas are current"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The CLI's context (src/cli/context.ts): no test reads an operator's, and none is written to
# the real home.
export WEFT_CONFIG_DIR="$tmp/weft-config"
node --import tsx src/cli/main.ts gen-schemas --out "$tmp/schemas" >/dev/null
for f in openapi.json topology.schema.json; do
  if ! cmp -s "$tmp/schemas/$f" "schemas/$f"; then
    echo "schemas/$f is out of date with the model: run 'npm run gen' and commit it" >&2
    exit 1
  fi
done
npx proto-loader-gen-types --longs=Number --enums=String --defaults --arrays --oneofs --includeComments \
  --grpcLib=@grpc/grpc-js --importFileExtension=.js -O "$tmp/protocol" schemas/weft-agent.proto >/dev/null
if ! diff -rq "$tmp/protocol" src/protocol/generated >/dev/null; then
  echo "src/protocol/generated is out of date with schemas/weft-agent.proto: run 'npm run gen' and commit it" >&2
  exit 1
fi

# Files that load the machine on purpose (path-stress keeps both CPUs busy for 30 s) run alone,
# after the rest: beside another file they would test that file under a load it never chose.
ALONE='^test/e2e/path-stress\.test\.ts$'
mapfile -t files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort | grep -Ev "$ALONE")
mapfile -t alone < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort | grep -E "$ALONE")
if [ ${#files[@]} -eq 0 ]; then
  echo "no test files found" >&2
  exit 1
fi
echo "== $((${#files[@]} + ${#alone[@]})) test files (${#alone[@]} run alone at the end)"
set +e
# Two files at a time: most of a lab test's time is spent waiting on agents, etcd and timers, so
# on two cores two files take about three quarters of the time one at a time does (17 → 13 min
# here), and every test already has to hold on a machine kept busy by other work.
node --import tsx --test --test-concurrency="${WEFT_TEST_CONCURRENCY:-2}" --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$tmp/tap" "${files[@]}"
rc=$?
if [ ${#alone[@]} -gt 0 ]; then
  node --import tsx --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tmp/tap-alone" "${alone[@]}"
  alone_rc=$?
  [ "$rc" -eq 0 ] && rc=$alone_rc
fi
set -e
# The runs' counts, summed.
count() { cat "$tmp"/tap* | sed -n "s/^# $1 \([0-9]*\)$/\1/p" | awk '{ s += $1 } END { print s + 0 }'; }
tests=$(count tests)
pass=$(count pass)
fail=$(count fail)
skipped=$(count skipped)
todo=$(count todo)
if [ "$tests" -eq 0 ]; then
  echo "no test ran" >&2
  exit 1
fi
# Skipped and todo tests are not passes: they are counted apart, and named, so a test that
# skips itself (say, for a capability this kernel lacks) is visible in CI's last lines.
if [ "$skipped" -gt 0 ] || [ "$todo" -gt 0 ]; then
  echo "skipped or todo:"
  cat "$tmp"/tap* | grep -E '^ *ok [0-9]+ .*# (SKIP|TODO)' | sed 's/^ */  /' || true
fi
echo "$pass passed, $fail failed, $skipped skipped"
exit "$rc"
