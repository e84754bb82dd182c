#!/usr/bin/env bash
# Prepares a machine (Google Colab first of all) to run mri2ct's TypeScript notebooks:
#   1. Node.js >= 20.9 (on Colab: installed when missing or older, with `n` or NodeSource);
#   2. the project (on Colab: git clone of MRI2CT_REPO_URL into /content/mri2ct when missing);
#   3. on Colab only: the Debian packages canvas builds against, and the tslab kernelspec "tslab"
#      registered through colab/tslab-kernel.js (works with Colab's IPC kernel transport and starts
#      in the project's notebooks/ folder) before set-up, so set-up keeps it;
#   4. `bash scripts/setup.sh` (npm packages, native addons, TensorFlow binding, tslab kernel,
#      build; the TensorFlow binding by the GPU route on a GPU runtime, the CPU route otherwise); on Colab with MRI2CT_SKIP_APT=1 (Colab has Jupyter already; set-up's other Debian
#      packages, chromium and the notebook server, are for this project's browser test);
#   5. a check (what --check does), then what to do next (on Colab: the kernel switch).
# Colab-only steps run only on Colab: COLAB_RELEASE_TAG set, or /content present with the
# google.colab Python package (MRI2CT_COLAB=1|0 overrides the detection).
#
# Usage: bash colab/bootstrap.sh [--dry-run | --check] [--help]
#   --dry-run  print every step it would take, change nothing
#   --check    verify an installed project (Node, build, TensorFlow route, tslab kernel round trip,
#              check-env); exit 1
#              when something is missing
# Environment: MRI2CT_REPO_URL (git URL to clone), MRI2CT_REF (branch or tag), MRI2CT_DIR (project
# directory; default: the checkout this script is in, else /content/mri2ct on Colab), MRI2CT_COLAB,
# MRI2CT_PYTHON (the Python with jupyter_client; default: python3 on PATH, then /usr/bin/python3),
# MRI2CT_KERNEL_PREFIX (Colab: register the kernel under <prefix>/share/jupyter instead of per user).
set -euo pipefail

mode=run
for a in "$@"; do
  case "$a" in
    --dry-run) mode=dry ;;
    --check) mode=check ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bootstrap: unknown argument $a (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '[bootstrap] %s\n' "$*"; }
die() { printf '[bootstrap] ERROR: %s\n' "$*" >&2; exit 1; }
# Runs a command, or only prints it with --dry-run.
run() {
  if [ "$mode" = dry ]; then log "would run: $*"; else log "+ $*"; "$@"; fi
}

# --- where are we ---------------------------------------------------------------------------
colab_reason=""
case "${MRI2CT_COLAB:-auto}" in
  1) colab=1; colab_reason="MRI2CT_COLAB=1" ;;
  0) colab=0; colab_reason="MRI2CT_COLAB=0" ;;
  *)
    colab=0
    if [ -n "${COLAB_RELEASE_TAG:-}" ]; then colab=1; colab_reason="COLAB_RELEASE_TAG=$COLAB_RELEASE_TAG"
    elif [ -d /content ] && python3 -c 'import google.colab' >/dev/null 2>&1; then colab=1; colab_reason="/content and google.colab present"
    else colab_reason="no COLAB_RELEASE_TAG, no /content with google.colab"; fi ;;
esac
if [ "$colab" = 1 ]; then log "environment: Google Colab ($colab_reason)"; else log "environment: not Colab ($colab_reason): Colab-only steps are skipped"; fi

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]:-.}")" && pwd)
is_project() { [ -f "$1/package.json" ] && grep -q '"name": "mri2ct"' "$1/package.json"; }
if [ -n "${MRI2CT_DIR:-}" ]; then project="$MRI2CT_DIR"
elif is_project "$script_dir/.."; then project=$(cd "$script_dir/.." && pwd)
elif [ "$colab" = 1 ]; then project=/content/mri2ct
else die "no project: run this script from an mri2ct checkout (bash colab/bootstrap.sh) or set MRI2CT_DIR"; fi
log "project: $project"

