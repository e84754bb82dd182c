# %% [markdown]
# # 05 · Synthetic CT for a held-out patient, and the SynthRAD2023 metrics
#
# Uses the model notebook 04 trained (`../training_notebooks/checkpoints/best_model.ckpt`) to make
# a synthetic CT (sCT) for a patient the model never trained on, straight from the patient's MRI
# NIfTI file: the same preprocessing as in training (read from the checkpoint), the generator slice
# by slice, then back to the MRI's own voxel grid (shape and affine) in HU, air outside the head.
# Then the sCT next to the MRI and the real CT in three planes, and the SynthRAD2023 image metrics
# (MAE, PSNR, SSIM inside the head mask) for the model and for the bulk-density baseline (water in
# the head, air outside).
#
# If there is no usable checkpoint (notebook 04 not run, or run with another configuration), a tiny
# model is trained here for a couple of epochs first: it shows the mechanics, not a good sCT.
#
# Kernel: **TypeScript (tslab)**. Set-up: `bash scripts/setup.sh`. The same from a terminal:
# `npx mri2ct predict --checkpoint ... --mri new_mr.nii.gz --out sct.nii.gz` and
# `npx mri2ct evaluate --pred_dir ... --ct_dir ...`.
#
# **Open in Colab** (route 1 in `colab/README.md`): Colab has no TypeScript kernel of its own. Open
# this notebook in Colab, run `colab/bootstrap.sh` in a code cell at the top (the runtime is still
# Python), then reload the page: Colab starts the `tslab` kernel this notebook names. Delete that
# cell and run the notebook. Route 2 (the Python notebook `colab/mri2ct_colab_bootstrap.ipynb`) has
# no counterpart of this notebook; `mri2ct predict` and `mri2ct evaluate` do the same from a terminal.
# %% [markdown]
# ## Configuration
#
# `config` must match notebooks 02–04 to reuse their phantom data, cache and model.
# %%
import * as tslab from 'tslab';
import * as fs from 'fs';
import * as path from 'path';
import * as mri2ct from '../dist/src';

