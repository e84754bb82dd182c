# %% [markdown]
# # 01 · Environment check
#
# Checks that this machine can run mri2ct: the compute backend (native TensorFlow via
# `@tensorflow/tfjs-node`, or the GPU build), memory, free disk for the cache, the packages the
# pipeline needs and this TypeScript (tslab) kernel. Every ❌ line says how to fix it.
#
# Kernel: **TypeScript (tslab)**. Set-up: `bash scripts/setup.sh` from the project root (see README).
# The notebook imports the project's built library from `../dist/src`; it holds no logic itself.
#
# **Open in Colab** (route 1 in `colab/README.md`): Colab has no TypeScript kernel of its own. Open
# this notebook in Colab, run `colab/bootstrap.sh` in a code cell at the top (the runtime is still
# Python), then reload the page: Colab starts the `tslab` kernel this notebook names. Delete that
# cell and run the notebook. Route 2, the Python notebook `colab/mri2ct_colab_bootstrap.ipynb`, runs
# the same check (`mri2ct check-env`) without the TypeScript kernel.
# %%
import * as tslab from 'tslab';
import * as mri2ct from '../dist/src';

const report = await mri2ct.checkEnvironment({ cacheDir: '../preprocessed_cache' });
tslab.display.html(mri2ct.envReportHtml(report));
# %% [markdown]
# The same check as plain text (what `mri2ct check-env` prints):
# %%
console.log(mri2ct.formatEnvReport(report));
if (!report.ok) throw new Error('environment not ready: see the fixes above');
