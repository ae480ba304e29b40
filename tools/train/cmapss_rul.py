#!/usr/bin/python3
"""C-MAPSS FD001 remaining useful life: a GRU sequence model (ONNX) and an XGBoost model on
windowed features (JSON), both with a JSON sidecar that the C++ side (`edgeloop eval cmapss`,
the model operators) reads for the windowing.

Run with Debian's python (python3-torch, python3-xgboost, python3-onnx, numpy):
  /usr/bin/python3 tools/train/cmapss_rul.py [--data ../shared/data/cmapss] [--out models]

Protocol: window 30 cycles, the 14 informative sensors (s2 s3 s4 s7 s8 s9 s11 s12 s13 s14 s15
s17 s20 s21; s1 s5 s6 s10 s16 s18 s19 are near-constant in FD001 and the settings are dropped),
training target RUL capped at 125 (piecewise linear), min-max scaling from the training engines
(folded into the ONNX graph: the model takes raw sensor values). Engines 81-100 of the training
set are the validation split (epoch selection); the test figures are on the last window of each
test engine against RUL_FD001.txt. Engines shorter than the window are padded at the front with
their first row.
"""
import argparse
import json
import math
import os
import random
import time

import numpy as np

WINDOW = 30
CAP = 125.0
SENSORS = [2, 3, 4, 7, 8, 9, 11, 12, 13, 14, 15, 17, 20, 21]
# column index in the 26-column file: unit, cycle, 3 settings, s1..s21
COLUMNS = [4 + s for s in SENSORS]
VAL_ENGINES = set(range(81, 101))
SEED = 20261125


def load(path):
    data = np.loadtxt(path, dtype=np.float64)
    engines = {}
    for unit in np.unique(data[:, 0]).astype(int):
        rows = data[data[:, 0] == unit]
        rows = rows[np.argsort(rows[:, 1])]
        engines[int(unit)] = rows[:, COLUMNS].astype(np.float32)
    return engines


def pad_front(x):
    if len(x) >= WINDOW:
        return x
    return np.concatenate([np.repeat(x[:1], WINDOW - len(x), axis=0), x], axis=0)


def train_windows(engines, first_end=None):
    """Every window of every engine, ending at rows first_end..n (1-based; default: the first
    full window). Windows that start before the first row repeat it at the front, as the test
    engines shorter than the window are padded."""
    first_end = WINDOW if first_end is None else first_end
    xs, ys = [], []
    for rows in engines.values():
        n = len(rows)
        rul = np.minimum(CAP, np.arange(n - 1, -1, -1, dtype=np.float32))
        rows_p = np.concatenate([np.repeat(rows[:1], WINDOW, axis=0), rows], axis=0)
        for end in range(min(first_end, n), n + 1):
            xs.append(rows_p[end:end + WINDOW])
            ys.append(rul[end - 1])
    return np.stack(xs), np.array(ys, dtype=np.float32)


def last_windows(engines):
    units = sorted(engines)
    return units, np.stack([pad_front(engines[u])[-WINDOW:] for u in units])


def window_features(x):
    """x: [n, WINDOW, F] raw values -> [n, 3F]: per sensor last value, mean, least-squares slope
    over the window (slope per cycle, t = 0..WINDOW-1). Order: all lasts, all means, all slopes."""
    t = np.arange(WINDOW, dtype=np.float64)
    tc = t - t.mean()
    x64 = x.astype(np.float64)
    last = x64[:, -1, :]
    mean = x64.mean(axis=1)
    slope = np.einsum("t,ntf->nf", tc, x64 - mean[:, None, :]) / (tc * tc).sum()
    return np.concatenate([last, mean, slope], axis=1).astype(np.float32)


def rmse(pred, true):
    return float(math.sqrt(np.mean((np.asarray(pred, np.float64) - true) ** 2)))


def phm08(pred, true):
    d = np.asarray(pred, np.float64) - true
    return float(np.sum(np.where(d < 0, np.exp(-d / 13.0) - 1.0, np.exp(d / 10.0) - 1.0)))


