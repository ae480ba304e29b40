#!/usr/bin/python3
"""Magnetic-tile surface defects: a small fully convolutional defect detector trained with the
dataset's pixel masks, plus a class head for the five defect types (6 classes in all), exported to
ONNX with a JSON sidecar (input size, normalisation, class names, pass/fail threshold, the test
split's file list).

Run with Debian's python (python3-torch, python3-opencv, python3-onnx, numpy). The committed model:
  /usr/bin/python3 tools/train/magnetic_tile.py --out /tmp/tile_F          # train (140 epochs, ~15-30 min)
  /usr/bin/python3 tools/train/magnetic_tile.py --ensemble /tmp/tile_F --out models   # calibrate, export
The second step (ensemble_main) also averages several trained models (--ensemble A,B,...; e.g. other
--train-seed values) into one graph; with one model it only calibrates the defect logit so that the
threshold is P(MT_Free) = 0.5 (same decisions; the 6-class argmax then agrees with pass/fail).

Inputs: the JPEG images (`<folder>/Imgs/*.jpg`) and, for training only, the defect masks beside
them (`X.png`, 255 = defect, thresholded at 128). Preprocessing, which the C++ side must repeat
exactly: decode as 8-bit grayscale, cv2.resize to SIZE x SIZE with INTER_AREA, x = (pixel / 255 -
mean) / std. Split by image, stratified per class, fixed seed: 70 % train, 15 % validation (epoch
selection, threshold), 15 % test (reported; never seen by training).

Model (--arch heatmap, the default): conv/BN/ReLU encoder with strides down to 1/8, a 1x1 conv to
a one-channel defect heat map (logits, SIZE/8 x SIZE/8). Training losses: per-cell binary cross
entropy against the mask max-pooled to the heat map's cells, binary cross entropy of the image's
defect score (the max over the heat map) against defect / free, and a 5-way cross entropy of a
small class head (global average + max pooling of the encoder) over the defect types, on
defective images only. The exported graph turns that into `probs` [N, 6]:
d = sigmoid(max heat-map logit), probs = [1 - d, d * softmax(type logits)], so probs[0] =
P(MT_Free) = 1 - defect score, and the rows sum to 1.
Decision: fail (defect) when P(MT_Free) < threshold; the threshold is set on the validation split
(see choose_threshold).

--arch small96 / fcn: the earlier image-level classifiers (no masks), kept to reproduce the figures
in tools/train/README.md.
"""
import argparse
import json
import math
import os
import random
import time

import cv2
import numpy as np

CLASSES = ["MT_Free", "MT_Blowhole", "MT_Break", "MT_Crack", "MT_Fray", "MT_Uneven"]
SEED = 20261125


def list_images(root):
    items = []
    for label, name in enumerate(CLASSES):
        folder = os.path.join(root, name, "Imgs")
        for f in sorted(os.listdir(folder)):
            if f.lower().endswith(".jpg"):
                items.append((f"{name}/Imgs/{f}", label))
    return items


def split(items, rng):
    parts = {"train": [], "val": [], "test": []}
    for label in range(len(CLASSES)):
        cls = [it for it in items if it[1] == label]
        rng.shuffle(cls)
        n = len(cls)
        n_val = int(round(0.15 * n))
        n_test = int(round(0.15 * n))
        parts["test"] += cls[:n_test]
        parts["val"] += cls[n_test:n_test + n_val]
        parts["train"] += cls[n_test + n_val:]
    for k in parts:
        parts[k].sort()
    return parts


def load_images(root, items, size):
    xs = np.zeros((len(items), 1, size, size), np.float32)
    for i, (rel, _) in enumerate(items):
        img = cv2.imread(os.path.join(root, rel), cv2.IMREAD_GRAYSCALE)
        assert img is not None, rel
        xs[i, 0] = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    return xs, np.array([it[1] for it in items], np.int64)


