/**
 * N4's histogram sharpening (Tustison et al., "N4ITK: Improved N3 Bias Correction", IEEE TMI
 * 29(6), 2010, sec. II-B, inheriting N3: Sled, Zijdenbos & Evans, IEEE TMI 17(1), 1998).
 *
 * The log intensities v of the current (partially corrected) image are modelled as the true log
 * intensities u blurred by the residual log bias, a Gaussian of full width at half maximum FWHM:
 * V = U * F. The histogram of U is estimated by Wiener deconvolution,
 *     U_hat = V_hat * conj(F_hat) / (|F_hat|^2 + noise),
 * and every voxel is mapped to the conditional expectation of u given its v,
 *     E[u | v] = (u U * F)(v) / (U * F)(v),
 * interpolated linearly between histogram bins. This follows ITK's
 * N4BiasFieldCorrectionImageFilter::SharpenImage step by step: triangular Parzen histogram of
 * `bins` bins between the extreme values, zero-padding to 2^(ceil(log2 bins) + 1) with the
 * histogram centred, a unit-area Gaussian sampled in bin units, only the real part of the Wiener
 * filter applied, negative deconvolved counts clamped to 0.
 */

import { fft } from './fft';

/** Parameters of the sharpening step. */
export interface SharpenParams {
  /** Number of histogram bins (ITK default 200). */
  bins: number;
  /** FWHM of the Gaussian bias-field model in log-intensity units (ITK default 0.15). */
  fwhm: number;
  /** Wiener filter noise (ITK default 0.01). */
  wienerNoise: number;
}

/** Reusable buffers for {@link sharpenLogIntensities}. */
export class Sharpener {
  readonly params: SharpenParams;
  private readonly padded: number;
  private readonly offset: number;
  private readonly hist: Float64Array;
  private readonly vRe: Float64Array;
  private readonly vIm: Float64Array;
  private readonly fRe: Float64Array;
  private readonly fIm: Float64Array;
  private readonly aRe: Float64Array;
  private readonly aIm: Float64Array;
  private readonly bRe: Float64Array;
  private readonly bIm: Float64Array;
  private readonly mapping: Float64Array;

  constructor(params: SharpenParams) {
    this.params = params;
    const exponent = Math.ceil(Math.log2(params.bins)) + 1;
    this.padded = Math.pow(2, exponent);
    this.offset = Math.floor(0.5 * (this.padded - params.bins));
    const p = this.padded;
    this.hist = new Float64Array(params.bins);
    this.vRe = new Float64Array(p);
    this.vIm = new Float64Array(p);
    this.fRe = new Float64Array(p);
    this.fIm = new Float64Array(p);
    this.aRe = new Float64Array(p);
    this.aIm = new Float64Array(p);
    this.bRe = new Float64Array(p);
    this.bIm = new Float64Array(p);
    this.mapping = new Float64Array(params.bins);
  }

