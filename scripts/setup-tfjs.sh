#!/usr/bin/env bash
# Installs the native TensorFlow binding of @tensorflow/tfjs-node so training runs at C speed, on
# the GPU where there is one.
#
# GPU routes, tried first when nvidia-smi lists a GPU (or when MRI2CT_TF_ROUTE names one), in order:
#   libdir             LIBTENSORFLOW_DIR=<dir> set: a libtensorflow the user unpacked (GPU or not).
#   gpu-wheel          the binding built against a GPU TensorFlow already on the machine: the Python
#                      `tensorflow` package (Colab preinstalls one; not `tensorflow-cpu`), whose
#                      libtensorflow_cc.so.2 exports the C API like the CPU wheel's; CUDA 12 from the
#                      system or from pip's nvidia-*-cu12 packages.
#   gpu-libtensorflow  tfjs-node-gpu's own libtensorflow 2.9.1 (CUDA 11.2, cuDNN 8.1), downloaded, with
#                      the CUDA 11 runtime libraries from pip (nvidia-*-cu11, cuDNN 8.x) installed into
#                      the cache folder.
#   Each GPU route writes deps/mri2ct-cuda-preload.txt (the CUDA libraries the binding preloads by
#   path, src/env/cuda-preload.ts; no LD_LIBRARY_PATH needed) and deps/mri2ct-route.txt, then checks
#   that TensorFlow lists the GPU; if none does, the CPU routes run and say so.
# CPU routes (no GPU, or every GPU route failed), in order:
#   libdir             as above.
#   download           tfjs-node's own installer (downloads libtensorflow; needs internet).
#   wheel              offline: the C library inside the tensorflow-cpu pip wheel (pip may serve it
#                      from a local index or a wheel cache), then node-gyp builds the binding.
# MRI2CT_TF_ROUTE=auto (default) | gpu (GPU routes only) | libdir | gpu-wheel | gpu-libtensorflow |
#   download | wheel forces a route. MRI2CT_TF_PLAN=1 (or --plan) prints the route it would take
#   and every command it would run, and changes nothing.
# Every route that builds the binding first applies scripts/tfjs-binding/*.patch (the side stream
# --use_amp uses; scripts/tfjs-binding/README.md).
# Idempotent: does nothing when the binding already loads (and, with a GPU visible, uses it) with
# the patches in; one that loads without them is rebuilt against its deps/. It must not touch
# anything outside node_modules/@tensorflow/tfjs-node and its own cache folder.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
pkg="$root/node_modules/@tensorflow/tfjs-node"
route="${MRI2CT_TF_ROUTE:-auto}"
tf_version="${MRI2CT_TF_WHEEL_VERSION:-2.21.0}"
gpu_tf_version="2.9.1"  # what tfjs-node-gpu 4.22 downloads
gpu_tf_url="${MRI2CT_TF_GPU_URL:-https://storage.googleapis.com/tensorflow/libtensorflow/libtensorflow-gpu-linux-x86_64-$gpu_tf_version.tar.gz}"
cache="${MRI2CT_CACHE_HOME:-$HOME/.cache/mri2ct}"
plan="${MRI2CT_TF_PLAN:-0}"
for a in "$@"; do
  case "$a" in
    --plan) plan=1 ;;
    *) printf '[setup-tfjs] ERROR: unknown argument %s (only --plan)\n' "$a" >&2; exit 2 ;;
  esac
done
py=$(command -v python3 || echo python3)
pip_cmd() { if command -v pip3 >/dev/null 2>&1; then pip3 "$@"; else "$py" -m pip "$@"; fi; }

log() { printf '[setup-tfjs] %s\n' "$*"; }
# Runs a command, or with the plan only prints it.
act() {
  if [ "$plan" = 1 ]; then log "  would run: ${*/#pip_cmd/pip}"; else "$@"; fi
}

binding_loads() {
  (cd "$root" && node -e "require('@tensorflow/tfjs-node')" >/dev/null 2>&1)
}
# The binding loads and TensorFlow lists a GPU (with the route's CUDA libraries on the path).
binding_on_gpu() {
  local ld=""
  [ -f "$pkg/deps/mri2ct-cuda-preload.txt" ] && ld=$(grep -v '^#' "$pkg/deps/mri2ct-cuda-preload.txt" | xargs -r -n1 dirname | sort -u | paste -sd: -)
  (cd "$root" && LD_LIBRARY_PATH="$ld${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" TF_CPP_MIN_LOG_LEVEL="${1:-2}" node -e "
    const tf = require('@tensorflow/tfjs-node');
    process.exit(tf.backend().isUsingGpuDevice === true ? 0 : 3)" 2>&1)
}

if [ ! -d "$pkg" ]; then
  log "ERROR: $pkg is missing: run 'npm ci --ignore-scripts' first (scripts/setup.sh does)."
  exit 1
fi

# --- is there a GPU ---------------------------------------------------------------------------
gpu_name=""
if command -v nvidia-smi >/dev/null 2>&1; then
  gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)
