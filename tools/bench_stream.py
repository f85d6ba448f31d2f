#!/usr/bin/env python3
"""Streaming speed: one time step per call, ours (rnn-bench --stream) against PyTorch's cells and ONNX Runtime.

Usage:  tools/.venv-torch/bin/python tools/bench_stream.py [--bin DIR] [--rounds N] [--steps N] [--no-build]

For each shape (batch 1, input 64: LSTM and GRU hidden 128, RNN tanh hidden 256), in alternation over --rounds
rounds (default 5), the time of one call that computes one step from the previous state:
  ours       `rnn-bench --stream --json`: RNNStream.step on preallocated buffers (us_per_step, the median run's
             time per step over --steps steps);
  torch cell nn.LSTMCell / nn.GRUCell / nn.RNNCell(x, state), eval, inference_mode, one thread;
  torch T=1  nn.LSTM / nn.GRU / nn.RNN on a one-step sequence with the previous state;
  ORT        InferenceSession.run of that module exported by torch.onnx.export with T = 1 (inputs x and the
             state; one intra-op thread).
Each side's figure is the median over its timed calls; the table shows the median over the rounds and the
ratios (above 1: ours is faster). One thread everywhere: a step this small gains nothing from a second one.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import onnxruntime as ort
import torch

warnings.filterwarnings("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# name, mode, input, hidden
SHAPES = [
    ("LSTM B1 I64 H128", "lstm", 64, 128),
    ("GRU B1 I64 H128", "gru", 64, 128),
    ("RNN tanh B1 I64 H256", "rnn_tanh", 64, 256),
]


def ours(binary, shape, steps):
    _, mode, inp, hidden = shape
    command = [binary, "--mode", mode, "--batch", "1", "--seq", str(steps), "--input", str(inp), "--hidden", str(hidden),
               "--runs", "21", "--warmup", "3", "--threads", "1", "--stream", "--json"]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)["us_per_step"]


def per_call_us(call, calls):
    """Median of per-call times over batches of 100 calls, in microseconds."""
    for _ in range(200):
        call()
    times = []
    for _ in range(calls // 100):
        start = time.perf_counter()
        for _ in range(100):
            call()
        times.append((time.perf_counter() - start) * 1e6 / 100)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.path.join(REPO, ".build-perf", "release"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", os.path.join(REPO, ".build-perf"),
                        "--product", "rnn-bench"], cwd=REPO, check=True, stdout=sys.stderr)
    binary = os.path.join(args.bin, "rnn-bench")
    torch.set_num_threads(1)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for shape in SHAPES:
            name, mode, inp, hidden = shape
            torch.manual_seed(0)
            if mode == "lstm":
                cell, module = torch.nn.LSTMCell(inp, hidden), torch.nn.LSTM(inp, hidden)
            elif mode == "gru":
                cell, module = torch.nn.GRUCell(inp, hidden), torch.nn.GRU(inp, hidden)
            else:
                cell, module = torch.nn.RNNCell(inp, hidden), torch.nn.RNN(inp, hidden)
            cell.eval()
            module.eval()
            x = torch.randn(1, inp)
            h = torch.zeros(1, hidden)
            state = (h, torch.zeros(1, hidden)) if mode == "lstm" else h
            sequence = x.unsqueeze(0)
            module_state = (h.unsqueeze(0), torch.zeros(1, 1, hidden)) if mode == "lstm" else h.unsqueeze(0)
            path = os.path.join(folder, "step.onnx")
            names = ["input", "h0", "c0"] if mode == "lstm" else ["input", "h0"]
            with torch.inference_mode():
                torch.onnx.export(module, (sequence, module_state), path, input_names=names, dynamo=False)
            session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
            feed = {"input": sequence.numpy(), "h0": np.zeros((1, 1, hidden), np.float32)}
            if mode == "lstm":
                feed["c0"] = np.zeros((1, 1, hidden), np.float32)
            mine, cells, modules, onnx = [], [], [], []
            for _ in range(args.rounds):
                mine.append(ours(binary, shape, args.steps))
                with torch.inference_mode():
                    cells.append(per_call_us(lambda: cell(x, state), args.steps))
                    modules.append(per_call_us(lambda: module(sequence, module_state), args.steps))
                onnx.append(per_call_us(lambda: session.run(None, feed), args.steps))
            row = (name, *(statistics.median(v) for v in (mine, cells, modules, onnx)))
            rows.append(row)
            print(f"{name}: ours {mine}, cell {[round(v, 2) for v in cells]}, T=1 {[round(v, 2) for v in modules]}, "
                  f"ORT {[round(v, 2) for v in onnx]}", file=sys.stderr, flush=True)

    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"CPU: {cpu}, {os.cpu_count()} cores; one thread on every side; torch {torch.__version__}; "
          f"onnxruntime {ort.__version__}; Python {platform.python_version()}; rounds: {args.rounds}")
    print()
    print("| shape (float32, one step per call) | ours µs | torch cell µs | torch T=1 µs | ORT µs | cell/ours | ORT/ours |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, mine, cell, module, onnx in rows:
        print(f"| {name} | {mine:.2f} | {cell:.1f} | {module:.1f} | {onnx:.1f} | {cell / mine:.1f}× | {onnx / mine:.1f}× |")


if __name__ == "__main__":
    main()
