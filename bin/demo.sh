#!/usr/bin/env bash
# The quick-start demo: a lab of three hosts in two sites (network namespaces), the controller
# on its embedded etcd, an agent joined in every host, and a tenant network with a workload on
# each host. It prints how to ping between them and how to reach the API; Ctrl-C cleans up.
set -euo pipefail
cd "$(dirname "$0")/.."
# `npm run demo` execs this script (see package.json), and it execs node below, so a signal
# npm forwards (SIGINT, SIGTERM) reaches the demo itself. While the set-up runs, bash would only
# act on a signal after the set-up ends: run it in the background and wait, which a trap interrupts.
bash bin/ensure-deps.sh &
deps=$!
trap 'kill "$deps" 2>/dev/null; exit 130' INT
trap 'kill "$deps" 2>/dev/null; exit 143' TERM
trap 'kill "$deps" 2>/dev/null; exit 129' HUP
wait "$deps"
trap - INT TERM HUP
if [ "$(id -u)" != 0 ]; then
  echo "the demo builds network namespaces and needs root" >&2
  exit 1
fi
exec node --import tsx test/lab/demo.ts
