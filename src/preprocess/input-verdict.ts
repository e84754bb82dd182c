/**
 * What preprocessing would make of one image, for `mri2ct info`: the canonical orientation it
 * would be stored in, and the input checks it would pass or fail as an MRI and as a CT (the same
 * checks preprocess and predict run: 2D/4D, NaN, constant, HU-likeness). The head-mask and pair
 * checks need the N4-corrected MRI and both files, so they are named, not run.
 * Reads the file; writes nothing.
 */
import { Mri2ctError } from '../errors';
import { looksLikeHu } from './input-checks';
import { loadVolume } from './load-pair';

export interface InputVerdict {
  /** Canonical orientation and how the stored one maps to it. */
  canonical: string;
  /** 'accepted' or the refusal, per role. */
  asMri: string;
  asCt: string;
}

/** Runs the input checks of the pipeline on one image. */
export async function inputVerdict(file: string, options: { volume?: number } = {}): Promise<InputVerdict> {
  let v;
  try {
    v = await loadVolume(file, 'the image', options);
  } catch (err) {
    if (!(err instanceof Mri2ctError)) throw err;
    return { canonical: '—', asMri: `refused: ${err.message}`, asCt: `refused: ${err.message}` };
  }
  const rec = v.reorientation;
  const canonical = rec.reoriented ? `stored ${rec.original}, reoriented to ${rec.canonical} (axes ${rec.axes.join(',')}, flips ${rec.flips.map((f) => (f ? 'y' : 'n')).join('')}), no resampling` : `${rec.canonical} already`;
  const hu = looksLikeHu(v.profile);
  return {
    canonical,
    asMri: hu ? `refused: Hounsfield-like values (1st percentile ${v.profile.p1.toFixed(0)}): looks like a CT` : 'accepted by the input checks (head-mask plausibility is checked after N4)',
    asCt: hu ? 'accepted: air near −1000 HU' : `refused: darkest voxels (1st percentile ${v.profile.p1.toFixed(0)}) are not near −1000 HU: not a CT in HU`,
  };
}
