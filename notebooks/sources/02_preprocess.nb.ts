# %% [markdown]
# # 02 · Preprocessing, step by step
#
# mri2ct preprocesses every patient **once** into a cache, then trains from the cache. This
# notebook walks one patient through the steps with pictures, then preprocesses the whole cohort
# into the cache (what `mri2ct preprocess` does):
#
# 1. **N4 bias field correction** of the MRI (our TypeScript port of ITK's N4);
# 2. **head mask** from the corrected MRI (Otsu, largest component, closing, hole filling);
# 3. **CT artifact removal**: everything outside the dilated head mask becomes air (couch, headrest);
# 4. clipping, normalisation to [0, 1], crop to the head, square S×S slices (the cache content).
#
# The data is the built-in **phantom** (paired head MRI/CT with ground truth: the true bias
# field, head mask and hardware labels), written to `../data_notebooks/` on first run; the cache
# goes to `../preprocessed_cache_notebooks/`. Slices are shown with anterior (axial) or superior
# (coronal, sagittal) at the top and the patient's right on the image's left (radiological).
#
# Kernel: **TypeScript (tslab)**. Set-up: `bash scripts/setup.sh` (builds `dist/`). All logic lives in
# the library (`../dist/src`); the cells only configure and display.
#
# **Open in Colab** (route 1 in `colab/README.md`): Colab has no TypeScript kernel of its own. Open
# this notebook in Colab, run `colab/bootstrap.sh` in a code cell at the top (the runtime is still
# Python), then reload the page: Colab starts the `tslab` kernel this notebook names. Delete that
# cell and run the notebook. Route 2, the Python notebook `colab/mri2ct_colab_bootstrap.ipynb`,
# preprocesses from the command line instead (no step-by-step pictures).
# %% [markdown]
# ## Configuration
#
# Change the values and rerun the notebook. `MRI2CT_NOTEBOOK_TEST=1` (set by the test suite) selects
# a tiny cohort so the notebook runs in seconds.
# %%
import * as tslab from 'tslab';
import * as mri2ct from '../dist/src';