  /**
   * Writes the sharpened value E[u | v] of every input value into `out` (may alias `input`).
   * Returns false (and copies the input) when all values are equal: nothing to sharpen.
   */
  sharpen(input: Float64Array, out: Float64Array, count = input.length): boolean {
    const { bins, fwhm, wienerNoise } = this.params;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < count; i++) {
      const v = input[i] as number;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const slope = (hi - lo) / (bins - 1);
    if (!(slope > 1e-12 * Math.max(1, Math.abs(hi), Math.abs(lo)))) {
      if (out !== input) out.set(input.subarray(0, count));
      return false;
    }

    // Triangular Parzen-window histogram.
    const H = this.hist;
    H.fill(0);
    const inv = 1 / slope;
    for (let i = 0; i < count; i++) {
      const c = ((input[i] as number) - lo) * inv;
      let idx = Math.floor(c);
      if (idx > bins - 1) idx = bins - 1;
      const off = c - idx;
      if (off === 0 || idx >= bins - 1) {
        H[idx] = (H[idx] as number) + 1;
      } else {
        H[idx] = (H[idx] as number) + 1 - off;
        H[idx + 1] = (H[idx + 1] as number) + off;
      }
    }

    const P = this.padded;
    const offset = this.offset;
    const vRe = this.vRe;
    const vIm = this.vIm;
    vRe.fill(0);
    vIm.fill(0);
    for (let n = 0; n < bins; n++) vRe[n + offset] = H[n] as number;
    fft(vRe, vIm);

    // Unit-area Gaussian of the given FWHM, in bins, sampled circularly around index 0.
    const scaledFwhm = fwhm / slope;
    const expFactor = (4 * Math.LN2) / (scaledFwhm * scaledFwhm);
    const scaleFactor = (2 * Math.sqrt(Math.LN2 / Math.PI)) / scaledFwhm;
    const fRe = this.fRe;
    const fIm = this.fIm;
    fRe.fill(0);
    fIm.fill(0);
    fRe[0] = scaleFactor;
    const half = P >>> 1;
    for (let n = 1; n <= half; n++) {
      const g = scaleFactor * Math.exp(-n * n * expFactor);
      fRe[n] = g;
      fRe[P - n] = g;
    }
    fft(fRe, fIm);

    // Wiener deconvolution; like ITK only the real part of the filter G = conj(F)/(|F|^2 + noise)
    // multiplies the histogram spectrum (F is real and even, so G is real up to rounding).
    const aRe = this.aRe;
    const aIm = this.aIm;
    for (let n = 0; n < P; n++) {
      const fr = fRe[n] as number;
      const fi = fIm[n] as number;
      const g = fr / (fr * fr + fi * fi + wienerNoise);
      aRe[n] = (vRe[n] as number) * g;
      aIm[n] = (vIm[n] as number) * g;
    }
    fft(aRe, aIm, true);
    // U: estimated histogram of the true log intensities, clamped to be non-negative.
    const U = aRe;
    for (let n = 0; n < P; n++) if (!((U[n] as number) > 0)) U[n] = 0;

    // numerator = (v U) * F, denominator = U * F (convolutions through the FFT).
    const bRe = this.bRe;
    const bIm = this.bIm;
    for (let n = 0; n < P; n++) {
      bRe[n] = (lo + (n - offset) * slope) * (U[n] as number);
      bIm[n] = 0;
      aIm[n] = 0;
    }
    fft(bRe, bIm);
    fft(aRe, aIm);
    for (let n = 0; n < P; n++) {
      const fr = fRe[n] as number;
      const fi = fIm[n] as number;
      let r = bRe[n] as number;
      let i = bIm[n] as number;
      bRe[n] = r * fr - i * fi;
      bIm[n] = r * fi + i * fr;
      r = aRe[n] as number;
      i = aIm[n] as number;
      aRe[n] = r * fr - i * fi;
      aIm[n] = r * fi + i * fr;
    }
    fft(bRe, bIm, true);
    fft(aRe, aIm, true);

    // E[u | v] on the original (unpadded) bins.
    // ITK divides wherever the denominator is non-zero. Where the smoothed histogram is only
    // FFT rounding noise (a gap far from any data) that ratio is meaningless, so below a relative
    // floor the bin maps to itself instead (no sharpening there, hence no residual).
    const E = this.mapping;
    let maxDen = 0;
    for (let n = 0; n < bins; n++) maxDen = Math.max(maxDen, Math.abs(aRe[n + offset] as number));
    const floor = 1e-10 * maxDen;
    for (let n = 0; n < bins; n++) {
      const den = aRe[n + offset] as number;
      E[n] = den > floor ? (bRe[n + offset] as number) / den : lo + n * slope;
    }

    const last = E[bins - 1] as number;
    for (let i = 0; i < count; i++) {
      const c = ((input[i] as number) - lo) * inv;
      const idx = Math.floor(c);
      if (idx < bins - 1) {
        const e0 = E[idx] as number;
        out[i] = e0 + ((E[idx + 1] as number) - e0) * (c - idx);
      } else {
        out[i] = last;
      }
    }
    return true;
  }
}