def train_gru(xtr, ytr, xva, yva, lo, hi, args):
    import torch
    import torch.nn as nn

    torch.manual_seed(SEED)

    class Rul(nn.Module):
        # Scaling folded in: x_scaled = x * a + b (min-max from the training engines); the
        # network predicts RUL / CAP and the graph multiplies back, so the output is cycles.
        def __init__(self, f, hidden, layers):
            super().__init__()
            span = np.maximum(hi - lo, 1e-6)
            self.register_buffer("a", torch.tensor(1.0 / span, dtype=torch.float32))
            self.register_buffer("b", torch.tensor(-lo / span, dtype=torch.float32))
            self.gru = nn.GRU(f, hidden, num_layers=layers, batch_first=True, dropout=0.1 if layers > 1 else 0.0)
            self.head = nn.Sequential(nn.Linear(hidden, 32), nn.ReLU(), nn.Linear(32, 1))

        def forward(self, x):
            h, _ = self.gru(x * self.a + self.b)
            return self.head(h[:, -1, :]) * CAP

    model = Rul(xtr.shape[2], args.hidden, args.layers)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    xt, yt = torch.from_numpy(xtr), torch.from_numpy(ytr)
    xv = torch.from_numpy(xva)
    best, best_state, best_epoch = float("inf"), None, -1
    t0 = time.time()
    g = torch.Generator().manual_seed(SEED)
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=g)
        for i in range(0, len(xt), args.batch):
            idx = perm[i:i + args.batch]
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(xt[idx]).squeeze(1) / CAP, yt[idx] / CAP)
            loss.backward()
            opt.step()
        sched.step()
        model.eval()
        with torch.no_grad():
            pv = model(xv).squeeze(1).numpy()
        v = rmse(pv, yva)
        if v < best:
            best, best_epoch = v, epoch
            best_state = {k: t.clone() for k, t in model.state_dict().items()}
        print(f"gru epoch {epoch} loss {loss.item():.5f} val_rmse {v:.3f} t {time.time() - t0:.0f}s", flush=True)
    model.load_state_dict(best_state)
    model.eval()
    return model, best, best_epoch


