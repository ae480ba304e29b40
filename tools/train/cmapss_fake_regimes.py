#!/usr/bin/python3
"""A check of `edgeloop eval cmapss`'s regime mapping where FD002-4 are not at hand: FD001's test
file made into six operating regimes. Each row gets one of FD002's six settings at random (with
the settings' own noise), and every sensor is scaled by 0.6-1.4 and shifted by up to +-200 per
regime (regime 0 left as read). The RUL file is FD001's.

  /usr/bin/python3 tools/train/cmapss_fake_regimes.py ../shared/data/cmapss/test_FD001.txt /tmp/test_FAKE6.txt
  edgeloop eval cmapss --model models/cmapss_fd001_xgb.json --test /tmp/test_FAKE6.txt --rul ../shared/data/cmapss/RUL_FD001.txt
"""
import sys

import numpy as np

REGIMES = [(0, 0, 100), (10, 0.25, 100), (20, 0.70, 100), (25, 0.62, 60), (35, 0.84, 100), (42, 0.84, 100)]


def main():
    src, dst = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(1)
    d = np.loadtxt(src)
    scale = rng.uniform(0.6, 1.4, (6, 21))
    scale[0] = 1
    off = rng.uniform(-200, 200, (6, 21))
    off[0] = 0
    r = rng.integers(0, 6, len(d))
    out = d.copy()
    for i in range(len(d)):
        k = r[i]
        out[i, 2:5] = REGIMES[k]
        out[i, 2] += rng.normal(0, 0.003)
        out[i, 3] += rng.normal(0, 0.0003)
        out[i, 5:] = d[i, 5:] * scale[k] + off[k]
    np.savetxt(dst, out, fmt="%.4f")


if __name__ == "__main__":
    main()
