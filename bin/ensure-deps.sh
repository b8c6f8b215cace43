#!/usr/bin/env bash
# Brings a fresh Debian machine (as root, Node 20+) to where Weft runs and tests:
# Debian packages that are missing, then the npm packages from the lockfile.
set -euo pipefail
cd "$(dirname "$0")/.."

major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 20 ]; then
  echo "weft needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

packages=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/bin/$1" ] || [ -x "/usr/sbin/$1" ]; }
have etcd || packages+=(etcd-server)
have curl || packages+=(curl)
have pgrep || packages+=(procps)
have ping || packages+=(iputils-ping)
have ip || packages+=(iproute2)
have chromium || packages+=(chromium)   # the live view's browser test (playwright-core drives it)
have cc || packages+=(gcc libc6-dev)    # the path probe engine (agents/paths/engine/weft-probe.c)
if [ ${#packages[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${packages[*]}; run as root or: apt-get install ${packages[*]}" >&2
    exit 1
  fi
  echo "installing Debian packages: ${packages[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# Runs a set-up step and, when it took a second or more, says what it was and how long it took.
timed() {
  local what=$1 t0 ms
  shift
  t0=$(date +%s%N)
  "$@"
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  # to stderr: a step's own stdout may be sent elsewhere
  if [ "$ms" -ge 1000 ]; then printf '  %s (%d.%d s)\n' "$what" $((ms / 1000)) $((ms % 1000 / 100)) >&2; fi
}

# npm ci only when the installed tree is missing or older than the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing the npm packages of the lockfile (npm ci)"
  timed "npm packages installed" npm ci --no-audit --no-fund --loglevel=error
fi

# The live view's page is bundled at build time (into the git-ignored .build/web), only when
# its sources are newer than the bundle.
timed "live view page bundled (or found current)" node --import tsx src/web/build.ts >/dev/null

# The path probe engine, a plain C program, only when its source is newer than the binary.
timed "path probe engine built (or found current)" bash bin/build-probe.sh
