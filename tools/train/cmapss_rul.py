#!/usr/bin/python3
"""C-MAPSS FD001 remaining useful life: a sequence model (ONNX) and an XGBoost model on windowed
features (JSON), each with a JSON sidecar that the C++ side (`edgeloop eval cmapss`) reads for
the windowing.

Run with Debian's python (python3-torch, python3-xgboost, python3-onnx, numpy):
  /usr/bin/python3 tools/train/cmapss_rul.py [--data ../shared/data/cmapss] [--out models]
    -> cmapss_fd001_tfb.{onnx,json} and cmapss_fd001_xgb.{json,sidecar.json}
  --tfb-age --skip-xgb: the sequence model with the cycle number (the engine's age) as one more
    channel -> cmapss_fd001_tfb_age.{onnx,json}
  --seq gru retrains the earlier GRU (cmapss_fd001_gru.{onnx,json}, engines 81-100 validate).

Protocol: the 14 informative sensors (s2 s3 s4 s7 s8 s9 s11 s12 s13 s14 s15 s17 s20 s21; s1 s5
s6 s10 s16 s18 s19 are near-constant in FD001 and the settings are dropped), training target RUL
capped at 125 (piecewise linear), a training window ending at every row of every engine (rows
before the first repeat it, as the C++ side pads short test engines). Every choice (epochs,
trees, hyper-parameters) by 5-fold cross-validation over the 100 training engines, folds grouped
by engine; the saved models are then trained on all 100. Test figures: the last window of each
test engine against RUL_FD001.txt, written to the sidecars (tests compare the C++ side to them).
- tfb (window 50): min-max scaling to [-1, 1] folded into the graph (the model takes raw sensor
  values), K learnt temporal filters shared by the sensors, an MLP; several seeds averaged in one graph.
- xgb (window 50): the sidecar's "features" tokens (last, mean@10/30/50, slope@10/30/50 by default).
"""
import argparse
import json
import math
import os
import random
import time

import numpy as np

WINDOW = 30
CAP = 130.0  # chosen by the CV proxy (README: 120 / 125 / 130)
SENSORS = [2, 3, 4, 7, 8, 9, 11, 12, 13, 14, 15, 17, 20, 21]
# column index in the 26-column file: unit, cycle, 3 settings, s1..s21
COLUMNS = [4 + s for s in SENSORS]
VAL_ENGINES = set(range(81, 101))
SEED = 20261125


def load(path):
    """({unit: [n, len(COLUMNS)] float32 rows in cycle order}, {unit: the cycle column}); the
    "cycle" feature reads the latter, as the C++ side does."""
    data = np.loadtxt(path, dtype=np.float64)
    engines, cycles = {}, {}
    for unit in np.unique(data[:, 0]).astype(int):
        rows = data[data[:, 0] == unit]
        rows = rows[np.argsort(rows[:, 1])]
        engines[int(unit)] = rows[:, COLUMNS].astype(np.float32)
        cycles[int(unit)] = rows[:, 1]
    return engines, cycles


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


def parse_token(tok):
    """Sidecar feature token -> (stat, argument): "mean@10" -> ("mean", 10), "mean" -> ("mean",
    WINDOW), "ewm@0.1" -> ("ewm", 0.1), "cycle" -> ("cycle", None). src/eval/cmapss.cc reads the same."""
    stat, _, arg = tok.partition("@")
    if stat == "cycle":
        return stat, None
    if stat == "ewm":
        return stat, float(arg)
    if stat not in ("last", "mean", "slope", "std", "min", "max"):
        raise ValueError(f"feature token {tok}")
    return stat, int(arg) if arg else WINDOW