pick_python() {
  local p
  for p in "${MRI2CT_PYTHON:-}" python3 /usr/bin/python3; do
    [ -n "$p" ] && command -v "$p" >/dev/null 2>&1 && "$p" -c 'import jupyter_client' >/dev/null 2>&1 && { command -v "$p"; return; }
  done
  echo ""
}

node_ok() {  # Node >= 20.9 on PATH
  command -v node >/dev/null 2>&1 && node -e '
    const [a, b] = process.versions.node.split(".").map(Number);
    process.exit(a > 20 || (a === 20 && b >= 9) ? 0 : 1)' >/dev/null 2>&1
}

gpu_name=""
command -v nvidia-smi >/dev/null 2>&1 && gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1 || true)

# --- --check: verify, change nothing -------------------------------------------------------
if [ "$mode" = check ]; then
  fail=0
  ok() { printf '  ✅ %s\n' "$*"; }
  bad() { printf '  ❌ %s\n' "$*"; fail=1; }
  if node_ok; then ok "Node.js $(node --version) ($(command -v node))"; else bad "Node.js >= 20.9 not on PATH ($(node --version 2>/dev/null || echo none))"; fi
  if is_project "$project"; then ok "project at $project"; else bad "no mri2ct project at $project"; fi
  if [ -f "$project/dist/src/index.js" ]; then ok "library built (dist/src/index.js)"; else bad "dist/ not built: run bash scripts/setup.sh"; fi
  tf_route=$(head -1 "$project/node_modules/@tensorflow/tfjs-node/deps/mri2ct-route.txt" 2>/dev/null || echo "not recorded")
  if (cd "$project" 2>/dev/null && node -e "require('@tensorflow/tfjs-node')" >/dev/null 2>&1); then ok "TensorFlow binding loads (@tensorflow/tfjs-node; set-up route: $tf_route)"
  else printf '  ⚠️  %s\n' "TensorFlow binding does not load: training falls back to the slow pure-JavaScript backend"; fi
  if [ -n "$gpu_name" ]; then
    case "$tf_route" in gpu-*|libdir*) ok "GPU runtime ($gpu_name): the GPU route ran; check-env below proves TensorFlow uses it" ;;
      *) bad "GPU runtime ($gpu_name) but the binding came from the CPU route ($tf_route): rerun bash scripts/setup-tfjs.sh (MRI2CT_TF_PLAN=1 shows its plan)" ;; esac
  else ok "CPU runtime (no GPU listed by nvidia-smi): the CPU route"; fi
  py=$(pick_python)
  if [ -z "$py" ]; then bad "no Python with jupyter_client (Jupyter) found"
  else
    spec=$("$py" -c 'from jupyter_client.kernelspec import KernelSpecManager as K
d = K().find_kernel_specs().get("tslab"); print(d or "")')
    if [ -z "$spec" ]; then bad "no Jupyter kernel named tslab"
    elif ! grep -qF "$project/" "$spec/kernel.json"; then bad "kernel tslab ($spec) belongs to another checkout: $(tr -d '\n' <"$spec/kernel.json")"
    elif [ "$colab" = 1 ] && ! grep -qF 'colab/tslab-kernel.js' "$spec/kernel.json"; then bad "kernel tslab ($spec) is not the Colab (IPC-capable) launcher: rerun colab/bootstrap.sh"
    else ok "Jupyter kernel tslab: $spec"; fi
    # A real round trip: a one-cell TypeScript notebook that imports the built library, run by
    # Jupyter with the registered kernel (over IPC sockets on Colab, as Colab's runtime does).
    if [ -n "$spec" ] && [ -f "$project/dist/src/index.js" ]; then
      tmp=$(mktemp -d)
      "$py" - "$tmp/check.ipynb" "$project" <<'EOF'
import json, sys
src = ("import * as mri2ct from '%s/dist/src';\n"
       "console.log('mri2ct library loads in tslab: ' + Object.keys(mri2ct).length + ' exports, node ' + process.version);") % sys.argv[2]
nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "check", "metadata": {}, "outputs": [], "source": src}],
      "metadata": {"kernelspec": {"display_name": "TypeScript", "language": "typescript", "name": "tslab"}},
      "nbformat": 4, "nbformat_minor": 5}
