"""A tiny stand-in for the magnetic tile classifier, for tests/eval/magnetic_tile_test.cc:
input [N, 1, 8, 8], output the softmax of [10 * (mean(x) - 0.5), 0, 0, 0, 0, 0] over the six
classes, so a bright image passes (P(MT_Free) > 0.5) and a dark one fails.
Run: /usr/bin/python3 tests/eval/magnetic_tile_data/make_tiny_model.py"""
import os

import torch


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(1, 6)
        with torch.no_grad():
            self.fc.weight.zero_()
            self.fc.bias.zero_()
            self.fc.weight[0, 0] = 10.0
            self.fc.bias[0] = -5.0

    def forward(self, x):
        return torch.softmax(self.fc(torch.flatten(self.pool(x), 1)), dim=1)


here = os.path.dirname(os.path.abspath(__file__))
torch.onnx.export(Tiny().eval(), torch.zeros(1, 1, 8, 8), os.path.join(here, "tiny_tile.onnx"), opset_version=13,
                  input_names=["image"], output_names=["probs"], dynamic_axes={"image": {0: "batch"}, "probs": {0: "batch"}})
