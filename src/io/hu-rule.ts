/**
 * The one rule for "these values are a CT in Hounsfield units": air near −1000 makes up the
 * darkest voxels. Used by the input checks (preprocess, predict) and by `mri2ct info`'s units
 * guess, so that the two never disagree. Must not read files or know about pairs.
 */

/** What the rule looks at: the 1st percentile and the fraction of voxels below −500. */
export interface HuEvidence {
  p1: number;
  belowMinus500: number;
}

/** True when the values look like a CT in HU (1st percentile ≤ −500 and ≥ 1 % of voxels below −500). */
export function looksLikeHu(p: HuEvidence): boolean {
  return p.p1 <= -500 && p.belowMinus500 >= 0.01;
}
