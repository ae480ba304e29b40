#!/usr/bin/python3
"""Tiny LSTM, GRU and CNN ONNX models (and reference outputs) for the oneDNN backend's tests.

Run with Debian's python (python3-torch 1.13, python3-onnx):
  /usr/bin/python3 tools/train/make_rnn_test_models.py [--out tests/models/data]
Writes NAME.onnx and NAME_reference.json (for batch 1 and batch 7: the input, row-major with the
batch first, and the reference output) for:
  rnn_lstm    2-layer LSTM + Linear on the last step (torch export, opset 13)
  rnn_gru     GRU (linear_before_reset=1) + Linear/ReLU/Linear (torch export, opset 17)
  rnn_bilstm  bidirectional LSTM, the whole output sequence (torch export, opset 14)
  rnn_gru_lbr0_reverse  a GRU node with linear_before_reset=0, direction reverse, the whole Y
              (torch never exports this: built with onnx.helper, reference computed in numpy)
  seq_linear  Linear+ReLU on each step of [batch, steps, features] (MatMul + Add + Relu in ONNX)
  cnn_small   Conv+BN+ReLU6, MaxPool, a residual block, AveragePool, GlobalAveragePool, Softmax
              (torch export, opset 13; input 2x16x16)
"""
import argparse
import json
import os

import numpy as np
import torch

STEPS = 10
FEATURES = 14
HIDDEN = 16


class LstmNet(torch.nn.Module):
    # Two stacked layers and a head on the last step: what sequence regressors look like.
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(FEATURES, HIDDEN, num_layers=2, batch_first=True)
        self.head = torch.nn.Linear(HIDDEN, 1)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.head(y[:, -1, :])


class GruNet(torch.nn.Module):
    # torch exports GRU with linear_before_reset=1; a ReLU head with two outputs.
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.GRU(FEATURES, HIDDEN, batch_first=True)
        self.fc = torch.nn.Linear(HIDDEN, 8)
        self.out = torch.nn.Linear(8, 2)

    def forward(self, x):
        _, h = self.rnn(x)
        return self.out(torch.relu(self.fc(h[-1])))


class BiLstmNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = torch.nn.LSTM(FEATURES, 8, bidirectional=True, batch_first=True)

    def forward(self, x):
        return self.rnn(x)[0]


class SeqLinear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(FEATURES, 6)

    def forward(self, x):
        return torch.relu(self.fc(x))


class CnnSmall(torch.nn.Module):
    # The eval export folds the stem's BatchNorm into its conv; the one after the pooling stays a
    # BatchNormalization node. AvgPool with ceil_mode exports as Pad + AveragePool, mean as ReduceMean.
    def __init__(self):
        super().__init__()
        nn = torch.nn
        self.stem = nn.Sequential(nn.Conv2d(2, 8, 3, 1, 1), nn.BatchNorm2d(8), nn.ReLU6())
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.bn = nn.BatchNorm2d(8)
        self.a = nn.Conv2d(8, 8, 3, 1, 1, groups=2)
        self.b = nn.Conv2d(8, 8, 1)
        self.avg = nn.AvgPool2d(2, ceil_mode=True)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        x = self.bn(self.pool(self.stem(x)))
        x = torch.relu(self.b(torch.relu(self.a(x))) + x)
        x = self.avg(x).mean(dim=(2, 3))
        return torch.softmax(self.fc(x), 1)


def randomize_bn(net):
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)


def write_reference(name, opset, sample_shape, cases, out_dir):
    with open(os.path.join(out_dir, f"{name}_reference.json"), "w") as f:
        json.dump({"model": f"{name}.onnx", "opset": opset, "input_shape": [-1, *sample_shape], "cases": cases}, f)


def case(batch, x, y):
    return {"batch": batch, "input": [float(v) for v in x.ravel()], "output_shape": list(y.shape),
            "output": [float(v) for v in y.ravel()]}


def export(net, name, opset, out_dir, rng, sample_shape=(STEPS, FEATURES)):
    net.eval()
    path = os.path.join(out_dir, f"{name}.onnx")
    dummy = torch.zeros(1, *sample_shape)
    torch.onnx.export(net, dummy, path, input_names=["x"], output_names=["y"], opset_version=opset,
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    cases = []
    for batch in (1, 7):
        x = rng.standard_normal((batch, *sample_shape)).astype(np.float32)
        with torch.no_grad():
            y = net(torch.from_numpy(x)).numpy()
        cases.append(case(batch, x, y))
    write_reference(name, opset, sample_shape, cases, out_dir)
    print(path, os.path.getsize(path), "bytes")


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def gru_lbr0_reverse(out_dir, rng):
    """x [N,T,F] -> Transpose -> GRU(linear_before_reset=0, reverse) -> Y [T,1,N,H] -> Transpose -> [N,T,1,H]."""
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    hidden = 5
    w = (rng.standard_normal((1, 3 * hidden, FEATURES)) * 0.3).astype(np.float32)
    r = (rng.standard_normal((1, 3 * hidden, hidden)) * 0.3).astype(np.float32)
    b = (rng.standard_normal((1, 6 * hidden)) * 0.3).astype(np.float32)
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], name="to_tnc", perm=[1, 0, 2]),
             helper.make_node("GRU", ["xt", "W", "R", "B"], ["Y", ""], name="gru", hidden_size=hidden,
                              direction="reverse", linear_before_reset=0),
             helper.make_node("Transpose", ["Y"], ["y"], name="to_batch_first", perm=[2, 0, 1, 3])]
    graph = helper.make_graph(
        nodes, "gru_lbr0", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", STEPS, FEATURES])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", STEPS, 1, hidden])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(r, "R"), numpy_helper.from_array(b, "B")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    onnx.checker.check_model(model)
    name = "rnn_gru_lbr0_reverse"
    onnx.save(model, os.path.join(out_dir, f"{name}.onnx"))
    wz, wr, wh = np.split(w[0], 3)
    rz, rr, rh = np.split(r[0], 3)
    wbz, wbr, wbh, rbz, rbr, rbh = np.split(b[0], 6)
    cases = []
    for batch in (1, 7):
        x = rng.standard_normal((batch, STEPS, FEATURES)).astype(np.float32)
        h = np.zeros((batch, hidden), np.float64)
        y = np.zeros((batch, STEPS, 1, hidden), np.float64)
        for t in reversed(range(STEPS)):  # ONNX GRU equations, linear_before_reset=0
            xt = x[:, t, :].astype(np.float64)
            z = sigmoid(xt @ wz.T + h @ rz.T + wbz + rbz)
            rg = sigmoid(xt @ wr.T + h @ rr.T + wbr + rbr)
            hh = np.tanh(xt @ wh.T + (rg * h) @ rh.T + rbh + wbh)
            h = (1 - z) * hh + z * h
            y[:, t, 0, :] = h
        cases.append(case(batch, x, y))
    write_reference(name, 14, (STEPS, FEATURES), cases, out_dir)
    print(name, "written")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "../../tests/models/data"))
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(6)
    rng = np.random.default_rng(6)
    export(LstmNet(), "rnn_lstm", 13, args.out, rng)
    export(GruNet(), "rnn_gru", 17, args.out, rng)
    export(BiLstmNet(), "rnn_bilstm", 14, args.out, rng)
    gru_lbr0_reverse(args.out, rng)
    export(SeqLinear(), "seq_linear", 13, args.out, rng)
    cnn = CnnSmall()
    randomize_bn(cnn)
    export(cnn, "cnn_small", 13, args.out, rng, sample_shape=(2, 16, 16))


if __name__ == "__main__":
    main()