def engine_features(rows, cycles, tokens, ends):
    """One engine's feature rows for the windows ending at rows `ends` (1-based, inclusive).
    rows: [n, F] float32 raw sensors; cycles: [n] the cycle column. Each token gives one value per
    sensor (the cycle token: one value) in sensor order; windows reach back over WINDOW rows,
    rows before the first repeat it; a token's "@N" takes the last N of those; ewm runs over the
    whole history from the first row (ewm_0 = x_0, ewm_r = a x_r + (1 - a) ewm_{r-1})."""
    x = rows.astype(np.float64)
    xp = np.concatenate([np.repeat(x[:1], WINDOW, axis=0), x], axis=0)  # xp[WINDOW + r] = row r
    ends = np.asarray(ends)
    out = []
    for tok in tokens:
        stat, arg = parse_token(tok)
        if stat == "cycle":
            out.append(np.asarray(cycles, np.float64)[ends - 1][:, None])
            continue
        if stat == "ewm":
            e = np.empty_like(x)
            e[0] = x[0]
            for r in range(1, len(x)):
                e[r] = arg * x[r] + (1.0 - arg) * e[r - 1]
            out.append(e[ends - 1])
            continue
        win = xp[(WINDOW + ends)[:, None] + np.arange(-arg, 0)[None, :]]  # [m, arg, F]
        if stat == "last":
            out.append(win[:, -1])
            continue
        mean = win.mean(axis=1)
        if stat == "mean":
            out.append(mean)
        elif stat == "slope":
            tc = np.arange(arg) - (arg - 1) / 2.0
            out.append(np.einsum("t,mtf->mf", tc, win - mean[:, None]) / (tc * tc).sum())
        elif stat == "std":
            out.append(np.sqrt(((win - mean[:, None]) ** 2).mean(axis=1)))
        else:
            out.append(win.min(axis=1) if stat == "min" else win.max(axis=1))
    return np.concatenate(out, axis=1).astype(np.float32)


def feature_windows(engines, cycles, tokens, first_end=1):
    """Every window of every engine ending at rows first_end..n: features and capped RUL."""
    xs, ys = [], []
    for u, rows in engines.items():
        n = len(rows)
        ends = np.arange(min(first_end, n), n + 1)
        xs.append(engine_features(rows, cycles[u], tokens, ends))
        ys.append(np.minimum(CAP, n - ends).astype(np.float32))
    return np.concatenate(xs), np.concatenate(ys)


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


def engine_folds(units, k):
    """k engine-grouped folds over the training engines, from the seed."""
    order = np.random.RandomState(SEED).permutation(sorted(units))
    return [set(int(u) for u in f) for f in np.array_split(order, k)]


def tfb_filters(window, k):
    """Initial temporal filters (columns): last value, means over the last 10/30/window cycles,
    least-squares slopes over the same spans (times 10), then small random filters."""
    cols = [np.eye(window)[-1]]
    spans = [n for n in (10, 30, window) if n <= window]
    for n in spans:
        v = np.zeros(window)
        v[-n:] = 1.0 / n
        cols.append(v)
    for n in spans:
        v = np.zeros(window)
        tc = np.arange(n) - (n - 1) / 2.0
        v[-n:] = tc / (tc * tc).sum() * 10.0
        cols.append(v)
    m = np.stack(cols, 1)[:, :k]
    if k > m.shape[1]:
        m = np.concatenate([m, np.random.RandomState(SEED).randn(window, k - m.shape[1]) * 0.05], 1)
    return m.astype(np.float32)


def make_tfb(f, args):
    """Temporal filter bank + MLP on a scaled window: every sensor's window goes through the same
    K learnt temporal filters (one MatMul), the F x K responses through a 2-hidden-layer MLP; the
    output is RUL / cap."""
    import torch
    import torch.nn as nn

    class Tfb(nn.Module):
        def __init__(self):
            super().__init__()
            self.filters = nn.Parameter(torch.from_numpy(tfb_filters(WINDOW, args.tfb_filters)))
            h = args.tfb_hidden
            self.mlp = nn.Sequential(nn.Flatten(), nn.Dropout(args.tfb_dropout), nn.Linear(f * args.tfb_filters, h),
                                     nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 1))

        def forward(self, z):
            return self.mlp(torch.matmul(z.transpose(1, 2), self.filters))  # z: [batch, window, sensors]

    return Tfb()


def scaled_mean(members, lo, hi):
    """One graph: min-max scaling of the raw window to [-1, 1] (training engines' min/max, so the
    C++ side feeds raw values), the members side by side, their outputs averaged (Add, Mul) and
    multiplied back to cycles."""
    import torch
    import torch.nn as nn

    class ScaledMean(nn.Module):
        def __init__(self):
            super().__init__()
            span = np.maximum(hi - lo, 1e-6)
            self.register_buffer("a", torch.tensor(2.0 / span, dtype=torch.float32))
            self.register_buffer("b", torch.tensor(-2.0 * lo / span - 1.0, dtype=torch.float32))
            self.members = nn.ModuleList(members)

        def forward(self, x):
            z = x * self.a + self.b
            out = self.members[0](z)
            for m in self.members[1:]:
                out = out + m(z)
            return out * (CAP / len(self.members))

    return ScaledMean()