fi
case "$route" in gpu|gpu-wheel|gpu-libtensorflow) want_gpu=1 ;; auto) [ -n "$gpu_name" ] && want_gpu=1 || want_gpu=0 ;; *) want_gpu=0 ;; esac
if [ -n "$gpu_name" ]; then log "GPU visible: $gpu_name (nvidia-smi)"; else log "no GPU visible (nvidia-smi missing or lists none)"; fi
[ "$plan" = 1 ] && log "plan only (MRI2CT_TF_PLAN=1): nothing is changed"

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

# Applies scripts/tfjs-binding/*.patch to the binding's C++ source (once; git apply outside any
# repository, so the project's own checkout is not involved). See scripts/tfjs-binding/README.md.
# Whether the headers in deps/include have what patch $1 requires (see below; true without a line).
patch_supported() {
  local req hdr text
  req=$(sed -n 's/^Requires: //p' "$1" | head -1)
  [ -z "$req" ] && return 0
  hdr=${req%%: *}; text=${req#*: }
  grep -qF "$text" "$pkg/deps/include/$hdr" 2>/dev/null
}

# A patch's "Requires: <header under deps/include>: <text>" line names what the TensorFlow headers
# must declare for it to compile (older C APIs lack it, e.g. libtensorflow 2.9.1 of the
# gpu-libtensorflow route); without it the patch is left out (and taken back out if applied).
patch_binding() {
  local p git_apply req applied
  git_apply() { (cd "$pkg" && GIT_CEILING_DIRECTORIES="$(dirname "$pkg")" git apply "$@"); }
  for p in "$root"/scripts/tfjs-binding/*.patch; do
    applied=0; git_apply --reverse --check "$p" >/dev/null 2>&1 && applied=1
    if [ "$plan" != 1 ] && ! patch_supported "$p"; then
      req=$(sed -n 's/^Requires: //p' "$p" | head -1)
      log "this TensorFlow's ${req%%: *} lacks '${req#*: }': building the binding without $(basename "$p")"
      if [ "$applied" = 1 ]; then git_apply --reverse "$p" || { log "ERROR: could not take $p back out of $pkg/binding"; return 1; }; fi
      continue
    fi
    [ "$applied" = 1 ] && continue
    if [ "$plan" = 1 ]; then log "  would apply $(basename "$p") to $pkg/binding"; continue; fi
    git_apply "$p" || { log "ERROR: could not apply $p to $pkg/binding (a tfjs-node other than 4.22?)"; return 1; }
    log "applied $(basename "$p") to the binding source"
  done
}

# The binding that loads has the side stream of scripts/tfjs-binding/side-stream.patch.
binding_has_side_stream() {
  (cd "$root" && node -e "
    const tf = require('@tensorflow/tfjs-node');
    process.exit(typeof tf.backend().binding.executeOpSide === 'function' ? 0 : 3)" >/dev/null 2>&1)
}

# Builds the binding (patched) against deps/include + deps/lib already in place.
build_binding() {
  local module_path
  module_path="$pkg/$(napi_dir)"
  patch_binding || return 1
  if [ "$plan" = 1 ]; then log "  would run: (cd $pkg && node-gyp rebuild --module_name=tfjs_binding --module_path=$module_path)"; return 0; fi
  mkdir -p "$cache"
  log "building tfjs_binding with node-gyp into $module_path"
  (cd "$pkg" && node_gyp rebuild --module_name=tfjs_binding --module_path="$module_path" >"$cache/node-gyp.log" 2>&1) || {
    log "ERROR: node-gyp failed; see $cache/node-gyp.log"; tail -20 "$cache/node-gyp.log"; return 1; }
}

# Places a C library (libtensorflow_cc.so.2 exporting the C API + libtensorflow_framework.so.2)
# and headers into deps/.
stage_deps() {
  local libdir="$1" incdir="$2" cc="$3"
  if [ "$plan" = 1 ]; then log "  would run: stage $cc, $libdir/libtensorflow_framework.so.2 and $incdir into $pkg/deps"; return 0; fi
  rm -rf "$pkg/deps"
  mkdir -p "$pkg/deps/lib" "$pkg/deps/include"
  cp -a "$incdir/." "$pkg/deps/include/"
  cp -L "$libdir/libtensorflow_framework.so.2" "$pkg/deps/lib/"
  ln -sf libtensorflow_framework.so.2 "$pkg/deps/lib/libtensorflow_framework.so"
  cp -L "$cc" "$pkg/deps/lib/libtensorflow.so.2"
  ln -sf libtensorflow.so.2 "$pkg/deps/lib/libtensorflow.so"
  ln -sf libtensorflow.so.2 "$pkg/deps/lib/libtensorflow_cc.so.2"
}

# Records how the binding was built (first line: route, then details), read by check-env.
record_route() {
  if [ "$plan" = 1 ]; then log "  would write $pkg/deps/mri2ct-route.txt: $*"; return 0; fi
  printf '%s\n' "$@" >"$pkg/deps/mri2ct-route.txt"
}

# Writes the CUDA libraries (absolute paths, dependency order) the binding preloads.
# $1: CUDA major (11|12); $2...: folders holding pip's nvidia-* packages (site-packages/nvidia).
write_preload() {
  local major="$1"; shift
  local names="libcudart.so.$major libcublasLt.so.$major libcublas.so.$major"
  if [ "$major" = 11 ]; then names="libcudart.so.11.0 libcublasLt.so.11 libcublas.so.11 libcufft.so.10 libcurand.so.10 libcusparse.so.11 libcusolver.so.11 libcudnn.so.8"
  else names="$names libcufft.so.11 libcusparse.so.12 libcusolver.so.11 libcudnn.so.9 libcudnn.so.8"; fi
  local list="" n d f missing=""
  for n in $names; do
    f=""
    for d in "$@"; do
      f=$(ls "$d"/*/lib/"$n" 2>/dev/null | head -1 || true)
      [ -n "$f" ] && break
    done
    if [ -n "$f" ]; then list="$list$f"$'\n'
    elif [ "$major" = 12 ] && [ "$n" = libcudnn.so.8 ]; then :   # only one cuDNN major is needed
    else missing="$missing $n"; fi
  done
  # cuDNN opens its sub-libraries itself; preload them too (same folder).
  for f in $(printf '%s' "$list" | grep 'libcudnn\.so' || true); do
    for d in "$(dirname "$f")"/libcudnn_*.so.*; do [ -f "$d" ] && list="$list$d"$'\n'; done
  done
  if [ "$plan" = 1 ] && [ -z "$list" ] && ! ls -d "$@" >/dev/null 2>&1; then
    log "  would write $pkg/deps/mri2ct-cuda-preload.txt from $* once installed: $names"; return 0
  fi
  if [ -n "$missing" ]; then log "  not in pip's nvidia packages (the system must provide them):$missing"; fi
  if [ "$plan" = 1 ]; then
    log "  would write $pkg/deps/mri2ct-cuda-preload.txt: $(printf '%s' "$list" | grep -c . || true) libraries"
    printf '%s' "$list" | sed 's/^/[setup-tfjs]     /'
  else
    printf '# CUDA libraries preloaded before the binding (scripts/setup-tfjs.sh)\n%s' "$list" >"$pkg/deps/mri2ct-cuda-preload.txt"
  fi
}

