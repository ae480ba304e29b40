#!/usr/bin/python3
"""CWRU bearing fault classifier: XGBoost on edgeloop's own per-window DSP features.

The features come from the C++ pipeline (no DSP here):
    edgeloop eval cwru --data ../shared/data/cwru --export-features out/cwru_features.csv
then
    /usr/bin/python3 tools/train/cwru_classifier.py --features out/cwru_features.csv

Protocol (../shared/data/cwru/README.md: never split a recording between training and test):
folds by motor load. Fold L trains on every fault recording at the other loads and tests on
the fault recordings at load L (whole recordings, each tested exactly once over the 4 folds).
The healthy baseline is one recording (record 97, 0 hp): its first 60 % (".part1") trains
every model, its last 40 % (".part2") is held back and classified by the final model.
A recording's class is the majority vote of its windows' argmax (ties: the larger summed
probability), exactly as src/eval/cwru_classify.cc does.

Model: XGBoost multi:softprob, 10 joint classes (normal + IR/OR/B x 0.007/0.014/0.021 in),
depth 4, 60 rounds, eta 0.15, 30 % of the features per tree, class-balanced weights, seed 0
(picked on these folds: src/eval/README.md, "CWRU fault classification", says how).

Writes <out> (the final model: every fault recording + the baseline's part1), one model per
fold (<stem>_fold<L>.json) and the card <stem>.sidecar.json (feature names in order, classes,
window/hop, the fold protocol and the recordings each model was trained on), which
`edgeloop eval cwru --model <out>` reads.
"""
import argparse
import csv
import json
import os
import sys

import numpy as np
import xgboost as xgb

WINDOW, HOP, NORMAL_SPLIT = 8192, 2048, 0.6


def load(path):
    with open(path) as f:
        r = csv.reader(f)
        head = next(r)
        rows = list(r)
    meta = head[:6]
    assert meta == ["recording", "label", "size_in", "load_hp", "rpm", "window"], meta
    names = head[6:]
    rec = np.array([x[0] for x in rows])
    label = np.array([x[1] for x in rows])
    size = np.array([float(x[2]) for x in rows])
    load_hp = np.array([int(x[3]) for x in rows])
    X = np.array([[float(v) for v in x[6:]] for x in rows], dtype=np.float32)
    return names, rec, label, size, load_hp, X


def class_table(scheme):
    if scheme == "defect":
        return [{"name": n, "label": n} for n in ["normal", "inner", "outer", "ball"]]
    out = [{"name": "normal", "label": "normal"}]
    for lab, pre in [("inner", "IR"), ("outer", "OR"), ("ball", "B")]:
        for s in (0.007, 0.014, 0.021):
            out.append({"name": "%s%03d" % (pre, round(s * 1000)), "label": lab, "size_in": s})
    return out


def target(classes, label, size):
    y = np.full(len(label), -1)
    for i, c in enumerate(classes):
        m = label == c["label"]
        if "size_in" in c:
            m &= np.abs(size - c["size_in"]) < 5e-4
        y[m] = i
    assert (y >= 0).all()
    return y


def train(X, y, k, args, seed=0):
    counts = np.bincount(y, minlength=k).astype(float)
    w = (len(y) / (k * np.maximum(counts, 1)))[y]
    d = xgb.DMatrix(X, label=y, weight=w)
    params = {"objective": "multi:softprob", "num_class": k, "max_depth": args.depth, "eta": args.eta,
              "subsample": 0.8, "colsample_bytree": args.colsample, "min_child_weight": 2,
              "lambda": 1.0, "seed": seed, "nthread": 2, "tree_method": "hist"}
    return xgb.train(params, d, num_boost_round=args.rounds)


