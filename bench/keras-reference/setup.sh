#!/usr/bin/env bash
# Creates the Python virtualenv used by the Keras reference benchmark
# (bench/keras-reference/pix2pix_step.py) and installs tensorflow-cpu 2.21.0.
#
#   bash bench/keras-reference/setup.sh      # prints the venv's python path last
#
# Venv location: ${MRI2CT_CACHE_HOME:-$HOME/.cache/mri2ct}/keras-venv
# Idempotent: does nothing when the venv already imports tensorflow.
# Packages come from this machine's pip configuration (a local index); no
# other network access is attempted (--retries 0 so a missing package fails fast).
set -euo pipefail

TF_VERSION="${TF_VERSION:-2.21.0}"
CACHE_HOME="${MRI2CT_CACHE_HOME:-$HOME/.cache/mri2ct}"
VENV="$CACHE_HOME/keras-venv"
PY="$VENV/bin/python"

# Python to build the venv from (tensorflow-cpu 2.21.0 wheels here are cp311).
BASE_PYTHON="${KERAS_REF_PYTHON:-python3}"

log() { printf '[keras-reference/setup] %s\n' "$*" >&2; }

tf_ok() {
  [ -x "$PY" ] && "$PY" -c "import tensorflow as tf, sys; sys.exit(0 if tf.__version__ == '$TF_VERSION' else 1)" >/dev/null 2>&1
}

if tf_ok; then
  log "venv at $VENV already imports tensorflow $TF_VERSION; nothing to do"
  echo "$PY"
  exit 0
fi

if [ ! -x "$PY" ]; then
  log "creating venv at $VENV with $("$BASE_PYTHON" --version 2>&1)"
  mkdir -p "$CACHE_HOME"
  "$BASE_PYTHON" -m venv "$VENV" >&2
fi

PIP=("$PY" -m pip --disable-pip-version-check)

log "installing tensorflow-cpu==$TF_VERSION (with dependencies)"
if ! "${PIP[@]}" install --quiet --retries 0 "tensorflow-cpu==$TF_VERSION" >&2; then
  # Fallback: the wheel without dependency resolution, plus the packages that
  # TensorFlow needs at import and training time. tensorboard is optional
  # (only tf.summary needs it) and is not installed here.
  log "full resolution failed; retrying with --no-deps plus essential dependencies"
  "${PIP[@]}" install --retries 0 --no-deps "tensorflow-cpu==$TF_VERSION" >&2
  "${PIP[@]}" install --retries 0 \
    "numpy>=1.26" keras h5py ml_dtypes absl-py opt_einsum wrapt termcolor gast \
    astunparse flatbuffers protobuf six packaging requests typing_extensions \
    grpcio google-pasta libclang setuptools >&2
fi

if ! tf_ok; then
  log "ERROR: tensorflow $TF_VERSION still does not import from $PY"
  "$PY" -c "import tensorflow" || true
  exit 1
fi
log "ok: $("$PY" -c 'import tensorflow as tf; print("tensorflow", tf.__version__)' 2>/dev/null)"
echo "$PY"
