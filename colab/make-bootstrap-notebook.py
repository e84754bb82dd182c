#!/usr/bin/env python3
"""Writes colab/mri2ct_colab_bootstrap.ipynb (Python kernel) from the cells below, so the notebook
stays reviewable as plain text. Usage: python3 colab/make-bootstrap-notebook.py [OUT.ipynb]
(test/colab-bootstrap.test.ts checks that the committed notebook is what this writes)."""
import json
import os
import sys

CELLS = [
    ("markdown", r"""
# mri2ct on Google Colab: set-up, then the pipeline from the command line

mri2ct is TypeScript (Node.js 20); its notebooks in `notebooks/` run on the **tslab** TypeScript
kernel, which Colab does not offer out of the box. This notebook (an ordinary **Python** notebook)
prepares a Colab runtime and then gives you two routes:

* **Route 1, the TypeScript notebooks themselves.** Colab gives every notebook its own runtime, so
  the set-up has to run inside the TypeScript notebook's runtime: see the section *Route 1* below
  and `colab/README.md`.
* **Route 2, this notebook.** The same steps through the `mri2ct` command line (environment check,
  phantom data, preprocessing into the cache, training), with the sample images and loss curves
  shown here. This works on any Colab runtime.

Set-up (`colab/bootstrap.sh`) installs Node.js 20 if the runtime has an older one, clones the
project, installs the Debian packages the `canvas` module builds against, runs the project's
`scripts/setup.sh` (npm packages, native addons, the TensorFlow backend — downloaded, Colab is
online — and the TypeScript build) and registers the tslab kernel for Colab.

Run the cells from the top. On a fresh runtime set-up takes a few minutes.
"""),
    ("markdown", r"""
## Settings

`REPO_URL` is the git URL of the mri2ct repository (your fork or the team's); leave it empty if you
uploaded the project to `/content/mri2ct` yourself. Training on Colab's CPU is slow with full-size
models: the defaults here are small (change `RUN` for more).
"""),
    ("code", r"""
import importlib.util, json, os, pathlib, subprocess, sys

REPO_URL = os.environ.get("MRI2CT_REPO_URL", "")  # e.g. "https://github.com/<owner>/mri2ct.git"
REF = os.environ.get("MRI2CT_REF", "")            # branch or tag; empty = the default branch
ON_COLAB = bool(os.environ.get("COLAB_RELEASE_TAG")) or (
    os.path.isdir("/content") and importlib.util.find_spec("google.colab") is not None)
# The project: /content/mri2ct on Colab; elsewhere the checkout this notebook sits in (colab/..).
PROJECT = os.environ.get("MRI2CT_DIR") or ("/content/mri2ct" if ON_COLAB else str(pathlib.Path.cwd().parent))
# Data, cache and training output of route 2 (outside the project, so a git pull stays clean).
WORK = os.environ.get("MRI2CT_WORK") or ("/content/mri2ct_run" if ON_COLAB else os.path.join(PROJECT, "test-output", "colab-run"))
TEST = os.environ.get("MRI2CT_NOTEBOOK_TEST") == "1"  # tiny sizes (the project's tests set it)
RUN = (dict(patients=3, size=(96, 96, 64), image_size=64, epochs=2, batch_size=8, ngf=8)
       if TEST else dict(patients=6, size=(256, 256, 160), image_size=128, epochs=15, batch_size=8, ngf=32))
print(f"Colab: {ON_COLAB}\nproject: {PROJECT}\nwork dir: {WORK}\nrun: {RUN}")
"""),
    ("code", r"""
def sh(cmd, cwd=None, env=None):
    # Runs a command and streams its output into the notebook; raises if it fails.
    print("$ " + " ".join(str(c) for c in cmd), flush=True)
    p = subprocess.Popen([str(c) for c in cmd], cwd=cwd, env={**os.environ, **(env or {})},
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in p.stdout:
        print(line, end="", flush=True)
    if p.wait() != 0:
        raise RuntimeError(f"command failed with exit code {p.returncode}: {' '.join(str(c) for c in cmd)}")

if not os.path.isfile(os.path.join(PROJECT, "package.json")):
    if not REPO_URL:
        raise RuntimeError(f"no project at {PROJECT}: set REPO_URL above (or upload the project there)")
    sh(["git", "clone", "--depth", "1", *(["--branch", REF] if REF else []), REPO_URL, PROJECT])
sh(["bash", os.path.join(PROJECT, "colab", "bootstrap.sh")])
"""),
    ("markdown", r"""
## Route 1: the TypeScript notebooks on Colab

The runtime of *this* notebook now has the TypeScript kernel `tslab`, but Colab gives every notebook
its own runtime. For a notebook from `notebooks/` (e.g. `02_preprocess.ipynb`):

1. open it in Colab (*File → Open notebook → GitHub*, or *File → Upload notebook*). Its metadata
   names the kernel `tslab`, which a fresh runtime does not have, so Colab connects a Python runtime;
2. insert a code cell at the top and run the set-up in it (the runtime is still Python):
   `!git clone --depth 1 <REPO_URL> /content/mri2ct && bash /content/mri2ct/colab/bootstrap.sh`;
3. reload the page (or *Runtime → Change runtime type* and pick *TypeScript*): Colab starts the
   kernel the notebook asks for, now installed in that runtime;
4. delete the helper cell and run the notebook. The kernel starts in `/content/mri2ct/notebooks`,
   so the notebook's `../dist/src` import and data folders resolve as on a workstation.

What is verified and what is not is listed in `colab/README.md`.
"""),
    ("markdown", r"""
## Route 2: the pipeline from the command line

The environment check (`mri2ct check-env`):
"""),
    ("code", r"""
CLI = ["node", os.path.join(PROJECT, "dist", "src", "cli", "main.js")]
sh(CLI + ["check-env"], cwd=PROJECT)
"""),
    ("markdown", r"""
Phantom data (paired head MRI/CT with known ground truth), then preprocessing once into the cache and
training pix2pix from it — one `mri2ct run`:
"""),
    ("code", r"""
data, cache, out = (os.path.join(WORK, d) for d in ("data", "preprocessed_cache", "training_output"))
if not os.path.isdir(os.path.join(data, "MRI")):
    sh(CLI + ["phantom", "--out", data, "--patients", RUN["patients"], "--size", *RUN["size"]], cwd=PROJECT)
sh(CLI + ["run", "--mri_dir", os.path.join(data, "MRI"), "--ct_dir", os.path.join(data, "CT"),
          "--cache_dir", cache, "--output_dir", out, "--image_size", RUN["image_size"],
          "--epochs", RUN["epochs"], "--batch_size", RUN["batch_size"],
          "--ngf", RUN["ngf"], "--ndf", RUN["ngf"], "--workers", 2], cwd=PROJECT)
"""),
    ("markdown", r"""
The newest validation samples (MRI | synthetic CT | CT | error), as training wrote them:
"""),
    ("code", r"""
from IPython.display import Image, display
samples = sorted(p for p in pathlib.Path(out, "samples").glob("epoch_*.png"))
print(f"{len(samples)} sample grids in {out}/samples; the last one:")
display(Image(filename=str(samples[-1])))
"""),
    ("markdown", r"""
Loss curves and validation error from `logs/metrics.jsonl`:
"""),
    ("code", r"""
records = [json.loads(l) for l in open(os.path.join(out, "logs", "metrics.jsonl")) if l.strip()]
epochs = [r for r in records if r.get("kind") == "epoch"]
steps = [r for r in records if r.get("kind") == "step"]
for r in epochs:
    print(f"epoch {r['epoch']:3d}  train L1 {r['trainL1']:.4f}  val L1 {r.get('valL1', float('nan')):.4f}  val MAE {r.get('valMaeHu', float('nan')):7.1f} HU")
try:
    import matplotlib.pyplot as plt
except ImportError:
    plt = None
    print("(matplotlib is not installed: the table above is all)")
if plt is not None:
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.5))
    a.plot([r["step"] for r in steps], [r["g"] for r in steps], label="generator")
    a.plot([r["step"] for r in steps], [r["d"] for r in steps], label="discriminator")
    a.set_xlabel("step"); a.set_ylabel("loss"); a.set_yscale("log"); a.legend(); a.set_title("training losses")
    b.plot([r["epoch"] for r in epochs], [r.get("valMaeHu") for r in epochs], "o-")
    b.set_xlabel("epoch"); b.set_ylabel("MAE (HU)"); b.set_title("validation MAE inside the head")
    plt.tight_layout(); plt.show()
"""),
]


def notebook():
    cells = []
    for i, (kind, text) in enumerate(CELLS):
        lines = text.strip("\n").split("\n")
        src = [l + "\n" for l in lines[:-1]] + [lines[-1]]
        cell = {"cell_type": kind, "id": f"cell-{i:02d}", "metadata": {}, "source": src}
        if kind == "code":
            cell.update({"execution_count": None, "outputs": []})
        cells.append(cell)
    return {
        "cells": cells,
        "metadata": {
            "colab": {"provenance": [], "toc_visible": True},
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "mri2ct_colab_bootstrap.ipynb")
    with open(out, "w", encoding="utf8") as f:
        json.dump(notebook(), f, indent=1, ensure_ascii=False)
        f.write("\n")
