# %% [markdown]
# # 04 · Train pix2pix from the cache
#
# Trains the MRI→CT model (U-Net generator + 70×70 PatchGAN, L1 + adversarial loss) from the cache
# that notebook 02 builds (it is built here too if missing). Each epoch draws fresh augmentation on
# the TensorFlow backend. While training runs, the cell below it shows the epoch progress, the loss
# curves and the newest sample grid (MRI | sCT | CT | error), updated in place. The last cell reads
# the finished run back from its `logs/`.
#
# Kernel: **TypeScript (tslab)**. Set-up: `bash scripts/setup.sh`. The same run from a terminal:
# `npx mri2ct train --cache_dir preprocessed_cache_notebooks --output_dir training_notebooks ...`.
#
# **Open in Colab** (route 1 in `colab/README.md`): Colab has no TypeScript kernel of its own. Open
# this notebook in Colab, run `colab/bootstrap.sh` in a code cell at the top (the runtime is still
# Python), then reload the page: Colab starts the `tslab` kernel this notebook names. Delete that
# cell and run the notebook. On Colab each plot carries its own copy of plotly.js (Colab isolates
# each cell's output). Route 2, the Python notebook
# `colab/mri2ct_colab_bootstrap.ipynb`, trains from the command line and shows the sample grid and
# loss curves.
# %% [markdown]
# ## Configuration
#
# Change values and rerun from here. On a CPU keep the model small (`ngf`/`ndf` 16–32, image size 64
# or 128 in notebook 02's `config`); on a GPU use pix2pix's 64/64 at 256.
# %%
import * as tslab from 'tslab';
import * as mri2ct from '../dist/src';

const TEST = process.env['MRI2CT_NOTEBOOK_TEST'] === '1';
const config: mri2ct.NotebookDataConfig = {
  patients: TEST ? 3 : 4,
  size: TEST ? [96, 96, 64] : [256, 256, 160],
  imageSize: TEST ? 64 : 256,
  format: 'h5',
};
const augProb = 0.8;
const epochs = TEST ? 2 : 10;
const batchSize = TEST ? 8 : 4;
const ngf = TEST ? 8 : 32;
const lr = 1e-3;
// true (--use_amp): float16 convolutions with loss scaling on a GPU (untested on one), bfloat16 where the CPU has
// avx512_bf16/amx_bf16; else float32, said once
const useAmp = false;
const outputDir = '../training_notebooks';
console.log({ augProb: augProb, epochs: epochs, batchSize: batchSize, ngf: ngf, lr: lr, useAmp: useAmp, outputDir: outputDir });
# %% [markdown]
# The compute backend (native TensorFlow when set-up built it) and the offline plotting library.
# %%
const backend = await mri2ct.loadBackend();
console.log(`backend: ${backend.kind} — ${backend.reason}`);
tslab.display.html(mri2ct.plotlySetupHtml());
# %% [markdown]
# ## Data
#
# The cache (built if missing, with a progress bar), then the loader: a seeded patient-level split
# and shuffled, augmented batches.
# %%
const cacheProgress = mri2ct.progressDisplay(tslab.newDisplay(), { title: 'cache' });
const cache = await mri2ct.ensureNotebookCache({ ...config, workers: 2, onProgress: cacheProgress.onProgress });
cacheProgress.finish(cache.summary);
const loader = await mri2ct.CacheLoader.open(cache.cacheDir, { batchSize: batchSize, seed: 42, augment: { augProb: augProb } });
console.log(`train patients ${loader.split.train.join(', ')} (${loader.trainSlices} slices); validation ${loader.split.val.join(', ')} (${loader.valSlices} slices)`);
# %% [markdown]
# ## Augmentation preview
#
# The same slices as training will see them with `augProb` from the configuration cell (rerun the
# configuration cell and this one to see another setting).
# %%
const patientView = await mri2ct.readCachedPatient(cache.cacheDir, loader.split.train[0] ?? 'brain_001');
const mid = Math.floor(patientView.arrays.shape[0] / 2);
const preview = await mri2ct.augmentationPreview(patientView, [mid - 8, mid, mid + 8], { augProb: augProb, seed: TEST ? 3 : undefined });
tslab.display.png(preview.png);
console.log(preview.summary);
# %% [markdown]
# ## Train
#
# The outputs below update while the cell runs: the progress bar (about once a second), the loss
# curves and the newest sample grid (once per epoch; the curves are downsampled, so each redraw
# stays a few KB however long the run). If training fails, the error shows under the bar.
# Checkpoints go to `checkpoints/` (best_model by validation MAE in HU inside the head, epoch_N,
# last), pictures to `samples/`, curves to `logs/`.
# %%
const view = mri2ct.trainingDisplay(tslab.newDisplay, outputDir);
// (tslab: write `name: name`, not the shorthand `{ name }`, for variables of earlier cells)
const result = await view.run(mri2ct.train(loader, {
  outputDir: outputDir,
  epochs: epochs,
  model: { ...mri2ct.DEFAULT_MODEL_CONFIG, imageSize: loader.imageSize, ngf: ngf, ndf: ngf },
  optimizer: { lr: lr, beta1: 0.5, beta2: 0.999 },
  lrPolicy: 'linear',
  saveFreq: 5,
  valFreq: 1,
  logEverySteps: 5,
  seed: 42,
  useAmp: useAmp,
  extraConfig: { augProb: augProb, from: 'notebook 04' },
  tfjsNode: backend.nodeModule,
  onProgress: view.onProgress,
  onEpoch: view.onEpoch,
  log: () => undefined,
}));
view.finish(`best validation MAE ${result.bestValMaeHu?.toFixed(1)} HU; bulk-density baseline ${result.baselineMaeHu?.toFixed(1)} HU`);
result.model.dispose();
# %% [markdown]
# ## The finished run, read back from `logs/`
# %%
tslab.display.html(mri2ct.runCurvesHtml(outputDir));
console.table(mri2ct.runEpochTable(outputDir));