json.dump(nb, open(sys.argv[1], "w"))
EOF
      transport=tcp; [ "$colab" = 1 ] && transport=ipc
      if (cd "$tmp" && timeout 180 "$py" -m nbconvert --to notebook --execute --ExecutePreprocessor.kernel_name=tslab \
            --ExecutePreprocessor.startup_timeout=60 --KernelManager.transport=$transport --output out.ipynb check.ipynb >"$tmp/log" 2>&1) \
         && line=$(grep -oE 'mri2ct library loads in tslab: [0-9]+ exports, node v[0-9.]+' "$tmp/out.ipynb"); then
        ok "kernel round trip ($transport): $line"
      else bad "the tslab kernel did not run a cell ($transport transport): $(tail -3 "$tmp/log" | tr '\n' ' ')"; fi
      rm -rf "$tmp"
    fi
  fi
  if [ -f "$project/dist/src/cli/main.js" ]; then
    envlog=$(mktemp)
    if (cd "$project" && node dist/src/cli/main.js check-env >"$envlog" 2>&1); then ok "mri2ct check-env passes"; rm -f "$envlog"
    else bad "mri2ct check-env fails: see $envlog"; tail -15 "$envlog"; fi
  fi
  [ "$fail" = 0 ] && log "check passed" || log "check FAILED"
  exit "$fail"
fi

# --- 1. Node.js ------------------------------------------------------------------------------
if node_ok; then
  log "step 1: Node.js $(node --version) is recent enough"
elif [ "$colab" = 1 ]; then
  log "step 1: Node.js $(node --version 2>/dev/null || echo missing) is older than 20.9: installing Node 20 (Colab only)"
  if command -v npm >/dev/null 2>&1; then
    run npm install -g --no-audit --no-fund n
    run n 20
  else
    if [ "$mode" = dry ]; then log "would run: curl -fsSL https://deb.nodesource.com/setup_20.x | bash -"
    else curl -fsSL https://deb.nodesource.com/setup_20.x | bash -; fi
    run apt-get install -y -qq nodejs
  fi
  if [ "$mode" = run ]; then
    hash -r
    for d in /usr/local/bin /usr/bin; do
      if [ -x "$d/node" ] && "$d/node" -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then export PATH="$d:$PATH"; break; fi
    done
    node_ok || die "Node 20 install did not take: $(command -v node) is $(node --version)"
    log "Node.js now $(node --version) at $(command -v node)"
  fi
else
  die "Node.js >= 20.9 is needed (found $(node --version 2>/dev/null || echo none)). Install Node 20 (e.g. from your distribution, NodeSource or nvm), then rerun. This script installs Node only on Colab."
fi

# --- 2. the project --------------------------------------------------------------------------
if is_project "$project"; then
  log "step 2: project present at $project"
elif [ "$colab" = 1 ]; then
  [ -n "${MRI2CT_REPO_URL:-}" ] || die "no project at $project: set MRI2CT_REPO_URL to the git URL of mri2ct (or upload the project to $project)"
  log "step 2: cloning $MRI2CT_REPO_URL into $project (Colab only)"
  run git clone --depth 1 ${MRI2CT_REF:+--branch "$MRI2CT_REF"} "$MRI2CT_REPO_URL" "$project"
else
  die "no mri2ct project at $project"
fi
[ "$mode" = dry ] && ! is_project "$project" || project=$(cd "$project" && pwd -P)

# --- 3. Colab only: Debian build deps, the IPC-capable tslab kernelspec ---------------------
if [ "$colab" = 1 ]; then
  deps=(build-essential pkg-config libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev)
  missing=()
  for p in "${deps[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "step 3a: Debian packages for canvas (Colab only): ${missing[*]}"
    run apt-get update -qq
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    log "step 3a: Debian packages for canvas present"
  fi
  py=$(pick_python)
  [ -n "$py" ] || [ "$mode" = dry ] || die "no Python with jupyter_client found (Colab has one: python3)"
  node_bin=$(command -v node || echo node)
  log "step 3b: registering Jupyter kernel 'tslab' -> $project/colab/tslab-kernel.js (Colab only; IPC transport, starts in notebooks/)"
  if [ "$mode" = dry ]; then
    log "would write kernelspec tslab (${MRI2CT_KERNEL_PREFIX:-per-user Jupyter data dir}) with argv [$node_bin, $project/colab/tslab-kernel.js, kernel, --config-path, {connection_file}]"
  else
    "$py" - "$node_bin" "$project" "${MRI2CT_KERNEL_PREFIX:-}" <<'EOF'
