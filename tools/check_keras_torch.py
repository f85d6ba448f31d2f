#!/usr/bin/env python3
"""Loads every Keras fixture's PyTorch state_dict (torch.npz, derived by tools/keras_fixtures.py with the mapping
KerasMapping implements) into torch.nn with load_state_dict(strict=True), and checks that PyTorch reproduces
Keras's outputs (expected.npz). The reset-before GRUs are skipped: PyTorch has no such GRU.

Usage: tools/.venv-torch/bin/python tools/check_keras_torch.py   (needs torch: tools/requirements-torch.txt)
"""
import json
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERAS = os.path.join(ROOT, "Fixtures", "keras")


def main():
    failures, checked, worst = 0, 0, 0.0
    for name in sorted(os.listdir(KERAS)):
        folder = os.path.join(KERAS, name)
        fixture = json.load(open(os.path.join(folder, "fixture.json")))
        tensors = dict(np.load(os.path.join(folder, "torch.npz")))
        for module in fixture["modules"]:
            suffix = f".{module}" if module else ""
            local = {k[len(module) + 1:] if module else k: v for k, v in tensors.items() if not module or k.startswith(module + ".")}
            gates = local["weight_hh_l0"].shape[0] // local["weight_hh_l0"].shape[1]
            mode = {1: "rnn", 4: "lstm", 3: "gru"}[gates]
            if mode == "gru" and fixture.get("reset_after") is False:
                continue
            layers = 1 + max(int(k.split("_l")[1].split("_")[0]) for k in local)
            config = dict(input_size=local["weight_ih_l0"].shape[1], hidden_size=local["weight_hh_l0"].shape[1],
                          num_layers=layers, bias="bias_ih_l0" in local,
                          bidirectional=any(k.endswith("_reverse") for k in local), batch_first=True)
            if mode == "rnn":
                network = torch.nn.RNN(nonlinearity=fixture.get("nonlinearity", "tanh"), **config)
            else:
                network = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[mode](**config)
            network.load_state_dict({k: torch.from_numpy(v) for k, v in local.items()}, strict=True)
            inputs = np.load(os.path.join(folder, f"inputs{suffix}.npz"))
            expected = np.load(os.path.join(folder, f"expected{suffix}.npz"))
            x = torch.from_numpy(inputs["input"])
            state = None
            if "h0" in inputs:
                h0 = torch.from_numpy(inputs["h0"])
                state = (h0, torch.from_numpy(inputs["c0"])) if mode == "lstm" else h0
            with torch.no_grad():
                output, final = network(x, state)
            h_n = final[0] if mode == "lstm" else final
            for label, ours, theirs in [("output", output, expected["output"]), ("h_n", h_n, expected["h_n"])]:
                error = float(np.abs(ours.numpy() - theirs).max())
                worst = max(worst, error)
                if not np.allclose(ours.numpy(), theirs, atol=1e-5, rtol=1.3e-6):
                    failures += 1
                    print(f"FAIL {name} {module} {label}: {error:.3g}")
            checked += 1
    print(f"{checked} modules loaded into torch.nn (strict) and reproduced Keras; worst abs error {worst:.3g}; {failures} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
