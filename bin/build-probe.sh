#!/usr/bin/env bash
# Builds the path probe engine (agents/paths/engine/weft-probe.c, plain C, no node-gyp) into the
# git-ignored .build/probe/weft-probe, only when the source is newer than the binary. Without a
# C compiler it says so and exits 0: the agent then probes over UDP (the engine is optional).
set -euo pipefail
cd "$(dirname "$0")/.."
src=agents/paths/engine/weft-probe.c
bin=.build/probe/weft-probe
if [ -x "$bin" ] && [ ! "$src" -nt "$bin" ]; then exit 0; fi
if ! command -v cc >/dev/null 2>&1; then
  echo "no C compiler (cc): the kernel-timestamped probe engine is not built; paths are probed over UDP" >&2
  exit 0
fi
mkdir -p .build/probe
cc -O2 -Wall -Wextra -o "$bin.tmp.$$" "$src"
mv -f "$bin.tmp.$$" "$bin"