route_libdir() {
  local d="${LIBTENSORFLOW_DIR:?LIBTENSORFLOW_DIR is not set}"
  local lib
  lib=$(ls "$d"/lib/libtensorflow.so.2* "$d"/lib/libtensorflow_cc.so.2* 2>/dev/null | head -1 || true)
  if [ -z "$lib" ] || [ ! -f "$d/lib/libtensorflow_framework.so.2" ] || [ ! -f "$d/include/tensorflow/c/c_api.h" ]; then
    log "ERROR: LIBTENSORFLOW_DIR=$d must hold lib/libtensorflow.so.2 (or libtensorflow_cc.so.2), lib/libtensorflow_framework.so.2 and include/tensorflow/c/c_api.h"
    return 1
  fi
  log "route libdir: $d"
  stage_deps "$d/lib" "$d/include" "$lib"
  build_binding
  record_route "libdir $d"
}

# The Python `tensorflow` package (GPU build on Linux; not tensorflow-cpu): "<dir> <version>".
python_gpu_tensorflow() {
  "$py" - <<'PY' 2>/dev/null
import importlib.util, importlib.metadata as md, os
spec = importlib.util.find_spec("tensorflow")
if spec and spec.submodule_search_locations:
    d = list(spec.submodule_search_locations)[0]
    try:
        v = md.version("tensorflow")
    except md.PackageNotFoundError:
        v = ""
    if v and os.path.isfile(os.path.join(d, "libtensorflow_cc.so.2")) and os.path.isfile(os.path.join(d, "include", "tensorflow", "c", "c_api.h")):
        print(d, v)
PY
}

