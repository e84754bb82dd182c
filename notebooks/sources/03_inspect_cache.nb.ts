# %% [markdown]
# # 03 · Inspect the cache, preview augmentation
#
# What training reads: the preprocessed cache built by `02_preprocess.ipynb` (or `mri2ct preprocess`).
# This notebook shows cached MRI/CT pairs, their intensity histograms, the per-patient metadata, and
# what training-time augmentation (rotation, flips, MRI intensity scaling) does to them.
#
# It uses the same configuration as notebook 02 and builds the cache first if it is missing (phantom
# data in `../data_notebooks/`, cache in `../preprocessed_cache_notebooks/`). Slices are shown with
# anterior at the top and the patient's right on the image's left (radiological).
#
# Kernel: **TypeScript (tslab)**. Set-up: `bash scripts/setup.sh`. All logic lives in the library
# (`../dist/src`); the cells only configure and display.
#
# **Open in Colab** (route 1 in `colab/README.md`): Colab has no TypeScript kernel of its own. Open
# this notebook in Colab, run `colab/bootstrap.sh` in a code cell at the top (the runtime is still
# Python), then reload the page: Colab starts the `tslab` kernel this notebook names. Delete that
# cell and run the notebook. On Colab each plot carries its own copy of plotly.js (Colab isolates
# each cell's output), so those outputs are larger. Route 2 has no
# counterpart of this notebook.
# %% [markdown]
# ## Configuration
#
# `config` must match notebook 02's to reuse its cache. `patient` and `slices` choose what to look at
# (slice indices count from 0 in the cache; change them and rerun the cells below); `augProb` is the
# probability that augmentation touches a sample (training's `--aug_prob`, used in the preview below).
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
const patient = 'brain_001';
const slices = TEST ? [16, 28, 40, 50] : [40, 70, 100, 130];
const augProb = 0.8;
console.log(mri2ct.notebookPaths(config));
# %%
tslab.display.html(mri2ct.plotlySetupHtml());
# %% [markdown]
# ## The cache
#
# Builds the missing patients (with a progress bar); patients already cached are only checked.
# %%
const cacheProgress = mri2ct.progressDisplay(tslab.newDisplay(), { title: 'cache' });
const cache = await mri2ct.ensureNotebookCache({ ...config, workers: 2, onProgress: cacheProgress.onProgress });
cacheProgress.finish(cache.summary);
# %% [markdown]
# ## Cached MRI/CT pairs
#
# Top: MRI normalised to [0, 1]; middle: CT in HU (window −1000..2000); bottom: the cached head mask's
# outline on the MRI.
# %%
const cached = await mri2ct.readCachedPatient(cache.cacheDir, patient);
console.log(`${cached.file}: [${cached.arrays.shape.join(', ')}] (slices, H, W); slices 0..${cached.arrays.shape[0] - 1}`);
tslab.display.png(mri2ct.cachedPairsFigure(cached, slices, { outline: true }));
# %% [markdown]
# ## Slice browser
#
# Every cached slice of `patient` without editing or rerunning a cell: drag the slider, turn the
# mouse wheel over a picture, or click the viewer and use the arrow keys (Page Up / Down: 10
# slices, Home / End). Under the pointer: the slice, the voxel and its values; the CT is carried
# at 8 bits over the cache's −1024..3000 HU, so the readout is within ±8 HU. The viewer is
# self-contained HTML (no kernel, no network): it also works in the saved notebook, an HTML
# export and Colab. At the default size it packs every slice at half the in-plane resolution
# (`cacheSliceViewer(cached, { maxDim: 256 })` keeps the full 256×256, about 7 MB).
# %%
const cacheViewer = mri2ct.cacheSliceViewer(cached);
tslab.display.html(cacheViewer.html);
console.log(cacheViewer.summary);
# %% [markdown]
# ## Intensity histograms
#
# Counts over the whole patient (grey) and inside the head mask (red), log scale. MRI in its own units
# (N4-corrected, clipped at its 0.5/99.5 percentiles inside the head); CT in HU through the fixed
# normalisation window stored in the metadata: air at −1000, soft tissue near 0–80, bone above ~700.
# %%
const histograms = mri2ct.intensityHistograms(cached);
tslab.display.html(mri2ct.plotlyFigureHtml(histograms.mri, { height: 320 }));
tslab.display.html(mri2ct.plotlyFigureHtml(histograms.ct, { height: 320 }));
# %% [markdown]
# ## Metadata
#
# One row per cached patient (`metadata/<id>.json`): slices, crop box in the original volume, head
# volume, N4 iterations and the preprocessing time.
# %%
tslab.display.html(mri2ct.metadataTableHtml(cache.patients));
# %% [markdown]
# ## Augmentation preview
#
# Training augments every batch afresh each epoch, on the TensorFlow backend: with probability
# `augProb` (configuration cell) a sample is rotated (±`maxRotationDeg`), flipped horizontally / vertically (each with
# probability `flipH` / `flipV`) and its MRI intensity scaled by ±`intensityScale`; MRI and CT get the
# same geometry. Change the settings here and rerun the next cell. `seed: undefined` draws anew on
# every run; a number repeats the same draw.
# %%
const augment: mri2ct.AugmentOptions = {
  augProb: augProb,          // from the configuration cell
  maxRotationDeg: 15,
  flipH: 0.5,
  flipV: 0.5,
  intensityScale: 0.1,
  seed: TEST ? 7 : undefined,
};
console.log(augment);
# %% [markdown]
# Rows: MRI, augmented MRI (network input, −1..1), CT, augmented CT (HU). Titles: rotation
# (counter-clockwise as shown), H / V flips, ×MRI intensity factor.
# %%
const preview = await mri2ct.augmentationPreview(cached, slices, augment);
tslab.display.png(preview.png);
console.log(preview.summary);
