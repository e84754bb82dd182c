#!/usr/bin/env bash
# One-shot, idempotent set-up of a fresh machine (Debian/Ubuntu, Node 20) for mri2ct; both README
# commands run it first, and it takes a few seconds once everything is in place.
#   1. Debian packages: canvas build deps, Jupyter (nbconvert/nbclient/ipykernel), h5py + nibabel
#      for the interop tests, the classic notebook server and Chromium for the browser test,
#      dcm2niix and pydicom as DICOM references for the reader tests.
#   2. npm ci from the committed lockfile (install scripts off: tfjs-node's would download
#      libtensorflow), then the native addons: canvas and zeromq (tslab) rebuilt, and the
#      TensorFlow binding via scripts/setup-tfjs.sh (offline route included).
#   3. The tslab Jupyter kernel, registered against this checkout's tslab; JupyterLab (pip) in the
#      project-local virtual environment .venv-jupyter/ with the kernel registered there too
#      (`npm run lab`, test/jupyterlab.test.ts).
#   4. The TypeScript build (dist/), which the CLI and the notebooks load, the minified plotly.js
#      the notebooks inline (scripts/minify-plotly.js, dist/vendor/), and the small native
#      helper dist/native/os-helper.node (scripts/build-native.sh: hides TensorFlow's start-up lines).
# Environment: MRI2CT_SKIP_APT=1 skips step 1 (e.g. no root; install the packages yourself);
# MRI2CT_SKIP_JUPYTERLAB=1 skips the JupyterLab virtual environment.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
t0=$(date +%s)
log() { printf '[setup] %s\n' "$*"; }

APT_PACKAGES=(
  build-essential pkg-config python3 unzip
  libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev
  jupyter-nbconvert python3-nbclient python3-ipykernel
  python3-h5py python3-nibabel
  jupyter-notebook chromium
  dcm2niix python3-pydicom
)

# --- 1. Debian packages ---------------------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ] && [ "${MRI2CT_SKIP_APT:-0}" != 1 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null; then sudo="sudo"; else
      log "ERROR: missing Debian packages (${missing[*]}) and not root: install them, then rerun with MRI2CT_SKIP_APT=1"
      exit 1
    fi
  fi
  log "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/tmp/mri2ct-apt.log 2>&1 || {
    log "ERROR: apt-get install failed; see /tmp/mri2ct-apt.log"; tail -20 /tmp/mri2ct-apt.log; exit 1; }
else
  log "Debian packages present"
fi

# --- 2. npm packages and native addons -------------------------------------------------------
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.mri2ct-lock.sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  log "npm ci (lockfile changed or first install)"
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  echo "$lock_hash" >"$stamp"
else
  log "node_modules up to date with package-lock.json"
fi
if ! node -e "require('canvas'); require('zeromq')" >/dev/null 2>&1; then
  log "building native addons: canvas, zeromq"
  npm rebuild canvas zeromq --no-audit --no-fund --loglevel=error >/tmp/mri2ct-rebuild.log 2>&1 || {
    log "ERROR: npm rebuild canvas zeromq failed; see /tmp/mri2ct-rebuild.log"; tail -20 /tmp/mri2ct-rebuild.log; exit 1; }
fi
bash scripts/setup-tfjs.sh

# --- 3. tslab Jupyter kernel -----------------------------------------------------------------
tslab_bin="$root/node_modules/.bin/tslab"
if /usr/bin/python3 -c 'import jupyter_client' 2>/dev/null; then
  kernel_json=$(/usr/bin/python3 -c 'from jupyter_client.kernelspec import KernelSpecManager as K
d = K().find_kernel_specs().get("tslab"); print(d + "/kernel.json" if d else "")')
  if [ -z "$kernel_json" ] || ! grep -qF "\"$tslab_bin\"" "$kernel_json"; then
    log "registering the tslab Jupyter kernel ($tslab_bin)"
    "$tslab_bin" install --python=/usr/bin/python3 --binary="$tslab_bin" >/dev/null
  else
    log "tslab kernel registered"
  fi
else
  log "WARNING: jupyter not found; notebooks cannot run (install jupyter-nbconvert)"
fi

# JupyterLab (Debian 12 does not package it): a virtual environment of its own, from pip's
# configured index; the tslab kernel registered into it (--sys-prefix), so that this JupyterLab
# sees it whatever the user's registrations are.
venv="$root/.venv-jupyter"
if [ "${MRI2CT_SKIP_JUPYTERLAB:-0}" = 1 ]; then
  log "JupyterLab skipped (MRI2CT_SKIP_JUPYTERLAB=1)"
else
  if "$venv/bin/jupyter-lab" --version >/dev/null 2>&1; then
    log "JupyterLab present ($("$venv/bin/jupyter-lab" --version) in .venv-jupyter/)"
  else
    log "installing JupyterLab into .venv-jupyter/ (pip)"
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install --retries 0 --quiet jupyterlab >/tmp/mri2ct-jupyterlab.log 2>&1 || {
      log "ERROR: pip install jupyterlab failed; see /tmp/mri2ct-jupyterlab.log (MRI2CT_SKIP_JUPYTERLAB=1 skips it)"
      tail -20 /tmp/mri2ct-jupyterlab.log; exit 1; }
  fi
  lab_kernel="$venv/share/jupyter/kernels/tslab/kernel.json"
  if [ ! -f "$lab_kernel" ] || ! grep -qF "\"$tslab_bin\"" "$lab_kernel"; then
    log "registering the tslab kernel in .venv-jupyter/"
    "$tslab_bin" install --python="$venv/bin/python" --sys-prefix --binary="$tslab_bin" >/dev/null
  fi
  "$venv/bin/jupyter" kernelspec list 2>/dev/null | grep -q "^ *tslab " || {
    log "ERROR: .venv-jupyter's Jupyter does not list the tslab kernel"; exit 1; }
fi

# --- 4. build --------------------------------------------------------------------------------
log "building TypeScript (dist/)"
node node_modules/typescript/bin/tsc -p tsconfig.json
node scripts/minify-plotly.js
bash scripts/build-native.sh
log "done in $(( $(date +%s) - t0 )) s"
