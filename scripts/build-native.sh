#!/usr/bin/env bash
# Builds the project's one small native helper, dist/native/fd-dup.node (dup/dup2/close for
# hiding TensorFlow's start-up log lines; src/env/native/fd-dup.c), with the system C compiler.
# Skips the build when the output is newer than the source. Without a compiler it only warns:
# the helper is optional (TensorFlow's start-up lines then stay visible in some set-ups).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
src="$root/src/env/native/fd-dup.c"
out="$root/dist/native/fd-dup.node"
[ -f "$out" ] && [ "$out" -nt "$src" ] && exit 0
cc=${CC:-cc}
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "[build-native] WARNING: no C compiler ($cc): dist/native/fd-dup.node not built; TensorFlow's start-up lines may show" >&2
  exit 0
fi
mkdir -p "$(dirname "$out")"
"$cc" -O2 -Wall -Wextra -shared -fPIC -fvisibility=hidden -o "$out.tmp.$$" "$src"
mv -f "$out.tmp.$$" "$out"
