#!/usr/bin/python3
"""Tiny models for edgeloop's model-runtime tests (tests/models/infer, tests/models/serving).

Run with Debian's python (it has torch, onnx, xgboost): /usr/bin/python3 tools/train/make_test_models.py
Writes into tests/models/data/: mlp.onnx, cnn1d.onnx, xgb_reg.json, xgb_clf.json and, next to
each, NAME.expected.txt: one line "input: v v v ...", then one line per output
"output NAME: v v v ..." (the model's outputs for that input, computed here). The C++ tests
assert their outputs against these to 1e-5. Seeds are fixed: reruns give the same files.
"""
import os
import sys

import numpy as np
import torch
import xgboost as xgb

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "models", "data")


def fmt(values):
    return " ".join("%.9g" % float(v) for v in np.asarray(values).ravel())


def write_expected(name, x, outputs):
    with open(os.path.join(OUT, name + ".expected.txt"), "w") as f:
        f.write("input: %s\n" % fmt(x))
        for oname, ov in outputs:
            f.write("output %s: %s\n" % (oname, fmt(ov)))


def export(model, example, name, opset):
    model.eval()
    path = os.path.join(OUT, name + ".onnx")
    torch.onnx.export(model, example, path, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=opset)
    with torch.no_grad():
        y = model(example).numpy()
    return y


class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))

    def forward(self, x):
        return self.net(x)


class Cnn1d(torch.nn.Module):
    # Input [batch, 1, 32] (a sample window, one channel); output 3 class logits.
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv1d(1, 4, kernel_size=5, stride=2)
        self.pool = torch.nn.AdaptiveAvgPool1d(1)
        self.fc = torch.nn.Linear(4, 3)

    def forward(self, x):
        h = torch.relu(self.conv(x))
        h = self.pool(h).flatten(1)
        return self.fc(h)


class Gru(torch.nn.Module):
    # Input [batch, 5 steps, 3 features]; output 1 value from the last step (a tiny RUL model).
    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRU(3, 4, batch_first=True)
        self.fc = torch.nn.Linear(4, 1)

    def forward(self, x):
        y, _ = self.gru(x)
        return self.fc(y[:, -1, :])


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(7)
    np.random.seed(7)

    mlp = Mlp()
    x = torch.tensor([[0.5, -1.0, 2.0, 0.25]], dtype=torch.float32)
    y = export(mlp, x, "mlp", 13)
    write_expected("mlp", x.numpy(), [("y", y)])
    # A second version of the same shapes (different weights): the hot-swap test drops it.
    mlp2 = Mlp()
    y2 = export(mlp2, x, "mlp_v2", 13)
    write_expected("mlp_v2", x.numpy(), [("y", y2)])

    cnn = Cnn1d()
    xc = torch.tensor(np.sin(np.arange(32, dtype=np.float32) * 0.3).reshape(1, 1, 32))
    yc = export(cnn, xc, "cnn1d", 11)
    write_expected("cnn1d", xc.numpy(), [("y", yc)])

    # An opset outside 11..17: the loader refuses it with the reason.
    mlp.eval()
    torch.onnx.export(mlp, x, os.path.join(OUT, "mlp_opset9.onnx"), input_names=["x"], output_names=["y"],
                      opset_version=9)

    gru = Gru()
    xg = torch.tensor(np.cos(np.arange(15, dtype=np.float32) * 0.4).reshape(1, 5, 3))
    yg = export(gru, xg, "gru", 14)
    write_expected("gru", xg.numpy(), [("y", yg)])

    # XGBoost: 3 features. Regressor y = 2*a - b + 0.5*c; classifier with 3 classes.
    rng = np.random.default_rng(7)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    yr = 2 * X[:, 0] - X[:, 1] + 0.5 * X[:, 2]
    reg = xgb.XGBRegressor(n_estimators=10, max_depth=3, learning_rate=0.3, random_state=7)
    reg.fit(X, yr)
    reg.get_booster().save_model(os.path.join(OUT, "xgb_reg.json"))
    xq = np.array([[0.3, -0.2, 1.1]], dtype=np.float32)
    write_expected("xgb_reg", xq, [("y", reg.predict(xq))])

    yc3 = np.digitize(X[:, 0] + 0.5 * X[:, 1], [-0.5, 0.5])
    clf = xgb.XGBClassifier(n_estimators=10, max_depth=3, learning_rate=0.3, random_state=7,
                            objective="multi:softprob")
    clf.fit(X, yc3)
    clf.get_booster().save_model(os.path.join(OUT, "xgb_clf.json"))
    write_expected("xgb_clf", xq, [("y", clf.predict_proba(xq))])
    return 0


if __name__ == "__main__":
    sys.exit(main())