import json, os, sys, tempfile
from jupyter_client.kernelspec import KernelSpecManager
node, project, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
spec = {
    "argv": [node, os.path.join(project, "colab", "tslab-kernel.js"), "kernel", "--config-path", "{connection_file}"],
    "display_name": "TypeScript",
    "language": "typescript",
    # MRI2CT_TSLAB names this checkout's tslab, which is what scripts/setup.sh looks for before it
    # re-registers the kernel: with it there, set-up keeps this launcher.
    "env": {"MRI2CT_KERNEL_CWD": os.path.join(project, "notebooks"),
            "MRI2CT_TSLAB": os.path.join(project, "node_modules", ".bin", "tslab")},
}
with tempfile.TemporaryDirectory() as td:
    os.chmod(td, 0o755)
    with open(os.path.join(td, "kernel.json"), "w") as f:
        json.dump(spec, f, indent=1)
    # The per-user Jupyter dir by default; MRI2CT_KERNEL_PREFIX=/usr/local puts it in
    # <prefix>/share/jupyter/kernels instead (where `--sys-prefix` installs of other kernels go).
    dest = KernelSpecManager().install_kernel_spec(td, "tslab", user=not prefix, prefix=prefix or None)
print("[bootstrap] kernelspec written to " + dest)
EOF
  fi
fi

# --- 4. set-up -------------------------------------------------------------------------------
if [ -n "$gpu_name" ]; then
  log "GPU runtime: $gpu_name (nvidia-smi): set-up takes the GPU route (scripts/setup-tfjs.sh)"
  # A dry run shows the route set-up would take and its commands (setup-tfjs's plan mode changes nothing).
  if [ "$mode" = dry ] && [ -f "$project/scripts/setup-tfjs.sh" ]; then
    log "TensorFlow route plan (MRI2CT_TF_PLAN=1 bash scripts/setup-tfjs.sh):"
    (cd "$project" && MRI2CT_TF_PLAN=1 bash scripts/setup-tfjs.sh 2>&1 | sed 's/^/    /') || true
  fi
else log "CPU runtime (nvidia-smi lists no GPU): set-up takes the CPU route"; fi
if [ "$colab" = 1 ]; then
  log "step 4: scripts/setup.sh with MRI2CT_SKIP_APT=1 (Colab has Jupyter; the rest of set-up's Debian list is for the browser test)"
  run env MRI2CT_SKIP_APT=1 bash "$project/scripts/setup.sh"
else
  log "step 4: scripts/setup.sh"
  run bash "$project/scripts/setup.sh"
fi

# --- 5. check and next steps -----------------------------------------------------------------
if [ "$mode" = dry ]; then
  log "would run: bash $project/colab/bootstrap.sh --check"
else
  bash "$project/colab/bootstrap.sh" --check
fi
if [ "$colab" = 1 ]; then
  cat <<EOF
[bootstrap] done. This Colab runtime now has the TypeScript kernel 'tslab'.
  Route 1, TypeScript notebooks (run this script inside the notebook's own runtime: Colab gives
  every notebook its own machine):
    open the notebook from notebooks/ in Colab, run this script in a code cell at the top
    (the runtime is still Python), then reload the page (or Runtime > Change runtime type >
    TypeScript): Colab starts the kernel named in the notebook's metadata, 'tslab'. Delete the
    helper cell and run the notebook.
  Route 2, command line: the bootstrap notebook (colab/mri2ct_colab_bootstrap.ipynb) runs the
    mri2ct command line from Python cells and shows the images and curves there.
EOF
else
  log "done. Open the notebooks with: cd $project/notebooks && jupyter notebook (kernel: TypeScript)"
fi
