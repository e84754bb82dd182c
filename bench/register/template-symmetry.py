#!/usr/bin/python3
"""Mid-sagittal symmetry planes of the atlas pair (MNI152_T1_2mm and scct_HU), independent of
mutual information: each image is compared with its own mirror image (correlation over the head),
and the mirror plane (yaw about z, roll about y, offset along its normal) is optimised (Powell).
With --out DIR, also writes the MRI made symmetric (mean of it and its mirror) about its own plane
(mni_sym_own.nii.gz) and about the CT's plane (mni_sym_ct.nii.gz), for
`tre-study.ts --mri DIR/mni_sym_ct.nii.gz`. Writes nothing else; never write into the repository.
Usage: /usr/bin/python3 bench/register/template-symmetry.py [--out /tmp/sym]
Needs nibabel and scipy.
"""
import argparse, os
import nibabel as nib, numpy as np
from scipy import ndimage as ndi, optimize

S = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'shared', 'scans')
ap = argparse.ArgumentParser()
ap.add_argument('--out')
args = ap.parse_args()
m = nib.load(os.path.join(S, 'niivue-demo-images/register/MNI152_T1_2mm.nii.gz'))
c = nib.load(os.path.join(S, 'neurolabusc-Clinical/derived/scct_HU.nii.gz'))
A = m.affine; Ainv = np.linalg.inv(A)
assert np.allclose(A, c.affine), 'the pair must share its grid'
M = m.get_fdata(); C = c.get_fdata()

def filled_largest(b):
    b = ndi.binary_fill_holes(b)
    lab, n = ndi.label(b)
    return lab == (1 + np.argmax(ndi.sum(b, lab, range(1, n + 1))))

head = filled_largest(M > 0.15 * np.percentile(M[M > 0], 99))
idx = np.argwhere(head); W = (A[:3, :3] @ idx.T).T + A[:3, 3]
cen = W.mean(0)  # planes are given relative to the MRI head's centroid
pts = W[np.random.default_rng(0).choice(len(W), 100000, replace=False)]

def plane(p):
    yaw, roll = np.deg2rad(p[0]), np.deg2rad(p[1])
    n = np.array([np.cos(yaw) * np.cos(roll), np.sin(yaw) * np.cos(roll), np.sin(roll)])
    return n, cen + p[2] * n

def mirrored(img, p, q):
    n, x0 = plane(p)
    r = q - 2 * ((q - x0) @ n)[:, None] * n
    return ndi.map_coordinates(img, ((Ainv[:3, :3] @ r.T).T + Ainv[:3, 3]).T, order=1, mode='nearest')

def fit(img):
    a = ndi.map_coordinates(img, ((Ainv[:3, :3] @ pts.T).T + Ainv[:3, 3]).T, order=1)
    r = optimize.minimize(lambda p: -np.corrcoef(a, mirrored(img, p, pts))[0, 1], np.zeros(3), method='Powell', options={'xtol': 1e-4, 'ftol': 1e-9})
    return r.x, -r.fun

mri_p, mri_r = fit(np.clip(M, 0, np.percentile(M[head], 99.5)))
ct_p, ct_r = fit(np.clip(C, -1000, 2000))
for name, p, r in (('MRI', mri_p, mri_r), ('CT', ct_p, ct_r)):
    print(f'{name}: plane yaw {p[0]:+.3f} deg, roll {p[1]:+.3f} deg, offset {p[2]:+.3f} mm (x, from the head centroid); mirror correlation {r:.4f}')
print(f'CT plane minus MRI plane: yaw {ct_p[0] - mri_p[0]:+.3f} deg, roll {ct_p[1] - mri_p[1]:+.3f} deg, offset {ct_p[2] - mri_p[2]:+.3f} mm')
if args.out:
    os.makedirs(args.out, exist_ok=True)
    g = np.indices(M.shape).reshape(3, -1).T
    P = (A[:3, :3] @ g.T).T + A[:3, 3]
    for name, p in (('own', mri_p), ('ct', ct_p)):
        n, x0 = plane(p)
        r = P - 2 * ((P - x0) @ n)[:, None] * n
        mir = ndi.map_coordinates(M, ((Ainv[:3, :3] @ r.T).T + Ainv[:3, 3]).T, order=1, mode='constant', cval=0).reshape(M.shape)
        out = os.path.join(args.out, f'mni_sym_{name}.nii.gz')
        nib.save(nib.Nifti1Image((0.5 * (M + mir)).astype(np.float32), A, m.header), out)
        print('wrote', out)