const TEST = process.env['MRI2CT_NOTEBOOK_TEST'] === '1';
const config: mri2ct.NotebookDataConfig = {
  patients: TEST ? 3 : 4,                                   // phantom patients brain_001 …
  size: TEST ? [96, 96, 64] : [256, 256, 160],              // phantom grid (voxels); 256×256×160 = 1×1×1.2 mm
  imageSize: TEST ? 64 : 256,                               // cache slices are imageSize × imageSize
  format: 'h5',                                             // 'h5' (compact) or 'npy' (fastest to load)
};
const patient = 'brain_001';                                // the patient of the walk-through
const workers = 2;                                          // parallel preprocessing threads for the cohort
const params = mri2ct.notebookPreprocessParams(config);     // every step's parameters (defaults + imageSize)
const paths = mri2ct.notebookPaths(config);
console.log(`data:  ${paths.dataDir}\ncache: ${paths.cacheDir}\nparameters hash: ${mri2ct.paramsHash(params)}`);
# %% [markdown]
# ## Data
#
# Writes the phantom cohort when it is not there yet (a few seconds per patient at full size).
# %%
const dataProgress = mri2ct.progressDisplay(tslab.newDisplay(), { title: 'phantom cohort' });
const cohort = await mri2ct.ensurePhantomCohort({ ...config, dataDir: paths.dataDir, onProgress: dataProgress.onProgress });
dataProgress.finish(cohort.summary);
# %% [markdown]
# ## The raw MRI
#
# T1-weighted, with a smooth multiplicative **bias field** (brighter towards one side) and Rician noise.
# %%
const p = await mri2ct.readWalkthroughPatient(paths.dataDir, patient);
console.log(mri2ct.describeVolume('MRI', p.mri));
console.log(mri2ct.describeVolume('CT ', p.ct));
tslab.display.png(mri2ct.volumeFigure(p.mri, { title: `${patient}: raw MRI` }));
# %% [markdown]
# ## Step 1 · N4 bias field correction
#
# N4 estimates the bias field as a smooth B-spline in log space (shrink 4, 4 levels × 50 iterations,
# convergence 0.001). Top: the estimate; bottom: the phantom's **true** field. Both are scaled to
# mean 1 inside the head (N4's overall scale is arbitrary) and shown inside the head only.
# %%
const n4 = mri2ct.runN4Step(p.mri, params);
const biasFigure = mri2ct.biasFieldFigure(p, n4);
tslab.display.png(biasFigure.png);
console.log(biasFigure.summary);
# %% [markdown]
# Dividing by the field evens out the intensities: the same tissue has the same brightness
# everywhere, which the network (and the head mask) rely on.
# %%
const n4Figure = mri2ct.n4ComparisonFigure(p, n4);
tslab.display.png(n4Figure.png);
console.log(n4Figure.summary);
# %% [markdown]
# ## Step 2 · Head mask
#
# From the corrected MRI: threshold at 0.85 × Otsu, fill holes per slice, keep the largest
# component, close with a 4 mm ball, fill holes again. Outline: black on the mask's edge pixels,
# white just outside.
# %%
const mask = mri2ct.runHeadMaskStep(n4.corrected, params);
const maskFigure = mri2ct.headMaskFigure(p, n4.corrected, mask);
tslab.display.png(maskFigure.png);
console.log(maskFigure.summary);
# %% [markdown]
# ## Step 3 · CT artifact removal
#
# The CT sees what the MRI does not: the couch, the headrest, positioning aids. Every CT voxel
# outside the head mask dilated by 5 mm becomes air (−1000 HU). The axial slice is the one where
# the most hardware was removed.
# %%
const cleaned = mri2ct.runCtArtifactStep(p.ct, mask.mask, params);
const ctFigure = mri2ct.ctArtifactFigure(p, cleaned);
tslab.display.png(ctFigure.png);
console.log(ctFigure.summary);
# %% [markdown]
# ## Steps 4–8 · Clip, normalise, crop, resize: the cache content
#
# The whole pipeline (`preprocessPatient`, what the cache builder runs) on this patient: MRI clipped
# at its 0.5/99.5 percentiles inside the head and mapped to [0, 1]; CT clipped to −1024..3000 HU and
# mapped to [0, 1] by that fixed window (so HU come back exactly); cropped to the head box + 8 mm;
# each axial slice padded to a square and resized to S×S.
# %%
const stepProgress = mri2ct.progressDisplay(tslab.newDisplay(), { title: `preprocessPatient(${patient})` });
const pre = await mri2ct.preprocessPatient(p.pair, params, stepProgress.onProgress);
stepProgress.finish();
const preFigure = mri2ct.preprocessedPairFigure(pre);
tslab.display.png(preFigure.png);
console.log(preFigure.summary);
tslab.display.html(mri2ct.stepTimingsHtml(pre));
# %% [markdown]
# ## Every step on the same slice
#
# Before and after each step on the original grid, all on the same axial slice as you move the
# slider (or the mouse wheel over a picture, or the arrow keys once the viewer has focus): the raw
# MRI, after N4, clipped and normalised to [0, 1] (head mask outlined in red), the raw CT and the CT
# after artifact removal and clipping. Values under the pointer (8-bit; the precision of each is
# in the note under the viewer). Self-contained HTML: no kernel needed to browse, also in the
# saved notebook. At the default size the volumes are halved along each axis to keep it small.
# %%
const stepsViewer = mri2ct.preprocessSliceViewer(p, n4, mask, cleaned, params);
tslab.display.html(stepsViewer.html);
console.log(stepsViewer.summary);
# %% [markdown]
# ## The whole cohort into the cache
#
# One cache file per patient plus `metadata/`; patients already cached with the same parameters are
# skipped (run the notebook again: nothing is rebuilt). `workers` threads preprocess patients in parallel.
# %%
const cacheProgress = mri2ct.progressDisplay(tslab.newDisplay(), { title: `preprocessing ${cohort.pairs.length} patient(s) → ${paths.cacheDir}` });
const built = await mri2ct.buildCache({ // (no `{ params }` shorthand: tslab does not resolve it to an earlier cell's variable)
  pairs: cohort.pairs, cacheDir: paths.cacheDir, format: config.format, params: params, workers: workers,
  force: cohort.generated,                                  // freshly written data: rebuild what may be cached from older data
  onProgress: cacheProgress.onProgress, log: (m: string) => console.log(m),
});
cacheProgress.finish(`done in ${built.seconds.toFixed(1)} s`);
tslab.display.html(mri2ct.buildSummaryHtml(built));
if (built.failed.length > 0) throw new Error(`${built.failed.length} patient(s) failed: see the table above`);
# %% [markdown]
# Next: `03_inspect_cache.ipynb` looks at what is in the cache and previews training augmentation.
# %% [markdown]
# ## Your own data
#
# Point `ownDataDir` at a folder of your own pairs in any layout the pipeline reads: the seed layout
# (`<folder>/MRI/<id>.nii.gz` + `<folder>/CT/<id>.nii.gz`; also .mha, .mhd, .nrrd, .nhdr or a DICOM
# series folder `<id>/`), SynthRAD2023 (`<folder>/<id>/mr.nii.gz` + `ct.nii.gz`) or SynthRAD2025
# (`<folder>/<region>/<id>/mr.mha` + `ct.mha`). For each pair (the first `maxPatients`, in id order):
# each file's format, shape, voxel size and stored orientation, and what the pipeline does about it,
# exactly as `mri2ct preprocess` would: **reoriented** to RAS (a permutation and flips, no
# resampling), **CT resampled** onto the MRI grid through the two headers (with the overlap of the
# fields of view), or **refused** with the reason and the fix. Below the tables: the mid-slices of
# MRI and CT in all three planes, in canonical orientation (for an accepted pair the CT is shown on
# the MRI grid, as the pipeline uses it). Nothing is written. The default is the phantom cohort above.
# %%
const ownDataDir = paths.dataDir;          // e.g. '/data/my_pairs' (with MRI/ and CT/ inside), '/data/synthRAD2023/Task1/brain', '/data/synthRAD2025/Task1'
const ownData = await mri2ct.ownDataReport(ownDataDir, { maxPatients: TEST ? 2 : 4 });
tslab.display.html(ownData.html);
tslab.display.png(ownData.png);
console.log(ownData.summary);
# %% [markdown]
# ## Registration (`--register rigid`)
#
# Paired MRI and CT of real patients are scanned apart and rarely line up. `mri2ct preprocess
# --register rigid` registers each CT to its MRI (rigid: 3 rotations, 3 translations; elastix with
# Mattes mutual information inside the head mask) before the CT steps. The phantom's pair is aligned
# by construction, so here its CT is **moved by a known motion** and registered back: the answer is
# known. Checkerboards of MRI and CT tiles (top: before, CT put on the MRI grid by the headers;
# bottom: after registration): where the two disagree, the skull and scalp break at the tile edges.
# %%
const motion = { rotationDegrees: [6, -5, 8] as mri2ct.Vec3, translationMm: [8, -10, 6] as mri2ct.Vec3 }; // the known misalignment
const registerOptions: mri2ct.RegisterOptions = TEST
  ? { resolutions: 3, iterations: 120, spatialSamples: 1024 }   // quick at test sizes
  : {};                                                          // the pipeline's defaults (3 levels × 250 iterations × 2048 samples)
const moved = mri2ct.moveRigidly(p.ct, motion);
const registered = await mri2ct.registerCtToMri(p.mri, moved.volume, mask.mask, { ...registerOptions, what: patient });
const ctBefore = mri2ct.resampleToGrid(moved.volume, p.mri, { interpolation: 'linear', fill: -1000 });
tslab.display.png(mri2ct.registrationFigure({
  mri: p.mri, ctBefore: ctBefore, ctAfter: registered.ctOnMri, headMask: mask.mask,
  title: `${patient}: MRI / CT checkerboard, before and after rigid registration`,
}));
console.log(`known motion: rotation ${motion.rotationDegrees.join(', ')}°, translation ${motion.translationMm.join(', ')} mm (CT moved about its centre)`);
console.log(mri2ct.registrationSummary(registered, { truth: moved.truth, grid: p.mri, headMask: mask.mask }));