def train_tfb(xa, ya, lo, hi, args, seed, epochs, evals=None, every=5):
    """One seed; evals: windows to predict every `every` epochs (the CV's epoch choice)."""
    import torch
    import torch.nn as nn

    torch.manual_seed(seed)
    model = scaled_mean([make_tfb(xa.shape[2], args)], lo, hi)
    opt = torch.optim.AdamW(model.parameters(), lr=args.tfb_lr, weight_decay=args.tfb_wd)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    xt, yt = torch.from_numpy(xa), torch.from_numpy(ya) / CAP
    g = torch.Generator().manual_seed(seed)
    hist = {}
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(xt), generator=g)
        for i in range(0, len(xt), args.batch):
            idx = perm[i:i + args.batch]
            opt.zero_grad()
            loss = nn.functional.mse_loss(model(xt[idx]).squeeze(1) / CAP, yt[idx])
            loss.backward()
            opt.step()
        sched.step()
        if evals is not None and (epoch + 1) % every == 0:
            model.eval()
            with torch.no_grad():
                hist[epoch + 1] = model(torch.from_numpy(evals)).squeeze(1).numpy().astype(np.float64)
    model.eval()
    return model, hist


def with_baseline(sidecar, data_dir, subset):
    """Adds "healthy_baseline" (cmapss_healthy_baseline.py) for eval cmapss on other subsets."""
    from cmapss_healthy_baseline import healthy_baseline
    sensors = [c for c in sidecar["columns"] if c >= 5]  # not the cycle (column 1) of an age model
    sidecar["healthy_baseline"] = healthy_baseline(os.path.join(data_dir, f"train_{subset}.txt"), sensors)
    return sidecar


def figures_on_test(pte, true_rul):
    return {
        "test_rmse": round(rmse(pte, true_rul), 4), "test_phm08": round(phm08(pte, true_rul), 2),
        "first10_rmse": round(rmse(pte[:10], true_rul[:10]), 6),
        "first10_phm08": round(phm08(pte[:10], true_rul[:10]), 6),
    }


def export_onnx(model, xte, path):
    import onnx
    import torch
    torch.onnx.export(model, torch.from_numpy(xte[:2]), path, opset_version=13,
                      input_names=["window"], output_names=["rul"],
                      dynamic_axes={"window": {0: "batch"}, "rul": {0: "batch"}})
    onnx.checker.check_model(onnx.load(path))