const TEST = process.env['MRI2CT_NOTEBOOK_TEST'] === '1';
const config: mri2ct.NotebookDataConfig = {
  patients: TEST ? 3 : 4,
  size: TEST ? [96, 96, 64] : [256, 256, 160],
  imageSize: TEST ? 64 : 256,
  format: 'h5',
};
const trainingDir = '../training_notebooks';
const checkpoint = path.join(trainingDir, 'checkpoints', 'best_model.ckpt');
const predDir = path.join(trainingDir, 'predictions');
console.log({ checkpoint: checkpoint, predictions: predDir, ...mri2ct.notebookPaths(config) });
# %% [markdown]
# The compute backend, then the phantom data and the cache (both are only checked when notebooks
# 02–04 already made them).
# %%
const backend = await mri2ct.loadBackend();
console.log(`backend: ${backend.kind} — ${backend.reason}`);
# %%
const cacheProgress = mri2ct.progressDisplay(tslab.newDisplay(), { title: 'cache' });
const cache = await mri2ct.ensureNotebookCache({ ...config, workers: 2, onProgress: cacheProgress.onProgress });
cacheProgress.finish(cache.summary);
# %% [markdown]
# ## The model
#
# The checkpoint records the preprocessing it was trained with (older checkpoints: the cache's
# `metadata/params.json`), so prediction needs nothing else.
# %%
const modelProgress = mri2ct.progressDisplay(tslab.newDisplay(), { title: 'model' });
const model = await mri2ct.notebookPredictor({
  checkpoint: checkpoint,
  cacheDir: cache.cacheDir,
  outputDir: path.join(trainingDir, 'tiny_model_05'),
  epochs: 2,
  onProgress: modelProgress.onProgress,
});
modelProgress.finish(model.summary);
const predictor = model.predictor;
console.log(model.summary);
console.log(`preprocessing: ${JSON.stringify(predictor.params)}`);
console.log(`CT window ${predictor.ctWindow.minHu}..${predictor.ctWindow.maxHu} HU`);
# %% [markdown]
# ## Predict the held-out patients
#
# The validation patients of the checkpoint's patient split. Each MRI goes through N4, head mask,
# clipping, normalisation, crop and resize exactly as in training; the generator runs in batches of
# slices (progress below); the sCT is written to `predictions/<id>.nii.gz` with the MRI's shape and
# affine, and the head mask to `predictions/masks/<id>.nii.gz`.
# %%
const heldOut = mri2ct.heldOutPatients(predictor, cache.cohort.pairs.map((p) => p.id));
console.log(heldOut.note);
const inputs = cache.cohort.pairs.filter((p) => heldOut.ids.includes(p.id)).map((p) => ({ id: p.id, mri: p.mri }));
const predictProgress = mri2ct.progressDisplay(tslab.newDisplay(), { title: 'predict' });
const predicted = await mri2ct.predictMany(predictor, inputs, predDir, { onProgress: predictProgress.onProgress, log: (m) => console.log(m) });
predictProgress.finish(`${predicted.done.length} sCT(s) in ${predicted.seconds.toFixed(1)} s`);
for (const r of predicted.done) {
  console.log(`${r.id}: preprocess ${r.timings.preprocess.toFixed(1)} s, generator ${r.timings.model.toFixed(1)} s (${r.preprocessed.shape[0]} slices), back to the MRI grid ${r.timings.restore.toFixed(2)} s`);
}
# %% [markdown]
# The written sCT read back: the same shape and affine as the MRI it came from.
# %%
const first = predicted.done[0];
if (first === undefined) throw new Error('no prediction');
const mriImg = await mri2ct.readNifti(first.mriPath);
const sctImg = await mri2ct.readNifti(first.sctPath);
const ctImg = await mri2ct.readNifti(cache.cohort.pairs.find((p) => p.id === first.id)?.ct ?? '');
const maskImg = await mri2ct.readNifti(first.maskPath ?? '');
console.log(mri2ct.describeVolume('MRI', mriImg));
console.log(mri2ct.describeVolume('sCT', sctImg));
console.log(`same shape: ${mriImg.dims.join() === sctImg.dims.join()}, same affine: ${JSON.stringify(mriImg.affine) === JSON.stringify(sctImg.affine)}`);
# %% [markdown]
# ## MRI | sCT | CT | error
#
# Through the centre of the head: axial, coronal and sagittal (radiological convention). The error
# is |sCT − CT| inside the head mask, both clipped to SynthRAD's [−1024, 3000] HU.
# %%
const figure = mri2ct.inferenceFigure({ id: first.id, mri: mriImg, sct: sctImg, ct: ctImg, mask: maskImg }, { errorMaxHu: 500 });
tslab.display.png(figure);
# %% [markdown]
# ## Browse MRI | sCT | CT | error
#
# The same four volumes in all three planes, synchronised: each plane has its slider (or the mouse
# wheel over its pictures, or the arrow keys once the viewer has focus), and a click or drag in
# any picture moves the crosshair point, so the other two planes jump to it. Values under the
# pointer in HU (8-bit: sCT and CT ±8 HU, error ±1 HU). Self-contained HTML: no kernel needed.
# %%
const inferenceViewer = mri2ct.inferenceSliceViewer({ id: first.id, mri: mriImg, sct: sctImg, ct: ctImg, mask: maskImg }, { errorMaxHu: 500 });
tslab.display.html(inferenceViewer.html);
console.log(inferenceViewer.summary);
# %% [markdown]
# ## SynthRAD2023 metrics
#
# Per patient inside the head mask, CT and sCT clipped to [−1024, 3000] HU; PSNR and SSIM with the
# data range 4024 HU; SSIM with a 7×7×7 window averaged over the mask (as SynthRAD2023's
# `image_metrics.py`). The baseline is the bulk-density sCT: 0 HU in the head, −1000 HU outside.
# %%
const evaluation = await mri2ct.evaluatePredictions({ predDir: predDir, ctDir: path.join(cache.cohort.dataDir, 'CT'), ids: predicted.done.map((r) => r.id) });
mri2ct.writeEvaluationCsv(path.join(predDir, 'evaluation.csv'), evaluation);
tslab.display.html(mri2ct.evaluationTableHtml(evaluation));
console.log(mri2ct.formatEvaluation(evaluation));
# %%
predictor.dispose();
console.log(`per-patient CSV: ${path.join(predDir, 'evaluation.csv')} (${fs.statSync(path.join(predDir, 'evaluation.csv')).size} bytes)`);
