#!/usr/bin/env bash
# Builds the project's one small native helper, dist/native/os-helper.node (src/env/native/os-helper.c:
# dup/dup2/close to hide TensorFlow's start-up log lines, a global dlopen to preload CUDA libraries
# on the GPU routes), with the system C compiler. Skips the build when the output is newer than the
# source. Without a compiler it only warns: the helper is optional (TensorFlow's start-up lines may
# then show; the GPU routes then need LD_LIBRARY_PATH set before Node starts).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/src/env/native/os-helper.c"
out="$root/dist/native/os-helper.node"
[ -f "$out" ] && [ "$out" -nt "$src" ] && exit 0
cc=${CC:-cc}
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "[build-native] WARNING: no C compiler ($cc): dist/native/os-helper.node not built; TensorFlow's start-up lines may show" >&2
  exit 0
fi
mkdir -p "$(dirname "$out")"
"$cc" -O2 -Wall -Wextra -shared -fPIC -fvisibility=hidden -o "$out.tmp.$$" "$src"
mv -f "$out.tmp.$$" "$out"