def sequence_sidecar(name, lo, hi, scaling, figures, pte):
    return {
        "model": name, "kind": "sequence", "dataset": "cmapss", "trained_on": ARGS.subset,
        "window": WINDOW, "rul_cap": CAP, "sensors": SENSORS,
        "columns": COLUMNS, "columns_note": "0-based columns of the 26-column C-MAPSS row",
        "input": "[batch, window, sensors] raw sensor values, oldest cycle first",
        "scaling": scaling, "scaling_in_graph": True,
        "scale_min": [float(v) for v in lo], "scale_max": [float(v) for v in hi],
        "padding": "engines shorter than the window: repeat the first row at the front",
        "output": "[batch, 1] predicted RUL in cycles", "seed": SEED,
        "figures": figures,
        "first10_pred": [round(float(v), 6) for v in pte[:10]],
    }


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def run_tfb(train, xte, true_rul, args):
    """K-fold CV over the training engines (one seed per fold) picks the epoch count (the best
    mean out-of-fold RMSE, checked every 5 epochs); then args.tfb_seeds members are trained on
    all engines for that many epochs and exported as one averaging graph."""
    t0 = time.time()
    by_epoch = {}
    if args.tfb_cv_folds > 1:
        preds, ys = {}, []
        for k, held in enumerate(engine_folds(train, args.tfb_cv_folds)):
            tr = {u: r for u, r in train.items() if u not in held}
            rows = np.concatenate(list(tr.values()))
            xa, ya = train_windows(tr, 1)
            xb, yb = train_windows({u: r for u, r in train.items() if u in held}, 1)
            _, hist = train_tfb(xa, ya, rows.min(axis=0), rows.max(axis=0), args, SEED + k, args.tfb_max_epochs, xb)
            for e, p in hist.items():
                preds.setdefault(e, []).append(p)
            ys.append(yb)
            print(f"tfb cv fold {k}: " + " ".join(f"{e}:{rmse(p[-1], yb):.2f}" for e, p in preds.items()), flush=True)
        y = np.concatenate(ys)
        by_epoch = {e: round(rmse(np.concatenate(p), y), 4) for e, p in preds.items()}
        epochs = min(by_epoch, key=by_epoch.get)
        print(f"tfb cv rmse by epoch {by_epoch} -> {epochs} epochs", flush=True)
    else:
        epochs = args.tfb_epochs
    rows = np.concatenate(list(train.values()))
    lo, hi = rows.min(axis=0), rows.max(axis=0)
    xa, ya = train_windows(train, 1)
    members = [train_tfb(xa, ya, lo, hi, args, SEED + 100 + s, epochs)[0].members[0] for s in range(args.tfb_seeds)]
    model = scaled_mean(members, lo, hi).eval()
    secs = time.time() - t0
    name = "cmapss_fd001_tfb_age" if args.tfb_age else "cmapss_fd001_tfb"
    pte, size = export_sequence_model(model, xte, args.out, name + ".onnx")
    figures = {
        "val_rmse": by_epoch.get(epochs), "cv_folds": args.tfb_cv_folds,
        "cv_rmse_by_epoch": {str(e): v for e, v in by_epoch.items()}, "epochs": epochs,
        **figures_on_test(pte, true_rul),
        "members": args.tfb_seeds, "filters": args.tfb_filters, "hidden": args.tfb_hidden,
        **size, "train_seconds": round(secs, 1),
    }
    sidecar = sequence_sidecar(name + ".onnx", lo, hi,
                               "folded into the graph (min-max to [-1, 1] from all training engines)", figures, pte)
    sidecar["architecture"] = (f"{args.tfb_seeds} members averaged; each: the {WINDOW}-cycle window of every sensor "
                               f"through {args.tfb_filters} shared learnt temporal filters (MatMul), then MLP "
                               f"{len(COLUMNS) * args.tfb_filters}-{args.tfb_hidden}-{args.tfb_hidden}-1 (ReLU), x {CAP:g}")
    if args.tfb_age:
        sidecar["input"] += "; the last channel is the cycle number (column 1: the engine's age)"
        sidecar["architecture"] = sidecar["architecture"].replace("every sensor", "every sensor and the cycle number")
    write_json(os.path.join(args.out, name + ".json"), with_baseline(sidecar, args.data, args.subset))
    print("tfb", json.dumps(figures), flush=True)
    return figures


def export_sequence_model(model, xte, out, name):
    """The model's predictions on the test windows, and the ONNX file written: (predictions,
    {"parameters", "file_bytes"})."""
    import torch
    with torch.no_grad():
        pte = model(torch.from_numpy(xte)).squeeze(1).numpy().astype(np.float64)
    path = os.path.join(out, name)
    export_onnx(model, xte, path)
    return pte, {"parameters": int(sum(p.numel() for p in model.parameters())), "file_bytes": os.path.getsize(path)}


def run_gru(xtr, ytr, xva, yva, lo, hi, xte, true_rul, args):
    t0 = time.time()
    model, val, epoch = train_gru(xtr, ytr, xva, yva, lo, hi, args)
    secs = time.time() - t0
    pte, size = export_sequence_model(model, xte, args.out, "cmapss_fd001_gru.onnx")
    figures = {
        "val_rmse": round(val, 4), "best_epoch": epoch, **figures_on_test(pte, true_rul),
        **size, "train_seconds": round(secs, 1),
    }
    sidecar = sequence_sidecar("cmapss_fd001_gru.onnx", lo, hi,
                               "folded into the graph (min-max from training engines 1-80)", figures, pte)
    write_json(os.path.join(args.out, "cmapss_fd001_gru.json"), with_baseline(sidecar, args.data, args.subset))
    print("gru", json.dumps(figures), flush=True)
    return figures


