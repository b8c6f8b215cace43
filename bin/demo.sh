#!/usr/bin/env bash
# The quick-start demo: a controller on its embedded etcd in a throwaway state dir, then a
# tenant network created with curl. Ctrl-C stops everything and removes the state dir.
set -euo pipefail
cd "$(dirname "$0")/.."
bash bin/ensure-deps.sh

port=${WEFT_DEMO_PORT:-7480}
state=$(mktemp -d /tmp/weft-demo-XXXXXX)
ctl=""
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$ctl" ] && kill -0 "$ctl" 2>/dev/null; then
    kill -TERM "$ctl" 2>/dev/null || true
    wait "$ctl" 2>/dev/null || true
  fi
  rm -rf "$state"
}
trap cleanup EXIT
trap 'echo; echo "stopping"; exit 0' INT TERM

node --import tsx src/cli/main.ts controller --listen "127.0.0.1:$port" --state-dir "$state" >"$state/controller.log" 2>&1 &
ctl=$!
api="http://127.0.0.1:$port"
for _ in $(seq 1 150); do
  curl -sf "$api/readyz" >/dev/null 2>&1 && break
  kill -0 "$ctl" 2>/dev/null || { cat "$state/controller.log"; exit 1; }
  sleep 0.2
done
curl -sf "$api/readyz" >/dev/null || { echo "controller did not become ready"; cat "$state/controller.log"; exit 1; }
token=$(cat "$state/admin.token")

# Shows a command as it could be pasted into a shell, runs it, and pretty-prints its JSON.
quote() {
  local a out=""
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=%?@-]+$ ]]; then out+=" $a"; else out+=" '${a//\'/\'\\\'\'}'"; fi
  done
  printf '%s' "${out# }"
}
pretty='let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.stringify(JSON.parse(s),null,2))}catch{console.log(s)}})'
show() { printf '\n$ %s\n' "$(quote "$@")"; "$@" | node -e "$pretty"; }
echo "weft controller on $api (embedded etcd; state in $state)"
echo "admin token: $token"
auth="Authorization: Bearer $token"
json="Content-Type: application/json"
show curl -s -X POST "$api/v1/tenants" -H "$auth" -H "$json" -d '{"metadata":{"name":"red"},"spec":{"description":"demo tenant"}}'
show curl -s -X POST "$api/v1/tenants/red/networks" -H "$auth" -H "$json" -d '{"metadata":{"name":"web","labels":{"tier":"web"}},"spec":{"subnets":[{"cidr":"100.64.10.0/24","gateway":"100.64.10.1"}]}}'
show curl -s "$api/v1/tenants/red/networks?labelSelector=tier%3Dweb" -H "$auth"
cat <<EOT

Try more: the API docs are at $api/docs, the OpenAPI document at $api/openapi.json,
metrics at $api/metrics. Export the token to reuse it:
  export WEFT_TOKEN=$token
  curl -s $api/v1/tenants/red/networks/web -H "Authorization: Bearer \$WEFT_TOKEN"

Controller log: $state/controller.log. Press Ctrl-C to stop and clean up.
EOT
wait "$ctl"