def main():
    global WINDOW
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--data", default=os.path.join(here, "../../../shared/data/cmapss"))
    ap.add_argument("--out", default=os.path.join(here, "../../models"))
    ap.add_argument("--subset", default="FD001")
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--window", type=int, default=WINDOW, help="cycles per window (sidecar 'window')")
    ap.add_argument("--first-end", type=int, default=None,
                    help="train/validation windows end at rows first_end..n, front-padded (default: window)")
    ap.add_argument("--xgb-depth", type=int, default=4)
    ap.add_argument("--cv-folds", type=int, default=0,
                    help="XGBoost: K-fold over all 100 training engines, then retrain on all (0: engines 81-100 validate)")
    ap.add_argument("--skip-gru", action="store_true")
    ap.add_argument("--skip-xgb", action="store_true")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads; 1 measured faster than 2 on the shared 2-core machine")
    args = ap.parse_args()

    WINDOW = args.window
    import torch
    torch.set_num_threads(args.threads)
    random.seed(SEED)
    np.random.seed(SEED)

    train = load(os.path.join(args.data, f"train_{args.subset}.txt"))
    test = load(os.path.join(args.data, f"test_{args.subset}.txt"))
    true_rul = np.loadtxt(os.path.join(args.data, f"RUL_{args.subset}.txt"), dtype=np.float64)
    tr = {u: r for u, r in train.items() if u not in VAL_ENGINES}
    va = {u: r for u, r in train.items() if u in VAL_ENGINES}
    all_rows = np.concatenate(list(tr.values()))
    lo, hi = all_rows.min(axis=0), all_rows.max(axis=0)
    xtr, ytr = train_windows(tr, args.first_end)
    xva, yva = train_windows(va, args.first_end)
    units, xte = last_windows(test)
    assert units == list(range(1, len(true_rul) + 1))
    print(f"train windows {len(xtr)} val windows {len(xva)} test engines {len(units)}")
    os.makedirs(args.out, exist_ok=True)
    summary = {}

    if not args.skip_gru:
        t0 = time.time()
        model, val, epoch = train_gru(xtr, ytr, xva, yva, lo, hi, args)
        secs = time.time() - t0
        with torch.no_grad():
            pte = model(torch.from_numpy(xte)).squeeze(1).numpy().astype(np.float64)
        params = sum(p.numel() for p in model.parameters())
        path = os.path.join(args.out, "cmapss_fd001_gru.onnx")
        torch.onnx.export(model, torch.from_numpy(xte[:2]), path, opset_version=13,
                          input_names=["window"], output_names=["rul"],
                          dynamic_axes={"window": {0: "batch"}, "rul": {0: "batch"}})
        import onnx
        onnx.checker.check_model(onnx.load(path))
        figures = {
            "val_rmse": round(val, 4), "best_epoch": epoch,
            "test_rmse": round(rmse(pte, true_rul), 4), "test_phm08": round(phm08(pte, true_rul), 2),
            "first10_rmse": round(rmse(pte[:10], true_rul[:10]), 6),
            "first10_phm08": round(phm08(pte[:10], true_rul[:10]), 6),
            "parameters": int(params), "file_bytes": os.path.getsize(path), "train_seconds": round(secs, 1),
        }
        sidecar = {
            "model": "cmapss_fd001_gru.onnx", "kind": "sequence", "dataset": "cmapss", "trained_on": args.subset,
            "window": WINDOW, "rul_cap": CAP, "sensors": SENSORS,
            "columns": COLUMNS, "columns_note": "0-based columns of the 26-column C-MAPSS row",
            "input": "[batch, window, sensors] raw sensor values, oldest cycle first",
            "scaling": "folded into the graph (min-max from training engines 1-80)", "scaling_in_graph": True,
            "scale_min": [float(v) for v in lo], "scale_max": [float(v) for v in hi],
            "padding": "engines shorter than the window: repeat the first row at the front",
            "output": "[batch, 1] predicted RUL in cycles", "seed": SEED,
            "figures": figures,
            "first10_pred": [round(float(v), 6) for v in pte[:10]],
        }
        with open(os.path.join(args.out, "cmapss_fd001_gru.json"), "w") as f:
            json.dump(sidecar, f, indent=1)
        summary["gru"] = figures
        print("gru", json.dumps(figures), flush=True)

    if not args.skip_xgb:
        import xgboost as xgb
        t0 = time.time()
        ftr, fva, fte = window_features(xtr), window_features(xva), window_features(xte)
        params = dict(max_depth=args.xgb_depth, learning_rate=0.03, subsample=0.8, colsample_bytree=0.8,
                      min_child_weight=5, random_state=SEED, n_jobs=2, tree_method="hist")
        if args.cv_folds > 1:
            # K-fold over all training engines: the out-of-fold RMSE chooses the configuration and
            # the number of trees (mean of the folds' best iterations); the saved model is then
            # trained on every engine with that many trees.
            order = np.random.RandomState(SEED).permutation(sorted(train))
            folds = np.array_split(order, args.cv_folds)
            oof_p, oof_y, iters = [], [], []
            for fold in folds:
                held = set(int(u) for u in fold)
                xa, ya = train_windows({u: r for u, r in train.items() if u not in held}, args.first_end)
                xb, yb = train_windows({u: r for u, r in train.items() if u in held}, args.first_end)
                r = xgb.XGBRegressor(n_estimators=1500, early_stopping_rounds=50, **params)
                r.fit(window_features(xa), ya, eval_set=[(window_features(xb), yb)], verbose=False)
                oof_p.append(r.predict(window_features(xb)))
                oof_y.append(yb)
                iters.append(int(r.best_iteration) + 1)
            pva, yva = np.concatenate(oof_p), np.concatenate(oof_y)
            rounds = int(round(float(np.mean(iters))))
            print(f"xgb cv folds {args.cv_folds} best iterations {iters} -> {rounds} trees, cv rmse {rmse(pva, yva):.3f}")
            xall, yall = train_windows(train, args.first_end)
            reg = xgb.XGBRegressor(n_estimators=rounds, **params)
            reg.fit(window_features(xall), yall, verbose=False)
            best_iteration = rounds - 1
        else:
            reg = xgb.XGBRegressor(n_estimators=1500, early_stopping_rounds=50, **params)
            reg.fit(ftr, ytr, eval_set=[(fva, yva)], verbose=False)
            best_iteration = int(reg.best_iteration)
            pva = reg.predict(fva)
        secs = time.time() - t0
        pte = reg.predict(fte).astype(np.float64)
        path = os.path.join(args.out, "cmapss_fd001_xgb.json")
        # Keep only the trees up to the best iteration: the C++ side runs every tree in the file.
        reg.get_booster()[: best_iteration + 1].save_model(path)
        bst = xgb.Booster()
        bst.load_model(path)
        p2 = bst.predict(xgb.DMatrix(fte))
        assert np.allclose(p2, pte, atol=1e-4), "saved model differs"
        figures = {
            "val_rmse": round(rmse(pva, yva), 4), "best_iteration": best_iteration, "cv_folds": args.cv_folds,
            "test_rmse": round(rmse(pte, true_rul), 4), "test_phm08": round(phm08(pte, true_rul), 2),
            "first10_rmse": round(rmse(pte[:10], true_rul[:10]), 6),
            "first10_phm08": round(phm08(pte[:10], true_rul[:10]), 6),
            "trees": best_iteration + 1, "file_bytes": os.path.getsize(path),
            "train_seconds": round(secs, 1), "first_end": args.first_end or WINDOW,
            "depth": args.xgb_depth,
        }
        sidecar = {
            "model": "cmapss_fd001_xgb.json", "kind": "window_features", "dataset": "cmapss",
            "trained_on": args.subset, "window": WINDOW, "rul_cap": CAP, "sensors": SENSORS,
            "columns": COLUMNS, "columns_note": "0-based columns of the 26-column C-MAPSS row",
            "features": ["last", "mean", "slope"],
            "features_note": "raw (unscaled) values; feature vector = lasts of every sensor, then means, then "
                             "least-squares slopes per cycle over the window (t = 0..window-1)",
            "num_features": int(ftr.shape[1]), "iteration_limit": best_iteration + 1,
            "padding": "engines shorter than the window: repeat the first row at the front",
            "output": "predicted RUL in cycles", "seed": SEED, "figures": figures,
            "first10_pred": [round(float(v), 6) for v in pte[:10]],
        }
        with open(os.path.join(args.out, "cmapss_fd001_xgb.sidecar.json"), "w") as f:
            json.dump(sidecar, f, indent=1)
        summary["xgb"] = figures
        print("xgb", json.dumps(figures), flush=True)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
