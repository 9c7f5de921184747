#!/usr/bin/env python3
"""make_numpy_seeds.py OUT: .npy and .npz seeds for fuzz_npy and fuzz_npz, written by numpy itself
(numpy.save, numpy.savez, numpy.savez_compressed) as users make the files prepare-data reads."""
import io
import os
import sys

import numpy as np


def main(out):
    os.makedirs(os.path.join(out, 'npy'), exist_ok=True)
    os.makedirs(os.path.join(out, 'npz'), exist_ok=True)
    rng = np.random.default_rng(0)
    u8 = rng.integers(0, 256, size=(2, 4, 4), dtype=np.uint8)
    arrays = {
        'images-u8-nhw': u8,
        'images-u8-nhwc': u8[:, :, :, None],
        'images-f32-nchw': rng.random((2, 3, 4, 4), dtype=np.float32),
        'labels-i8': np.array([0, 3], dtype=np.int8),
        'labels-i64': np.array([1, 9], dtype=np.int64),
        'labels-u1': np.array([2, 0], dtype=np.uint8),
        'float64': np.array([0.5, 1.0]),
    }
    for name, a in arrays.items():
        np.save(os.path.join(out, 'npy', name + '.npy'), a)
    # Format version 2 (numpy picks it for headers over 65535 bytes; forced here).
    buf = io.BytesIO()
    np.lib.format.write_array(buf, u8, version=(2, 0))
    with open(os.path.join(out, 'npy', 'version2.npy'), 'wb') as f:
        f.write(buf.getvalue())
    labels = np.array([3, 1], dtype=np.int64)
    np.savez(os.path.join(out, 'npz', 'stored.npz'), x=u8[:, :, :, None], y=labels)
    np.savez_compressed(os.path.join(out, 'npz', 'deflated.npz'), images=u8[:, None], labels=labels)


if __name__ == '__main__':
    main(sys.argv[1])
