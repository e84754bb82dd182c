#!/usr/bin/env bash
# Installs the native TensorFlow binding of @tensorflow/tfjs-node (CPU) so training runs at C speed.
#
# Routes, tried in this order (MRI2CT_TF_ROUTE=auto, the default):
#   1. LIBTENSORFLOW_DIR=<dir> set: build the binding against <dir>/lib/libtensorflow*.so* and
#      <dir>/include (a libtensorflow C release unpacked by the user).
#   2. tfjs-node's own installer (downloads libtensorflow; works on machines with internet).
#   3. Offline: the TensorFlow C library inside the tensorflow-cpu pip wheel (pip may serve it
#      from a local index or a wheel cache), then node-gyp builds the binding against it.
# MRI2CT_TF_ROUTE=libdir|download|wheel forces one route.
# Idempotent: does nothing when the binding already loads. It must not touch anything outside
# node_modules/@tensorflow/tfjs-node and its own cache folder.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
pkg="$root/node_modules/@tensorflow/tfjs-node"
route="${MRI2CT_TF_ROUTE:-auto}"
tf_version="${MRI2CT_TF_WHEEL_VERSION:-2.21.0}"
cache="${MRI2CT_CACHE_HOME:-$HOME/.cache/mri2ct}"

log() { printf '[setup-tfjs] %s\n' "$*"; }

binding_loads() {
  (cd "$root" && node -e "require('@tensorflow/tfjs-node')" >/dev/null 2>&1)
}

if [ ! -d "$pkg" ]; then
  log "ERROR: $pkg is missing: run 'npm ci --ignore-scripts' first (scripts/setup.sh does)."
  exit 1
fi

if binding_loads; then
  log "tfjs-node binding already loads: nothing to do."
  exit 0
fi

node_gyp() {
  local gyp nodedir
  nodedir=$(npm config get nodedir 2>/dev/null || true)
  case "$nodedir" in ""|undefined|null) ;; *) set -- "$@" --nodedir="$nodedir" ;; esac
  gyp="$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
  if [ -f "$gyp" ]; then node "$gyp" "$@"; else npx --yes node-gyp "$@"; fi
}

napi_dir() {
  (cd "$pkg" && node -e "
    const v = require('./package.json').binary.napi_versions;
    const have = Number(process.versions.napi);
    console.log('lib/napi-v' + Math.max(...v.filter((x) => x <= have)));")
}

# Builds the binding against deps/include + deps/lib already in place.
build_binding() {
  local module_path
  module_path="$pkg/$(napi_dir)"
  log "building tfjs_binding with node-gyp into $module_path"
  (cd "$pkg" && node_gyp rebuild --module_name=tfjs_binding --module_path="$module_path" >"$cache/node-gyp.log" 2>&1) || {
    log "ERROR: node-gyp failed; see $cache/node-gyp.log"; tail -20 "$cache/node-gyp.log"; return 1; }
}

# Places a C library (libtensorflow_cc.so.2 exporting the C API + libtensorflow_framework.so.2)
# and headers into deps/.
stage_deps() {
  local libdir="$1" incdir="$2" cc="$3"
  rm -rf "$pkg/deps"
  mkdir -p "$pkg/deps/lib" "$pkg/deps/include"
  cp -a "$incdir/." "$pkg/deps/include/"
  cp -L "$libdir/libtensorflow_framework.so.2" "$pkg/deps/lib/"
  ln -sf libtensorflow_framework.so.2 "$pkg/deps/lib/libtensorflow_framework.so"
  cp -L "$cc" "$pkg/deps/lib/libtensorflow.so.2"
  ln -sf libtensorflow.so.2 "$pkg/deps/lib/libtensorflow.so"
  ln -sf libtensorflow.so.2 "$pkg/deps/lib/libtensorflow_cc.so.2"
}

route_libdir() {
  local d="${LIBTENSORFLOW_DIR:?LIBTENSORFLOW_DIR is not set}"
  local lib
  lib=$(ls "$d"/lib/libtensorflow.so.2* "$d"/lib/libtensorflow_cc.so.2* 2>/dev/null | head -1 || true)
  if [ -z "$lib" ] || [ ! -f "$d/lib/libtensorflow_framework.so.2" ] || [ ! -f "$d/include/tensorflow/c/c_api.h" ]; then
    log "ERROR: LIBTENSORFLOW_DIR=$d must hold lib/libtensorflow.so.2 (or libtensorflow_cc.so.2), lib/libtensorflow_framework.so.2 and include/tensorflow/c/c_api.h"
    return 1
  fi
  stage_deps "$d/lib" "$d/include" "$lib"
  build_binding
}

route_download() {
  log "trying tfjs-node's own installer (needs internet)"
  (cd "$pkg" && timeout 600 node scripts/install.js >"$cache/tfjs-install.log" 2>&1)
}

route_wheel() {
  local wheels="$cache/wheels" unpacked="$cache/tensorflow-cpu-$tf_version"
  mkdir -p "$wheels"
  if [ ! -f "$unpacked/.complete" ]; then
    local whl
    whl=$(ls "$wheels"/tensorflow_cpu-"$tf_version"-*.whl 2>/dev/null | head -1 || true)
    if [ -z "$whl" ]; then
      log "fetching the tensorflow-cpu==$tf_version wheel with pip (no dependencies)"
      local pip
      pip=$(command -v pip3 || command -v pip || echo "python3 -m pip")
      $pip download --no-deps --retries 0 --only-binary=:all: --python-version 3.11 \
        --platform manylinux_2_27_x86_64 --platform manylinux2014_x86_64 \
        -d "$wheels" "tensorflow-cpu==$tf_version" >"$cache/pip.log" 2>&1 || {
          log "ERROR: pip could not fetch tensorflow-cpu==$tf_version (see $cache/pip.log)."
          log "Fix: give pip an index that has it, or set LIBTENSORFLOW_DIR to an unpacked libtensorflow."
          return 1; }
      whl=$(ls "$wheels"/tensorflow_cpu-"$tf_version"-*.whl | head -1)
    fi
    log "unpacking the C library and headers from $(basename "$whl")"
    rm -rf "$unpacked.tmp" && mkdir -p "$unpacked.tmp"
    python3 - "$whl" "$unpacked.tmp" <<'PY'
import sys, zipfile
whl, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        if n.startswith('tensorflow/include/') or n in (
            'tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'):
            z.extract(n, out)
PY
    rm -rf "$unpacked" && mv "$unpacked.tmp" "$unpacked" && touch "$unpacked/.complete"
  fi
  stage_deps "$unpacked/tensorflow" "$unpacked/tensorflow/include" "$unpacked/tensorflow/libtensorflow_cc.so.2"
  build_binding
}

mkdir -p "$cache"
case "$route" in
  libdir) route_libdir ;;
  download) route_download ;;
  wheel) route_wheel ;;
  auto)
    if [ -n "${LIBTENSORFLOW_DIR:-}" ]; then route_libdir
    elif route_download && binding_loads; then log "installed by tfjs-node's installer"
    else log "download route unavailable (offline?); using the pip wheel route"; route_wheel
    fi ;;
  *) log "ERROR: MRI2CT_TF_ROUTE must be auto|libdir|download|wheel, not '$route'"; exit 1 ;;
esac

if binding_loads; then
  log "tfjs-node binding OK"
else
  log "ERROR: the tfjs-node binding still does not load:"
  (cd "$root" && node -e "require('@tensorflow/tfjs-node')") 2>&1 | tail -5 || true
  exit 1
fi