route_gpu_wheel() {
  local found d v sp
  found=$(python_gpu_tensorflow || true)
  if [ -z "$found" ]; then
    log "route gpu-wheel: no GPU build of the Python tensorflow package here ($py: 'pip install tensorflow' is one)"
    return 1
  fi
  d=${found% *}; v=${found##* }
  sp=$(dirname "$d")
  log "route gpu-wheel: TensorFlow $v at $d (C API in libtensorflow_cc.so.2), CUDA 12 from the system or $sp/nvidia"
  stage_deps "$d" "$d/include" "$d/libtensorflow_cc.so.2"
  build_binding
  record_route "gpu-wheel tensorflow $v" "$d"
  write_preload 12 "$sp/nvidia"
}

route_gpu_libtensorflow() {
  local dir="$cache/libtensorflow-gpu-$gpu_tf_version" cuda="$cache/cuda11"
  log "route gpu-libtensorflow: tfjs-node-gpu's libtensorflow $gpu_tf_version (CUDA 11.2, cuDNN 8.1) with pip's CUDA 11 libraries in $cuda"
  if [ ! -f "$dir/.complete" ]; then
    act mkdir -p "$dir.tmp"
    if [ "$plan" = 1 ]; then log "  would run: curl -fsSL $gpu_tf_url | tar -xz -C $dir.tmp"
    else
      log "downloading $gpu_tf_url"
      curl -fsSL --retry 2 "$gpu_tf_url" | tar -xz -C "$dir.tmp" || { log "ERROR: could not download $gpu_tf_url (offline? MRI2CT_TF_GPU_URL names another copy)"; return 1; }
      rm -rf "$dir" && mv "$dir.tmp" "$dir" && touch "$dir/.complete"
    fi
  fi
  if [ ! -f "$cuda/.complete" ]; then
    act pip_cmd install --quiet --target "$cuda" nvidia-cuda-runtime-cu11 'nvidia-cudnn-cu11>=8.1,<9' nvidia-cublas-cu11 nvidia-cufft-cu11 nvidia-curand-cu11 nvidia-cusolver-cu11 nvidia-cusparse-cu11 || {
      log "ERROR: pip could not install the CUDA 11 runtime packages"; return 1; }
    act touch "$cuda/.complete"
  fi
  stage_deps "$dir/lib" "$dir/include" "$dir/lib/libtensorflow.so.2"
  build_binding
  record_route "gpu-libtensorflow libtensorflow-gpu $gpu_tf_version" "$gpu_tf_url"
  write_preload 11 "$cuda/nvidia"
}

route_download() {
  log "route download: tfjs-node's own installer (needs internet)"
  if [ "$plan" = 1 ]; then log "  would run: (cd $pkg && node scripts/install.js)"; return 0; fi
  (cd "$pkg" && timeout 600 node scripts/install.js >"$cache/tfjs-install.log" 2>&1) && record_route "download"
}

route_wheel() {
  local wheels="$cache/wheels" unpacked="$cache/tensorflow-cpu-$tf_version"
  log "route wheel: the C library of the tensorflow-cpu==$tf_version pip wheel"
  if [ "$plan" = 1 ]; then
    [ -f "$unpacked/.complete" ] || log "  would run: pip download --no-deps tensorflow-cpu==$tf_version, unpack tensorflow/libtensorflow_cc.so.2, libtensorflow_framework.so.2, include/"
    stage_deps "$unpacked/tensorflow" "$unpacked/tensorflow/include" "$unpacked/tensorflow/libtensorflow_cc.so.2"
    build_binding
    record_route "wheel tensorflow-cpu $tf_version"
    return 0
  fi
  mkdir -p "$wheels"
  if [ ! -f "$unpacked/.complete" ]; then
    local whl
    whl=$(ls "$wheels"/tensorflow_cpu-"$tf_version"-*.whl 2>/dev/null | head -1 || true)
    if [ -z "$whl" ]; then
      log "fetching the tensorflow-cpu==$tf_version wheel with pip (no dependencies)"
      pip_cmd download --no-deps --retries 0 --only-binary=:all: --python-version 3.11 \
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
  record_route "wheel tensorflow-cpu $tf_version"
}

# A GPU route counts only when TensorFlow then lists the GPU; its own log says what it missed.
gpu_route() {
  local name="$1" out
  "route_${name//-/_}" || return 1
  [ "$plan" = 1 ] && { log "  would check: the binding loads and TensorFlow lists the GPU"; return 0; }
  if out=$(binding_on_gpu 0); then log "route $name: TensorFlow lists the GPU"; return 0; fi
  log "route $name: built, but TensorFlow does not list the GPU:"
  printf '%s\n' "$out" | grep -iE 'could not load|cannot dlopen|dlerror|cuda|cudnn' | head -8 | sed 's/^/[setup-tfjs]   /' || true
  return 1
}

cpu_routes() {
  if [ -n "${LIBTENSORFLOW_DIR:-}" ]; then route_libdir
  elif [ "$plan" = 1 ]; then route_download; log "  if that fails (offline):"; route_wheel
  elif route_download && binding_loads; then log "installed by tfjs-node's installer"
  else log "download route unavailable (offline?); using the pip wheel route"; route_wheel
  fi
}

# --- already installed? ---------------------------------------------------------------------
if binding_loads; then
  if [ "$want_gpu" = 0 ] || binding_on_gpu >/dev/null; then
    on=""; [ "$want_gpu" = 1 ] && on=" and TensorFlow lists the GPU"
    if binding_has_side_stream; then
      log "tfjs-node binding already loads$on: nothing to do."
      exit 0
    fi
    if [ -f "$pkg/deps/include/tensorflow/c/c_api.h" ] && [ -f "$pkg/deps/lib/libtensorflow.so" ] && ! patch_supported "$root/scripts/tfjs-binding/side-stream.patch"; then
      log "tfjs-node binding loads$on; its TensorFlow C API predates the side stream (scripts/tfjs-binding/README.md): nothing to do."
      exit 0
    fi
    if [ -f "$pkg/deps/include/tensorflow/c/c_api.h" ] && [ -f "$pkg/deps/lib/libtensorflow.so" ]; then
      log "tfjs-node binding loads$on but lacks the side stream (scripts/tfjs-binding/side-stream.patch): rebuilding it against $pkg/deps"
      build_binding && binding_loads && binding_has_side_stream && { log "tfjs-node binding rebuilt with the side stream"; exit 0; }
      [ "$plan" = 1 ] && exit 0
      log "ERROR: the rebuilt binding does not load or lacks the side stream; see $cache/node-gyp.log"
      exit 1
    fi
    log "tfjs-node binding loads$on (prebuilt: no side stream, --use_amp runs its dW convs in line): nothing to do."
    exit 0
  else
    log "tfjs-node binding loads but runs on the CPU ($(head -1 "$pkg/deps/mri2ct-route.txt" 2>/dev/null || echo 'route not recorded')): taking the GPU routes"
  fi
fi

act mkdir -p "$cache"
case "$route" in
  libdir) route_libdir ;;
  download) route_download ;;
  wheel) route_wheel ;;
  gpu-wheel|gpu-libtensorflow) gpu_route "$route" || { log "ERROR: route $route did not give a GPU binding"; exit 1; } ;;
  gpu|auto)
    done_gpu=0
    if [ "$want_gpu" = 1 ]; then
      for r in $( [ -n "${LIBTENSORFLOW_DIR:-}" ] && echo libdir ) gpu-wheel gpu-libtensorflow; do
        if gpu_route "$r"; then done_gpu=1; break; fi
        [ "$plan" = 1 ] || log "route $r did not give a GPU binding; next route"
      done
      if [ "$done_gpu" = 0 ] && [ "$route" = gpu ]; then log "ERROR: no GPU route worked"; exit 1; fi
      [ "$done_gpu" = 0 ] && log "WARNING: no GPU route worked: installing the CPU binding (check-env will report the GPU as unused)"
    fi
    [ "$done_gpu" = 1 ] || cpu_routes ;;
  *) log "ERROR: MRI2CT_TF_ROUTE must be auto|gpu|libdir|gpu-wheel|gpu-libtensorflow|download|wheel, not '$route'"; exit 1 ;;
esac

[ "$plan" = 1 ] && { log "plan done"; exit 0; }
if binding_loads; then
  log "tfjs-node binding OK ($(head -1 "$pkg/deps/mri2ct-route.txt" 2>/dev/null || echo 'route not recorded'))"
else
  log "ERROR: the tfjs-node binding still does not load:"
  (cd "$root" && node -e "require('@tensorflow/tfjs-node')") 2>&1 | tail -5 || true
  exit 1
fi
