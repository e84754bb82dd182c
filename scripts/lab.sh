#!/usr/bin/env bash
# Opens JupyterLab (from scripts/setup.sh's .venv-jupyter/) on notebooks/, with the tslab kernel
# registered there. Extra arguments go to jupyter-lab (e.g. --no-browser, --port=8899).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
lab="$root/.venv-jupyter/bin/jupyter-lab"
if ! "$lab" --version >/dev/null 2>&1; then
  echo "[lab] no JupyterLab in .venv-jupyter/: run bash scripts/setup.sh (without MRI2CT_SKIP_JUPYTERLAB=1)" >&2
  exit 1
fi
exec "$lab" --notebook-dir "$root/notebooks" "$@"