def vote(p):
    votes = np.bincount(p.argmax(1), minlength=p.shape[1])
    sums = p.sum(0)
    best = 0
    for c in range(1, p.shape[1]):
        if votes[c] > votes[best] or (votes[c] == votes[best] and sums[c] > sums[best]):
            best = c
    return best, votes[best] / len(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--features", default="out/cwru_features.csv")
    ap.add_argument("--out", default="models/cwru_fault_xgb.json")
    ap.add_argument("--classes", choices=["joint", "defect"], default="joint",
                    help="joint: 10 classes (normal + 3 defects x 3 sizes); defect: 4 classes")
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--eta", type=float, default=0.15)
    ap.add_argument("--colsample", type=float, default=0.3)
    ap.add_argument("--drop", default="", help="comma-separated feature-name prefixes to leave out (set missing: no tree splits on them)")
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()

    names, rec, label, size, load_hp, X = load(args.features)
    if args.drop:
        for j, n in enumerate(names):
            if any(n.startswith(p) for p in args.drop.split(",")):
                X[:, j] = np.nan  # missing: trees never split on it
    classes = class_table(args.classes)
    k = len(classes)
    y = target(classes, label, size)
    is_normal = label == "normal"
    normal_train = np.array([r.endswith(".part1") for r in rec])
    normal_test = np.array([r.endswith(".part2") for r in rec])
    recordings = sorted(set(rec))

    stem = os.path.splitext(args.out)[0]
    folds, results = [], []
    for L in range(4):
        test = ~is_normal & (load_hp == L)
        if not test.any():
            continue
        tr = (~is_normal & (load_hp != L)) | normal_train
        m = train(X[tr], y[tr], k, args)
        folds.append({"test_load": L, "model": os.path.basename(stem) + "_fold%d.json" % L,
                      "train_recordings": sorted(set(rec[tr]))})
        if not args.no_save:
            m.save_model(stem + "_fold%d.json" % L)
        for r in sorted(set(rec[test])):
            sel = rec == r
            p = m.predict(xgb.DMatrix(X[sel]))
            c, share = vote(p)
            results.append((L, r, y[sel][0], c, share))
    trf = ~normal_test
    final = train(X[trf], y[trf], k, args)
    if not args.no_save:
        final.save_model(args.out)
    for r in sorted(set(rec[normal_test])):
        sel = rec == r
        c, share = vote(final.predict(xgb.DMatrix(X[sel])))
        results.append((-1, r, y[sel][0], c, share))

    defect = lambda c: classes[c]["label"]
    print("%-26s %4s %-8s %-8s %6s" % ("held-back recording", "fold", "truth", "class", "vote"))
    for L, r, t, c, share in results:
        print("%-26s %4d %-8s %-8s %5.0f%%%s" % (r, L, classes[t]["name"], classes[c]["name"], 100 * share,
                                                  "" if defect(t) == defect(c) else "  WRONG"))
    for L in sorted(set(x[0] for x in results)):
        fr = [x for x in results if x[0] == L]
        d = sum(defect(x[2]) == defect(x[3]) for x in fr)
        j = sum(x[2] == x[3] for x in fr)
        print("fold %s: %d recordings, defect right %d (%.1f%%), class right %d" %
              ("final" if L < 0 else "load %d" % L, len(fr), d, 100.0 * d / len(fr), j))
    n = len(results)
    d = sum(defect(x[2]) == defect(x[3]) for x in results)
    j = sum(x[2] == x[3] for x in results)
    print("all: %d held-back recordings, defect right %d (%.1f%%), class right %d (%.1f%%)" %
          (n, d, 100.0 * d / n, j, 100.0 * j / n))

    if not args.no_save:
        card = {
            "format": "xgboost-json",
            "feature_names": names,
            "classes": classes,
            "class_scheme": args.classes,
            "window": WINDOW, "hop": HOP, "normal_split": NORMAL_SPLIT,
            "features_from": "edgeloop eval cwru --export-features (src/eval/cwru_classify_features.cc)",
            "params": {"rounds": args.rounds, "depth": args.depth, "eta": args.eta, "colsample": args.colsample,
                       "class_weights": "balanced"},
            "protocol": "folds by motor load: fold L trains on the fault recordings at the other loads and the first "
                        "60% of the healthy baseline (<stem>.part1), tests on the fault recordings at load L; the "
                        "final model trains on every fault recording and part1; the baseline's last 40% (.part2) is "
                        "held back from every model; a recording's class is the majority of its windows' argmax",
            "final": {"model": os.path.basename(args.out), "train_recordings": sorted(set(rec[trf]))},
            "folds": folds,
            "cv": {"recordings": n, "defect_right": int(d), "class_right": int(j)},
        }
        with open(stem + ".sidecar.json", "w") as f:
            json.dump(card, f, indent=1)
        print("wrote", args.out, "and", stem + ".sidecar.json")


if __name__ == "__main__":
    sys.exit(main())
