#!/usr/bin/python3
"""Models the size and shape of the issue's reference figures, for bench/models/compare.sh only
(not committed: ResNet-18 alone is 45 MB). Random weights: latency does not depend on training.

  /usr/bin/python3 bench/models/make_reference_models.py [OUT_DIR]   (default /tmp/edgeloop-bench-models)
  bench/models/compare.sh /tmp/edgeloop-bench-models/*.onnx
Writes: cnn1d_4096 (WDCNN-like, 1x4096), lstm_50x14 (2-layer LSTM 64), gru_50x14, cnn2d_tile
(4 conv blocks, 1x128x128), resnet18 and mobilenet_v2 (3x224x224, torchvision's topologies).
"""
import os
import sys

import torch
from torch import nn


def conv_bn(cin, cout, k, s=1, p=0, groups=1, relu=True, dims=2):
    conv = nn.Conv2d if dims == 2 else nn.Conv1d
    bn = nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d
    layers = [conv(cin, cout, k, s, p, groups=groups, bias=False), bn(cout)]
    if relu:
        layers.append(nn.ReLU6(inplace=True) if relu == 6 else nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class Cnn1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(conv_bn(1, 16, 64, 16, 24, dims=1), nn.MaxPool1d(2),
                                  conv_bn(16, 32, 3, 1, 1, dims=1), nn.MaxPool1d(2),
                                  conv_bn(32, 64, 3, 1, 1, dims=1), nn.MaxPool1d(2),
                                  conv_bn(64, 64, 3, 1, 1, dims=1), nn.AdaptiveAvgPool1d(1))
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        return torch.softmax(self.fc(torch.flatten(self.body(x), 1)), 1)


class Rnn(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.rnn = kind(14, 64, num_layers=2, batch_first=True)
        self.fc = nn.Linear(64, 1)

    def forward(self, x):
        y, _ = self.rnn(x)
        return self.fc(y[:, -1, :])


class Cnn2d(nn.Module):
    def __init__(self):
        super().__init__()
        blocks = []
        for cin, cout in ((1, 16), (16, 32), (32, 64), (64, 128)):
            blocks += [conv_bn(cin, cout, 3, 1, 1), nn.MaxPool2d(2)]
        self.body = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1))
        self.fc = nn.Linear(128, 6)

    def forward(self, x):
        return self.fc(torch.flatten(self.body(x), 1))


class Basic(nn.Module):
    def __init__(self, cin, cout, s):
        super().__init__()
        self.a = conv_bn(cin, cout, 3, s, 1)
        self.b = conv_bn(cout, cout, 3, 1, 1, relu=False)
        self.down = conv_bn(cin, cout, 1, s, relu=False) if s != 1 or cin != cout else nn.Identity()

    def forward(self, x):
        return torch.relu(self.b(self.a(x)) + self.down(x))


class ResNet18(nn.Module):
    def __init__(self):
        super().__init__()
        layers = [conv_bn(3, 64, 7, 2, 3), nn.MaxPool2d(3, 2, 1)]
        cin = 64
        for cout, s in ((64, 1), (128, 2), (256, 2), (512, 2)):
            layers += [Basic(cin, cout, s), Basic(cout, cout, 1)]
            cin = cout
        self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1))
        self.fc = nn.Linear(512, 1000)

    def forward(self, x):
        return self.fc(torch.flatten(self.body(x), 1))


class Inverted(nn.Module):
    def __init__(self, cin, cout, s, t):
        super().__init__()
        hid = cin * t
        layers = [conv_bn(cin, hid, 1, relu=6)] if t != 1 else []
        layers += [conv_bn(hid, hid, 3, s, 1, groups=hid, relu=6), conv_bn(hid, cout, 1, relu=False)]
        self.body = nn.Sequential(*layers)
        self.res = s == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.res else self.body(x)


class MobileNetV2(nn.Module):
    def __init__(self):
        super().__init__()
        layers = [conv_bn(3, 32, 3, 2, 1, relu=6)]
        cin = 32
        for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                           (6, 320, 1, 1)):
            for i in range(n):
                layers.append(Inverted(cin, c, s if i == 0 else 1, t))
                cin = c
        layers += [conv_bn(cin, 1280, 1, relu=6), nn.AdaptiveAvgPool2d(1)]
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(1280, 1000)

    def forward(self, x):
        return self.fc(torch.flatten(self.body(x), 1))


def export(net, name, shape, out_dir):
    net.eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics so that folding them is exercised
        for m in net.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.1, 0.1)
    path = os.path.join(out_dir, name + ".onnx")
    torch.onnx.export(net, torch.zeros(1, *shape), path, input_names=["x"], output_names=["y"], opset_version=13,
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})
    print(path, os.path.getsize(path))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/edgeloop-bench-models"
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(6)
    export(Cnn1d(), "cnn1d_4096", (1, 4096), out)
    export(Rnn(nn.LSTM), "lstm_50x14", (50, 14), out)
    export(Rnn(nn.GRU), "gru_50x14", (50, 14), out)
    export(Cnn2d(), "cnn2d_tile", (1, 128, 128), out)
    export(ResNet18(), "resnet18", (3, 224, 224), out)
    export(MobileNetV2(), "mobilenet_v2", (3, 224, 224), out)


if __name__ == "__main__":
    main()
