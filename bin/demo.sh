#!/usr/bin/env bash
# The quick-start demo: a lab of three hosts in two sites (network namespaces), the controller
# on its embedded etcd, an agent joined in every host, and a tenant network with a workload on
# each host. It prints how to ping between them and how to reach the API; Ctrl-C cleans up.
set -euo pipefail
cd "$(dirname "$0")/.."
bash bin/ensure-deps.sh
if [ "$(id -u)" != 0 ]; then
  echo "the demo builds network namespaces and needs root" >&2
  exit 1
fi
exec node --import tsx test/lab/demo.ts