def run_xgb(train, cycles, test, test_cycles, true_rul, args):
    """K-fold CV over the training engines (early stopping per fold on the held-out fold) gives
    the tree count (the folds' mean best iteration) and the out-of-fold RMSE; the saved model
    is trained on every engine with that many trees."""
    import xgboost as xgb
    tokens = args.xgb_features.split(",")
    t0 = time.time()
    params = dict(max_depth=args.xgb_depth, learning_rate=args.xgb_eta, subsample=args.xgb_subsample,
                  colsample_bytree=args.xgb_colsample, min_child_weight=args.xgb_min_child_weight,
                  random_state=SEED, n_jobs=args.threads, tree_method="hist")
    oof_p, oof_y, iters = [], [], []
    for held in engine_folds(train, args.cv_folds):
        xa, ya = feature_windows({u: r for u, r in train.items() if u not in held}, cycles, tokens, args.first_end)
        xb, yb = feature_windows({u: r for u, r in train.items() if u in held}, cycles, tokens, args.first_end)
        r = xgb.XGBRegressor(n_estimators=3000, early_stopping_rounds=50, **params)
        r.fit(xa, ya, eval_set=[(xb, yb)], verbose=False)
        oof_p.append(r.predict(xb))
        oof_y.append(yb)
        iters.append(int(r.best_iteration) + 1)
    cv = rmse(np.concatenate(oof_p), np.concatenate(oof_y))
    rounds = int(round(float(np.mean(iters))))
    print(f"xgb cv folds {args.cv_folds} best iterations {iters} -> {rounds} trees, cv rmse {cv:.3f}", flush=True)
    xall, yall = feature_windows(train, cycles, tokens, args.first_end)
    reg = xgb.XGBRegressor(n_estimators=rounds, **params)
    reg.fit(xall, yall, verbose=False)
    secs = time.time() - t0
    units = sorted(test)
    fte = np.stack([engine_features(test[u], test_cycles[u], tokens, [len(test[u])])[0] for u in units])
    pte = reg.predict(fte).astype(np.float64)
    path = os.path.join(args.out, "cmapss_fd001_xgb.json")
    reg.get_booster().save_model(path)
    bst = xgb.Booster()
    bst.load_model(path)
    assert np.allclose(bst.predict(xgb.DMatrix(fte)), pte, atol=1e-4), "saved model differs"
    figures = {
        "val_rmse": round(cv, 4), "best_iteration": rounds - 1, "cv_folds": args.cv_folds,
        "cv_best_iterations": iters, **figures_on_test(pte, true_rul),
        "trees": rounds, "file_bytes": os.path.getsize(path),
        "train_seconds": round(secs, 1), "first_end": args.first_end, "depth": args.xgb_depth,
        "eta": args.xgb_eta, "subsample": args.xgb_subsample, "colsample_bytree": args.xgb_colsample,
        "min_child_weight": args.xgb_min_child_weight,
    }
    sidecar = {
        "model": "cmapss_fd001_xgb.json", "kind": "window_features", "dataset": "cmapss",
        "trained_on": args.subset, "window": WINDOW, "rul_cap": CAP, "sensors": SENSORS,
        "columns": COLUMNS, "columns_note": "0-based columns of the 26-column C-MAPSS row",
        "features": tokens,
        "features_note": "raw (unscaled) values; per token one value per sensor in sensor order (cycle: one "
                         "value): last value; mean, least-squares slope per cycle, population std, min, max "
                         "over the last N rows of the window ('@N'; none: the whole window); ewm@A: "
                         "exponentially weighted mean over the whole history from the first row; cycle: the "
                         "cycle column of the last row (src/eval/cmapss.cc builds the same)",
        "num_features": int(fte.shape[1]), "iteration_limit": rounds,
        "padding": "engines shorter than the window: repeat the first row at the front",
        "output": "predicted RUL in cycles", "seed": SEED, "figures": figures,
        "first10_pred": [round(float(v), 6) for v in pte[:10]],
    }
    write_json(os.path.join(args.out, "cmapss_fd001_xgb.sidecar.json"), with_baseline(sidecar, args.data, args.subset))
    print("xgb", json.dumps(figures), flush=True)
    return figures


ARGS = None


