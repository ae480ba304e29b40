#!/usr/bin/python3
"""The healthy baseline of a C-MAPSS training subset, for a model's sidecar ("healthy_baseline"):
per sensor column the mean and population standard deviation over the rows with cycle <= 30
(every engine starts healthy), and the subset's operating regime. `edgeloop eval cmapss` maps each
operating regime of another subset (FD002/FD004 fly six) onto it before the model sees the rows;
see src/eval/cmapss_regimes.h.

  /usr/bin/python3 tools/train/cmapss_healthy_baseline.py --train ../shared/data/cmapss/train_FD001.txt \
      models/cmapss_fd001_gru.json models/cmapss_fd001_xgb.sidecar.json
adds the key to each sidecar given (their "columns" say which columns); cmapss_rul.py calls
healthy_baseline() when it writes the sidecars.
"""
import argparse
import json

import numpy as np

CYCLES = 30


def healthy_baseline(train_path, columns, cycles=CYCLES):
    data = np.loadtxt(train_path, dtype=np.float64)
    rows = data[data[:, 1] <= cycles]
    settings = [float(round(np.mean(rows[:, 2]))), float(round(np.mean(rows[:, 3]) * 100) / 100),
                float(round(np.mean(rows[:, 4])))]
    cols = [int(c) for c in columns]
    return {
        "cycles": cycles,
        "settings": settings,
        "columns": cols,
        "mean": [float(np.mean(rows[:, c])) for c in cols],
        "std": [float(np.std(rows[:, c])) for c in cols],
        "what": "training rows with cycle <= %d: mean and population std per column; eval cmapss maps every "
                "operating regime of another subset onto it (src/eval/cmapss_regimes.h)" % cycles,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", required=True)
    ap.add_argument("sidecars", nargs="+")
    args = ap.parse_args()
    for path in args.sidecars:
        with open(path) as f:
            side = json.load(f)
        side["healthy_baseline"] = healthy_baseline(args.train, side["columns"])
        with open(path, "w") as f:
            json.dump(side, f, indent=1)
            f.write("\n")
        print(path, "healthy_baseline over", len(side["columns"]), "columns")


if __name__ == "__main__":
    main()