def load_masks(root, items, size, stride):
    """Per image: the mask on the heat map's grid (a cell is defect when any of its pixels is, after
    the same INTER_AREA resize as the image, >= 0.5), and whether the mask marks anything (a few
    defect images have an empty mask: they train the image-level loss only)."""
    cells = size // stride
    ms = np.zeros((len(items), 1, cells, cells), np.float32)
    valid = np.zeros(len(items), bool)
    for i, (rel, label) in enumerate(items):
        m = cv2.imread(os.path.join(root, rel[:-4] + ".png"), cv2.IMREAD_GRAYSCALE)
        assert m is not None, rel
        m = cv2.resize((m >= 128).astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
        ms[i, 0] = (m.reshape(cells, stride, cells, stride).max(axis=(1, 3)) >= 0.5).astype(np.float32)
        valid[i] = label == 0 or ms[i].any()
    return ms, valid


def defect_metrics(p_free, labels, thr):
    pred_defect = p_free < thr
    true_defect = labels != 0
    tp = int(np.sum(pred_defect & true_defect))
    fp = int(np.sum(pred_defect & ~true_defect))
    fn = int(np.sum(~pred_defect & true_defect))
    recall = tp / max(1, tp + fn)
    precision = tp / max(1, tp + fp)
    return recall, precision, tp, fp, fn


def split_figures(pr, y, thr):
    """The sidecar's figures of one split: pass/fail at `thr` on P(MT_Free) and the 6-class confusion."""
    r, p, tp, fp, fn = defect_metrics(pr[:, 0], y, thr)
    cm = np.zeros((len(CLASSES), len(CLASSES)), int)
    for t, q in zip(y, pr.argmax(1)):
        cm[t, q] += 1
    return {"images": int(len(y)), "accuracy6": round(float(np.mean(pr.argmax(1) == y)), 4),
            "pass_fail_accuracy": round(float(np.mean((pr[:, 0] < thr) == (y != 0))), 4),
            "defect_recall": round(r, 4), "defect_precision": round(p, 4), "tp": tp, "fp": fp, "fn": fn,
            "confusion6": cm.tolist()}


def choose_threshold(p_free, labels, min_recall, midpoint=False):
    """The best validation precision with defect recall >= min_recall. Among the thresholds that give
    the same validation decisions, the old rule took the smallest (just above the last defect
    kept); midpoint=True takes the middle of that interval in logit space instead, so that unseen
    defects and unseen free images have the same margin on either side of the threshold."""
    best = None
    for thr in np.unique(np.concatenate([p_free, p_free + 1e-6, [0.5]])):
        r, p, *_ = defect_metrics(p_free, labels, thr)
        if r >= min_recall:
            key = (p, -thr)  # best precision; among equals the smallest threshold
            if best is None or key > best[0]:
                best = (key, float(thr))
    if not best:
        return 0.5
    thr = best[1]
    if midpoint:
        below = p_free[p_free < thr]
        above = p_free[p_free >= thr]
        lo = float(below.max()) if len(below) else 0.0
        hi = float(above.min()) if len(above) else 1.0
        logit = lambda v: math.log(max(v, 1e-7) / max(1 - v, 1e-7))
        mid = 1 / (1 + math.exp(-(logit(lo) + logit(hi)) / 2))
        if lo < mid <= hi:
            thr = float(mid)
    return thr


def ensemble_main(args):
    """--ensemble DIR1,DIR2,...: one ONNX graph that averages the probs of models this script wrote
    into those folders (same input contract), its threshold and figures from the validation split
    as for a single model (inference through OpenCV DNN on the merged graph), written to --out."""
    import onnx
    from onnx import helper, numpy_helper
    dirs = args.ensemble.split(",")
    models, sides = [], []
    for d in dirs:
        m = onnx.load(os.path.join(d, "magnetic_tile_cnn.onnx"))
        sd = json.load(open(os.path.join(d, "magnetic_tile_cnn.json")))
        if "members" not in sd:
            models.append(m)
            sides.append(sd)
            continue
        # An ensemble this function wrote joins as its members (equal weights for every model); their
        # heat-map biases already carry their own thresholds, so each now decides at 0.5.
        for k, msd in enumerate(sd["members"]):
            pre = f"m{k}_"
            sub = helper.make_graph(
                [n for n in m.graph.node if n.output[0].startswith(pre)], f"member{k}",
                [m.graph.input[0]],
                [m.graph.output[0]],
                [i for i in m.graph.initializer if i.name.startswith(pre)])
            sub = helper.make_model(sub, opset_imports=m.opset_import)
            sub.ir_version = m.ir_version
            for n in sub.graph.node:
                n.output[:] = ["probs" if o == pre + "probs" else o[len(pre):] for o in n.output]
                n.input[:] = [i if i == "image" else i[len(pre):] for i in n.input]
            for i in sub.graph.initializer:
                i.name = i.name[len(pre):]
            models.append(sub)
            sides.append(dict(sd, threshold=0.5, epochs=msd["epochs"], best_epoch=msd["best_epoch"],
                              train_seed=msd["train_seed"], train_seconds=sd["train_seconds"] / len(sd["members"]),
                              parameters=sd["parameters"] // len(sd["members"]),
                              architecture=sd["architecture"].split(": ", 1)[-1].split(" | ")[k].rsplit(" (", 1)[0]
                              .replace("; defect logit calibrated so that each model's validation threshold is P(MT_Free) = 0.5", ""),
                              figures=msd.get("figures", {"val": msd["figures_val"]}),
                              threshold_rule=sd["threshold_rule"].split("; each model")[0], folded=msd))
    assert all(sd["input"] == sides[0]["input"] for sd in sides), "the members differ in preprocessing"
    # Calibration: each member's defect logit is shifted by its own validation threshold, so that
    # its decision "P(MT_Free) < threshold" becomes "P(MT_Free) < 0.5" (the same decisions). Then the
    # 6-class argmax agrees with the pass/fail decision (else every image with a defect score between
    # 1 - threshold and 0.5 counts as a defect class in the confusion matrix but passes).
    shifts = []
    for m, sd in zip(models, sides):
        bias = next(i for i in m.graph.initializer if i.name == "net.heat.bias")
        thr_m = float(sd["threshold"])
        shift = -math.log((1 - thr_m) / thr_m)  # -logit(1 - threshold)
        b = numpy_helper.to_array(bias).astype(np.float32) + np.float32(shift)
        bias.CopyFrom(numpy_helper.from_array(b, "net.heat.bias"))
        shifts.append(shift)
    nodes, inits, outs = [], [], []
    for k, m in enumerate(models):
        m = onnx.compose.add_prefix(m, f"m{k}_")
        for n in m.graph.node:
            n.input[:] = ["image" if i == f"m{k}_image" else i for i in n.input]
        nodes += list(m.graph.node)
        inits += list(m.graph.initializer)
        outs.append(f"m{k}_probs")
    acc = outs[0]
    for k in range(1, len(outs)):
        nodes.append(helper.make_node("Add", [acc, outs[k]], [f"ens_sum{k}"]))
        acc = f"ens_sum{k}"
    inits.append(numpy_helper.from_array(np.array(1.0 / len(outs), np.float32), "ens_scale"))
    nodes.append(helper.make_node("Mul", [acc, "ens_scale"], ["probs"]))
    graph = helper.make_graph(nodes, "magnetic_tile_ensemble", [models[0].graph.input[0]],
                              [models[0].graph.output[0]], inits)
    merged = helper.make_model(graph, opset_imports=models[0].opset_import)
    merged.ir_version = models[0].ir_version
    onnx.checker.check_model(merged)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "magnetic_tile_cnn.onnx")
    onnx.save(merged, path)

    side = {k: v for k, v in sides[0].items() if k not in ("folded", "members", "train_seed")}
    size_h, size_w = side["input"]["height"], side["input"]["width"]
    mean, std = side["input"]["mean"], side["input"]["std"]
    items = list_images(args.data)
    parts = split(items, random.Random(SEED))
    assert [rel for rel, _ in parts["test"]] == side["test_files"]
    net = cv2.dnn.readNetFromONNX(path)

    def probs(name):
        x, y = load_images(args.data, parts[name], size_h)
        out = []
        for i in range(len(x)):
            net.setInput(((x[i:i + 1] - mean) / std).astype(np.float32))
            out.append(net.forward()[0].copy())
        return np.array(out), y

    pv, yv = probs("val")
    pt, yt = probs("test")
    thr = choose_threshold(pv[:, 0], yv, args.min_recall, bool(args.midpoint))

    def figures(pr, y):
        return split_figures(pr, y, thr)

    side.update({
        "architecture": (f"mean of the probs of {len(sides)} models: " if len(sides) > 1 else "") + " | ".join(
            f"{sd['architecture']} ({sd['epochs']} epochs, seed {sd.get('train_seed', SEED)})" for sd in sides) +
            "; defect logit calibrated so that each model's validation threshold is P(MT_Free) = 0.5",
        "threshold": thr,
        "parameters": int(sum(sd["parameters"] for sd in sides)),
        "train_seconds": round(sum(sd["train_seconds"] for sd in sides), 1),
        "best_epoch": [sd["best_epoch"] for sd in sides] if len(sides) > 1 else sides[0]["best_epoch"],
        "epochs": [sd["epochs"] for sd in sides] if len(sides) > 1 else sides[0]["epochs"],
        "threshold_rule": sides[0]["threshold_rule"] + "; each model's defect logit shifted so that its own threshold is 0.5",
        "members": [sd["folded"] if "folded" in sd else
                    {"epochs": sd["epochs"], "train_seed": sd.get("train_seed", SEED), "best_epoch": sd["best_epoch"],
                     "threshold": sd["threshold"], "logit_shift": round(sh, 6),
                     "figures_val": {k: sd["figures"]["val"][k] for k in ("defect_recall", "defect_precision")}}
                    for sd, sh in zip(sides, shifts)],
        "figures": {"val": figures(pv, yv), "test": figures(pt, yt)},
        "test_p_free_first10": [round(float(v), 6) for v in pt[:10, 0]],
    })
    with open(os.path.join(args.out, "magnetic_tile_cnn.json"), "w") as f:
        json.dump(side, f, indent=1)
    print("val", json.dumps(side["figures"]["val"]))
    print("test", json.dumps(side["figures"]["test"]))
    print(json.dumps({"parameters": side["parameters"], "file_bytes": os.path.getsize(path), "threshold": thr}))


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--data", default=os.path.join(here, "../../../shared/data/magnetic_tile"))
    ap.add_argument("--out", default=os.path.join(here, "../../models"))
    ap.add_argument("--arch", choices=["heatmap", "fcn", "small96"], default="heatmap",
                    help="heatmap: the mask-supervised fully convolutional model (the committed one); "
                         "small96 / fcn: earlier image-level classifiers (see README)")
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--width", type=int, default=32, help="heatmap: channels of the 1/4 stage (1/2: half, 1/8: twice)")
    ap.add_argument("--epochs", type=int, default=140)
    ap.add_argument("--rot90", type=int, default=0, help="1: also rotate training images by 90 degrees at random")
    ap.add_argument("--max-minutes", type=float, default=0, help="stop training after this long (0: no limit)")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--pix-pos-weight", type=float, default=3.0, help="heatmap: weight of defect cells in the cell loss")
    ap.add_argument("--ema", type=float, default=0.99, help="heatmap: weight averaging per step (0: off)")
    ap.add_argument("--crop", type=int, default=128, help="heatmap: train on crops of this size (0: whole images)")
    ap.add_argument("--repeats", type=int, default=3, help="heatmap with --crop: crops per image per epoch")
    ap.add_argument("--defect-crop", type=float, default=0.8, help="heatmap with --crop: P(a defect image's crop covers its defect)")
    ap.add_argument("--min-recall", type=float, default=0.97)
    ap.add_argument("--midpoint", type=int, default=1, help="1: threshold in the middle of the validation gap")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads; 1 measured faster than 2 on the shared 2-core machine (7 s vs 13 s an epoch)")
    ap.add_argument("--train-seed", type=int, default=SEED,
                    help="seed of the weights, the batches and the augmentation (the split always uses SEED)")
    ap.add_argument("--ensemble", default="", help="DIR1,DIR2,...: average models written there (see ensemble_main)")
    args = ap.parse_args()
    if args.ensemble:
        return ensemble_main(args)
    if args.arch != "heatmap" and args.size == 224:
        args.size = 96

    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.train_seed)
    random.seed(args.train_seed)
    np.random.seed(args.train_seed)

    items = list_images(args.data)
    parts = split(items, random.Random(SEED))
    t_load = time.time()
    data = {k: load_images(args.data, v, args.size) for k, v in parts.items()}
    mean = float(data["train"][0].mean())
    std = float(data["train"][0].std())
    for k in data:
        data[k] = ((data[k][0] - mean) / std, data[k][1])
    print({k: len(v) for k, v in parts.items()}, "mean", mean, "std", std,
          f"load {time.time() - t_load:.0f}s", flush=True)

    def cbr(cin, cout, stride=1, dilation=1):
        return [nn.Conv2d(cin, cout, 3, stride=stride, padding=dilation, dilation=dilation, bias=False),
                nn.BatchNorm2d(cout), nn.ReLU()]

    def block(cin, cout):
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                             nn.MaxPool2d(2))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(block(1, 16), block(16, 32), block(32, 64), block(64, 96), block(96, 128))
            # Average and max pooling side by side: a small defect lights up few positions,
            # which the mean dilutes and the max keeps.
            self.avg = nn.AdaptiveAvgPool2d(1)
            self.max = nn.AdaptiveMaxPool2d(1)
            self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(256, len(CLASSES)))

        def forward(self, x):
            h = self.features(x)
            return self.head(torch.cat([self.avg(h), self.max(h)], dim=1).flatten(1))

    class Fcn(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(*cbr(1, 16, 2), *cbr(16, 24, 2), *cbr(24, 48), nn.MaxPool2d(2),
                                          *cbr(48, 96), nn.MaxPool2d(2), *cbr(96, 128))
            self.avg = nn.AdaptiveAvgPool2d(1)
            self.max = nn.AdaptiveMaxPool2d(1)
            self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(256, len(CLASSES)))

        def forward(self, x):
            h = self.features(x)
            return self.head(torch.cat([self.avg(h), self.max(h)], dim=1).flatten(1))

    class HeatNet(nn.Module):
        """Strides 2, 2, 2 down to 1/8, then two 3x3 convs at 1/8 (the second dilated) for context:
        a receptive field of about 60 input pixels, enough for a blowhole and its surround, while
        a heat-map cell is 8 x 8 pixels, so a 3-pixel blowhole still owns a cell."""

        def __init__(self, w):
            super().__init__()
            self.encoder = nn.Sequential(*cbr(1, w // 2, 2), *cbr(w // 2, w, 2), *cbr(w, w),
                                         *cbr(w, 2 * w, 2), *cbr(2 * w, 2 * w), *cbr(2 * w, 2 * w, dilation=2))
            self.heat = nn.Conv2d(2 * w, 1, 1)
            # Start from "no defect anywhere" (a cell is defect with prior ~2 %): otherwise the first
            # hundreds of steps only pull the 784 cells' logits down from 0, slowly at Adam's step size.
            nn.init.constant_(self.heat.bias, -4.0)
            self.kind = nn.Linear(4 * w, len(CLASSES) - 1)

            self.avg = nn.AdaptiveAvgPool2d(1)
            self.max = nn.AdaptiveMaxPool2d(1)

        def forward(self, x):
            h = self.encoder(x)
            heat = self.heat(h)
            pooled = torch.cat([self.avg(h), self.max(h)], dim=1).flatten(1)
            return heat, self.kind(pooled)

    class Exported(nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return torch.softmax(self.net(x), dim=1)

    class ExportedHeat(nn.Module):
        """probs = [1 - d, d * softmax(type logits)] with d = sigmoid(s), s = the heat map's max logit,
        computed as softmax([0, s + log_softmax(types)]) (the same values): the logits are one
        constant matrix product of [s, log_softmax(types)], so the graph needs no broadcasting
        arithmetic, which OpenCV DNN 4.6 does not import (the `auto` backend cross-checks oneDNN
        against it)."""

        def __init__(self, net):
            super().__init__()
            self.net = net
            self.pool = nn.AdaptiveMaxPool2d(1)
            k = len(CLASSES)
            mix = torch.zeros(k, k)  # z = [s, log p_1..5] @ mix: z_0 = 0, z_j = s + log p_j
            mix[0, 1:] = 1
            mix[1:, 1:] = torch.eye(k - 1)
            self.register_buffer("mix", mix)

        def forward(self, x):
            heat, kind = self.net(x)
            s = self.pool(heat).flatten(1)  # [N, 1]
            z = torch.matmul(torch.cat([s, torch.log_softmax(kind, dim=1)], dim=1), self.mix)
            return torch.softmax(z, dim=1)

    heatmap = args.arch == "heatmap"
    net = HeatNet(args.width) if heatmap else Fcn() if args.arch == "fcn" else Net()
    params = sum(p.numel() for p in net.parameters())
    print("parameters", params, flush=True)
    xtr, ytr = torch.from_numpy(data["train"][0]), torch.from_numpy(data["train"][1])
    xva, yva = torch.from_numpy(data["val"][0]), data["val"][1]
    counts = np.bincount(ytr.numpy(), minlength=len(CLASSES))
    weights = torch.tensor((counts.sum() / (len(CLASSES) * counts)) ** 0.5, dtype=torch.float32)
    if heatmap:
        mtr, vtr = load_masks(args.data, parts["train"], args.size, 8)
        mtr, vtr = torch.from_numpy(mtr), torch.from_numpy(vtr)
        print("train defect images with an empty mask:", int((~vtr).sum()), flush=True)
        kind_loss = nn.CrossEntropyLoss(weight=weights[1:])
        # image level: the defect images weigh as much as the free ones in total
        img_pos_weight = torch.tensor(float(counts[0]) / float(counts[1:].sum()))
    else:
        loss_fn = nn.CrossEntropyLoss(weight=weights)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    steps_per_epoch = (len(xtr) * (args.repeats if heatmap and 0 < args.crop < args.size else 1) + args.batch - 1) // args.batch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch,
                                                pct_start=0.15 if heatmap else 0.3)
    ema = {k: t.detach().clone() for k, t in net.state_dict().items()} if heatmap and args.ema > 0 else None

    def predict(model, x):
        """P per class (numpy) in batches: the exported graph's output."""
        outs = []
        with torch.no_grad():
            for i in range(0, len(x), 64):
                if heatmap:
                    outs.append(ExportedHeat(model)(x[i:i + 64]))
                else:
                    outs.append(torch.softmax(model(x[i:i + 64]), dim=1))
        return torch.cat(outs).numpy()

    eval_net = HeatNet(args.width) if heatmap else None
    cropping = heatmap and 0 < args.crop < args.size
    if cropping:
        # Training on crops: the network is fully convolutional, so a crop trains it as the whole
        # image would, at a fraction of the cost, i.e. more steps in the same time. Crops sit on the
        # 8-pixel grid (the heat map's cells); a defect image's crop covers one of its defect cells
        # with probability --defect-crop, and the crop is labelled by its own mask. The one
        # defect image with an empty mask cannot be labelled by crops and is left out.
        usable = torch.nonzero(vtr).flatten()
        cc = args.crop // 8
        ncell = args.size // 8
        pos_cells = [torch.nonzero(mtr[i, 0]) for i in range(len(mtr))]

        def crop_batch(idx):
            xs, ms, ys = [], [], []
            for i in idx.tolist():
                cy = cx = None
                if ytr[i] != 0 and len(pos_cells[i]) and torch.rand(1, generator=g).item() < args.defect_crop:
                    py, px = pos_cells[i][torch.randint(len(pos_cells[i]), (1,), generator=g).item()].tolist()
                    lo_y, hi_y = max(0, py - cc + 1), min(py, ncell - cc)
                    lo_x, hi_x = max(0, px - cc + 1), min(px, ncell - cc)
                    cy = torch.randint(lo_y, hi_y + 1, (1,), generator=g).item()
                    cx = torch.randint(lo_x, hi_x + 1, (1,), generator=g).item()
                else:
                    cy = torch.randint(0, ncell - cc + 1, (1,), generator=g).item()
                    cx = torch.randint(0, ncell - cc + 1, (1,), generator=g).item()
                xs.append(xtr[i, :, 8 * cy:8 * (cy + cc), 8 * cx:8 * (cx + cc)])
                m = mtr[i, :, cy:cy + cc, cx:cx + cc]
                ms.append(m)
                ys.append(int(ytr[i]) if m.any() else 0)
            return torch.stack(xs).clone(), torch.stack(ms).clone(), torch.tensor(ys)
    g = torch.Generator().manual_seed(args.train_seed)
    t0 = time.time()
    best = None
    for epoch in range(args.epochs):
        if args.max_minutes and time.time() - t0 > 60 * args.max_minutes:
            print("time limit reached", flush=True)
            break
        net.train()
        if cropping:
            perm = torch.cat([usable[torch.randperm(len(usable), generator=g)] for _ in range(args.repeats)])
        else:
            perm = torch.randperm(len(xtr), generator=g)
        total = 0.0
        parts_sum = np.zeros(3)
        for i in range(0, len(perm), args.batch):
            idx = perm[i:i + args.batch]
            if cropping:
                xb, mb, yb = crop_batch(idx)
            else:
                xb = xtr[idx].clone()
                mb = mtr[idx].clone() if heatmap else None
                yb = ytr[idx]
            # augmentation: horizontal / vertical flips, small brightness and contrast changes
            fh = torch.rand(len(idx), generator=g) < 0.5
            fv = torch.rand(len(idx), generator=g) < 0.5
            xb[fh] = xb[fh].flip(3)
            xb[fv] = xb[fv].flip(2)
            if heatmap:
                mb[fh] = mb[fh].flip(3)
                mb[fv] = mb[fv].flip(2)
            if args.rot90:
                fr = torch.rand(len(idx), generator=g) < 0.5
                xb[fr] = xb[fr].transpose(2, 3)
                if heatmap:
                    mb[fr] = mb[fr].transpose(2, 3)
            gain = 1.0 + (0.3 if heatmap else 0.1) * (torch.rand(len(idx), 1, 1, 1, generator=g) - 0.5)
            bias = (0.4 if heatmap else 0.2) * (torch.rand(len(idx), 1, 1, 1, generator=g) - 0.5)
            xb = xb * gain + bias
            opt.zero_grad()
            if heatmap:
                heat, kind = net(xb)
                vb = torch.ones(len(idx), dtype=torch.bool) if cropping else vtr[idx]
                cell = F.binary_cross_entropy_with_logits(heat, mb, pos_weight=torch.tensor(args.pix_pos_weight),
                                                          reduction="none").mean(dim=(1, 2, 3))
                cell = (cell * vb).sum() / vb.sum().clamp(min=1)
                score = heat.amax(dim=(2, 3)).squeeze(1)
                image = F.binary_cross_entropy_with_logits(score, (yb != 0).float(), pos_weight=img_pos_weight)
                defect = yb != 0
                kl = kind_loss(kind[defect], yb[defect] - 1) if defect.any() else torch.zeros(())
                loss = cell + image + 0.5 * kl
                parts_sum += np.array([cell.item(), image.item(), kl.item()]) * len(idx)
            else:
                loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            if ema is not None:
                with torch.no_grad():
                    for k, t in net.state_dict().items():
                        if t.dtype.is_floating_point:
                            ema[k].mul_(args.ema).add_(t.detach(), alpha=1 - args.ema)
                        else:
                            ema[k].copy_(t)
            total += loss.item() * len(idx) / max(1, len(perm) / len(xtr))
        if ema is not None:
            eval_net.load_state_dict(ema)
            model = eval_net
        else:
            model = net
        model.eval()
        pv = predict(model, xva)
        acc = float(np.mean(pv.argmax(1) == yva))
        thr = choose_threshold(pv[:, 0], yva, args.min_recall, bool(args.midpoint))
        r, p, *_ = defect_metrics(pv[:, 0], yva, thr)
        # selection: validation precision at the recall target, then accuracy; later epochs win ties
        key = (p if r >= args.min_recall else 0.0, acc, epoch)
        if epoch >= args.epochs // 3 and (best is None or key[:2] >= best[0][:2]):
            best = (key, {k: t.clone() for k, t in model.state_dict().items()}, thr)
        print(f"epoch {epoch} loss {total / len(xtr):.4f} val_acc {acc:.4f} thr {thr:.4f} val_recall {r:.3f} "
              f"val_precision {p:.3f} t {time.time() - t0:.0f}s" +
              (" cell/image/type {:.3f} {:.3f} {:.3f}".format(*(parts_sum / len(perm))) if heatmap else ""), flush=True)
    secs = time.time() - t0
    net.load_state_dict(best[1])
    net.eval()
    thr = best[2]

    def evaluate(name):
        pr = predict(net, torch.from_numpy(data[name][0]))
        y = data[name][1]
        return split_figures(pr, y, thr), pr

    val_fig, _ = evaluate("val")
    test_fig, test_probs = evaluate("test")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "magnetic_tile_cnn.onnx")
    exp = (ExportedHeat(net) if heatmap else Exported(net)).eval()
    torch.onnx.export(exp, torch.from_numpy(data["test"][0][:2]), path, opset_version=13,
                      input_names=["image"], output_names=["probs"],
                      dynamic_axes={"image": {0: "batch"}, "probs": {0: "batch"}})
    import onnx
    onnx.checker.check_model(onnx.load(path))
    w = args.width
    arch = (f"fully convolutional: conv3x3-BN-ReLU {w // 2}/s2, {w}/s2, {w}, {2 * w}/s2, {2 * w}, {2 * w} dilation 2; "
            f"1x1 conv to a {args.size // 8}x{args.size // 8} defect heat map; d = sigmoid(max of the map); "
            f"type head linear(avg+max pool) over 5 defect types; probs = [1 - d, d * softmax(types)]"
            if heatmap else f"{args.arch}: image-level CNN classifier, softmax over 6 classes")
    sidecar = {
        "model": "magnetic_tile_cnn.onnx", "dataset": "magnetic_tile",
        "input": {"name": "image", "shape": [-1, 1, args.size, args.size], "height": args.size, "width": args.size,
                  "decode": "8-bit grayscale (cv2.IMREAD_GRAYSCALE)",
                  "resize": "cv2.resize to width x height, INTER_AREA (aspect ratio not kept)",
                  "normalise": "x = (pixel / 255 - mean) / std", "mean": mean, "std": std},
        "output": {"name": "probs", "shape": [-1, len(CLASSES)],
                   "what": ("[1 - d, d * softmax over the 5 defect types], d = defect score (sigmoid of the heat "
                            "map's max)" if heatmap else "softmax class probabilities")},
        "architecture": arch, "uses_masks": heatmap,
        "classes": CLASSES, "pass_class": "MT_Free",
        "decision": "defect (fail) when probs[MT_Free] < threshold",
        "threshold": thr,
        "threshold_rule": f"best validation precision with defect recall >= {args.min_recall}" +
                          (", threshold in the middle (logit space) of the validation gap" if args.midpoint else ""),
        "seed": SEED, "train_seed": args.train_seed, "split": "per class, stratified, 70/15/15 of the images in ../shared/data/magnetic_tile",
        "parameters": int(params), "train_seconds": round(secs, 1), "best_epoch": best[0][2],
        "epochs": args.epochs, "lr": args.lr,
        "figures": {"val": val_fig, "test": test_fig},
        "test_files": [rel for rel, _ in parts["test"]],
        "test_labels": [CLASSES[l] for _, l in parts["test"]],
        "val_files": [rel for rel, _ in parts["val"]],
        "test_p_free_first10": [round(float(v), 6) for v in test_probs[:10, 0]],
    }
    with open(os.path.join(args.out, "magnetic_tile_cnn.json"), "w") as f:
        json.dump(sidecar, f, indent=1)
    print("val", json.dumps({k: v for k, v in val_fig.items()}))
    print("test", json.dumps({k: v for k, v in test_fig.items()}))
    print(json.dumps({"parameters": params, "file_bytes": os.path.getsize(path), "train_seconds": round(secs, 1),
                      "threshold": thr, "best_epoch": best[0][2]}))


if __name__ == "__main__":
    main()