def main():
    global WINDOW, ARGS, CAP, COLUMNS
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--data", default=os.path.join(here, "../../../shared/data/cmapss"))
    ap.add_argument("--out", default=os.path.join(here, "../../models"))
    ap.add_argument("--subset", default="FD001")
    ap.add_argument("--cap", type=float, default=CAP, help="training target: RUL capped at this many cycles")
    ap.add_argument("--seq", choices=["tfb", "gru", "none"], default="tfb",
                    help="sequence model: tfb (temporal filter bank + MLP ensemble, 5-fold CV) or gru (engines 81-100 validate)")
    ap.add_argument("--skip-xgb", action="store_true")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch/xgboost threads; 1 measured faster than 2 on the shared 2-core machine")
    ap.add_argument("--batch", type=int, default=256)
    # GRU (the earlier sequence model)
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--gru-window", type=int, default=30)
    # temporal filter bank
    ap.add_argument("--tfb-window", type=int, default=50)
    ap.add_argument("--tfb-filters", type=int, default=8)
    ap.add_argument("--tfb-hidden", type=int, default=128)
    ap.add_argument("--tfb-dropout", type=float, default=0.3)
    ap.add_argument("--tfb-lr", type=float, default=1e-3)
    ap.add_argument("--tfb-wd", type=float, default=1e-4)
    ap.add_argument("--tfb-age", action="store_true",
                    help="one more channel: the cycle number (the engine's age), as the age-aware XGBoost has")
    ap.add_argument("--tfb-seeds", type=int, default=5, help="ensemble members in the one graph")
    ap.add_argument("--tfb-cv-folds", type=int, default=5, help="0: no CV, train --tfb-epochs")
    ap.add_argument("--tfb-max-epochs", type=int, default=60, help="CV: epoch counts tried are 5, 10, ... this")
    ap.add_argument("--tfb-epochs", type=int, default=20)
    # XGBoost
    ap.add_argument("--xgb-window", type=int, default=50)
    ap.add_argument("--xgb-features", default="last,mean@10,mean@30,mean,slope@10,slope@30,slope",
                    help="comma-separated sidecar tokens (src/eval/cmapss.h: CmapssFeature)")
    ap.add_argument("--xgb-depth", type=int, default=4)
    ap.add_argument("--xgb-eta", type=float, default=0.03)
    ap.add_argument("--xgb-subsample", type=float, default=0.7)
    ap.add_argument("--xgb-colsample", type=float, default=0.3)
    ap.add_argument("--xgb-min-child-weight", type=float, default=30)
    ap.add_argument("--cv-folds", type=int, default=5, help="XGBoost: engine-grouped folds over the 100 training engines")
    ap.add_argument("--first-end", type=int, default=1,
                    help="XGBoost windows end at rows first_end..n, front-padded (1: every window)")
    args = ap.parse_args()
    ARGS = args
    CAP = args.cap
    if args.tfb_age:
        COLUMNS = COLUMNS + [1]

    import torch
    torch.set_num_threads(args.threads)
    random.seed(SEED)
    np.random.seed(SEED)
    train, cycles = load(os.path.join(args.data, f"train_{args.subset}.txt"))
    test, test_cycles = load(os.path.join(args.data, f"test_{args.subset}.txt"))
    true_rul = np.loadtxt(os.path.join(args.data, f"RUL_{args.subset}.txt"), dtype=np.float64)
    assert sorted(test) == list(range(1, len(true_rul) + 1))
    os.makedirs(args.out, exist_ok=True)
    summary = {}

    if args.seq == "tfb":
        WINDOW = args.tfb_window
        summary["tfb"] = run_tfb(train, last_windows(test)[1], true_rul, args)
    elif args.seq == "gru":
        WINDOW = args.gru_window
        tr = {u: r for u, r in train.items() if u not in VAL_ENGINES}
        va = {u: r for u, r in train.items() if u in VAL_ENGINES}
        rows = np.concatenate(list(tr.values()))
        xtr, ytr = train_windows(tr)
        xva, yva = train_windows(va)
        summary["gru"] = run_gru(xtr, ytr, xva, yva, rows.min(axis=0), rows.max(axis=0), last_windows(test)[1],
                                 true_rul, args)
    if not args.skip_xgb:
        WINDOW = args.xgb_window
        summary["xgb"] = run_xgb(train, cycles, test, test_cycles, true_rul, args)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
