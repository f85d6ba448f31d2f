#!/usr/bin/env python3
"""Forward-pass speed: ours (rnn-bench) against PyTorch and ONNX Runtime on the CPU, shape by shape.

Usage:  tools/.venv-torch/bin/python tools/bench_forward.py [--bin DIR] [--rounds N] [--threads N]
                                                          [--only SUBSTRING] [--no-build]

What it does:
  1. Builds ours unless --no-build: `swift build -c release --scratch-path .build-perf --product rnn-bench`
     (--bin names the directory holding rnn-bench; default .build-perf/release beside tools/).
  2. For each shape, in alternation over --rounds rounds (default 5): runs `rnn-bench ... --json` (random weights
     loaded through RNN(stateDict:), timed in process after warm-up), then times the same shape in this process
     with torch.nn.RNN/LSTM/GRU (eval, inference_mode, torch.set_num_threads(--threads)) and with ONNX Runtime
     on the module exported by torch.onnx.export (CPU provider, intra_op_num_threads = --threads). Each side takes
     the median of its timed runs; the table shows the median of those over the rounds. A short pause between
     sides lets spinning thread pools (OpenMP's, ONNX Runtime's, ours) go idle before the next side starts.
  3. Prints a markdown table: shape, ours ms, torch ms, ORT ms, torch/ours, ORT/ours (above 1: ours is faster),
     and the share of the machine's multiply-add peak that ours and torch reach on the shape: its multiply-adds
     (x·W_ih and h·W_hh over every layer, direction and step) per second, against tools/fma_peak.c run on the same
     number of threads before and after the shapes (the better of the two).
Same thread count on every side (default 2, the machine's cores). float32 everywhere.
The machine is shared and noisy: compare medians, rerun when a row looks off.
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

warnings.filterwarnings("ignore")  # the ONNX exporter's notes on batch sizes and deprecations
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# name, mode, batch, seq, input, hidden, layers, bidirectional, (runs, warm-up) per round
SHAPES = [
    ("RNN tanh B1 I64 H128 T100 (streaming)", "rnn_tanh", 1, 100, 64, 128, 1, False, (200, 20)),
    ("LSTM B1 I64 H128 T100 (streaming)", "lstm", 1, 100, 64, 128, 1, False, (100, 10)),
    ("GRU B1 I64 H128 T100 (streaming)", "gru", 1, 100, 64, 128, 1, False, (100, 10)),
    ("RNN relu B4 I128 H256 T100, 3 layers", "rnn_relu", 4, 100, 128, 256, 3, False, (30, 3)),
    ("LSTM B4 I128 H256 T100, 2 layers", "lstm", 4, 100, 128, 256, 2, False, (20, 3)),
    ("RNN tanh B24 I256 H320 T100 bidirectional", "rnn_tanh", 24, 100, 256, 320, 1, True, (20, 3)),
    ("LSTM B24 I256 H320 T100 bidirectional", "lstm", 24, 100, 256, 320, 1, True, (10, 2)),
    ("GRU B24 I256 H320 T100 bidirectional", "gru", 24, 100, 256, 320, 1, True, (10, 2)),
    ("RNN tanh B64 I512 H1024 T200, 2 layers", "rnn_tanh", 64, 200, 512, 1024, 2, False, (3, 1)),
    ("LSTM B64 I512 H1024 T200, 2 layers", "lstm", 64, 200, 512, 1024, 2, False, (2, 1)),
    ("GRU B64 I512 H1024 T200, 2 layers", "gru", 64, 200, 512, 1024, 2, False, (2, 1)),
]


def ours(binary, shape, threads):
    name, mode, batch, seq, inp, hidden, layers, bi, (runs, warmup) = shape
    command = [binary, "--mode", mode, "--batch", str(batch), "--seq", str(seq), "--input", str(inp), "--hidden",
               str(hidden), "--layers", str(layers), "--runs", str(runs), "--warmup", str(warmup), "--threads",
               str(threads), "--json"]
    if bi:
        command.append("--bidirectional")
    result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    return result["median_ms"], result


def module(shape):
    name, mode, batch, seq, inp, hidden, layers, bi, _ = shape
    torch.manual_seed(0)
    if mode.startswith("rnn"):
        m = torch.nn.RNN(inp, hidden, layers, nonlinearity=mode[4:], bidirectional=bi)
    elif mode == "lstm":
        m = torch.nn.LSTM(inp, hidden, layers, bidirectional=bi)
    else:
        m = torch.nn.GRU(inp, hidden, layers, bidirectional=bi)
    return m.eval(), torch.randn(seq, batch, inp)


def multiply_adds(shape):
    """x·W_ih and h·W_hh of every layer, direction and step: what the forward pass cannot avoid."""
    name, mode, batch, seq, inp, hidden, layers, bi, _ = shape
    gates = {"lstm": 4, "gru": 3}.get(mode, 1)
    directions = 2 if bi else 1
    total = 0
    for layer in range(layers):
        width = inp if layer == 0 else directions * hidden
        total += directions * seq * batch * gates * hidden * (width + hidden)
    return total


def fma_peak(threads):
    """GMAC/s of tools/fma_peak.c on `threads` threads (built with the system's C compiler for this CPU)."""
    binary = os.path.join(tempfile.gettempdir(), "rnn-fma-peak")
    compiler = "clang" if subprocess.run(["which", "clang"], capture_output=True).returncode == 0 else "cc"
    subprocess.run([compiler, "-O2", "-march=native", "-mprefer-vector-width=512", os.path.join(HERE, "fma_peak.c"),
                    "-o", binary, "-lpthread"], check=True)
    return float(subprocess.run([binary, str(threads)], check=True, capture_output=True, text=True).stdout)


def timed(call, runs, warmup):
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", default=os.path.join(REPO, ".build-perf", "release"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", help="only shapes whose name contains this")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--pause", type=float, default=0.3, help="seconds between sides")
    args = parser.parse_args()

    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", os.path.join(REPO, ".build-perf"),
                        "--product", "rnn-bench"], cwd=REPO, check=True, stdout=sys.stderr)
    binary = os.path.join(args.bin, "rnn-bench")
    torch.set_num_threads(args.threads)
    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL

    shapes = [s for s in SHAPES if not args.only or args.only.lower() in s[0].lower()]
    peak = fma_peak(args.threads)
    rows = []
    info = {}
    with tempfile.TemporaryDirectory() as folder:
        for shape in shapes:
            runs, warmup = shape[8]
            m, x = module(shape)
            path = os.path.join(folder, "model.onnx")
            with torch.inference_mode():
                torch.onnx.export(m, (x,), path, input_names=["input"], dynamo=False)
            session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
            feed = {"input": x.numpy()}
            mine, theirs, onnx = [], [], []
            for _ in range(args.rounds):
                median, info = ours(binary, shape, args.threads)
                mine.append(median)
                time.sleep(args.pause)
                with torch.inference_mode():
                    theirs.append(timed(lambda: m(x), runs, warmup))
                time.sleep(args.pause)
                onnx.append(timed(lambda: session.run(None, feed), runs, warmup))
                time.sleep(args.pause)
            row = (shape, statistics.median(mine), statistics.median(theirs), statistics.median(onnx))
            rows.append(row)
            print(f"{shape[0]}: ours {row[1]:.3f} ms, torch {row[2]:.3f} ms, ORT {row[3]:.3f} ms "
                  f"(rounds: ours {[round(v, 3) for v in mine]}, torch {[round(v, 3) for v in theirs]}, "
                  f"ORT {[round(v, 3) for v in onnx]})", file=sys.stderr, flush=True)

    peak = max(peak, fma_peak(args.threads))
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    print(f"CPU: {cpu}, {os.cpu_count()} cores; threads: {args.threads} on every side; "
          f"ours: {info.get('instruction_set', '?')} kernels; torch {torch.__version__}; onnxruntime {ort.__version__}; "
          f"numpy {np.__version__}; Python {platform.python_version()}; rounds: {args.rounds}; "
          f"multiply-add peak on {args.threads} threads (tools/fma_peak.c): {peak:.1f} GMAC/s")
    print()
    print("| shape (float32) | ours ms | torch ms | ORT ms | torch/ours | ORT/ours | ours % of peak | torch % of peak |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for shape, mine, theirs, onnx in rows:
        share = lambda ms: 100 * multiply_adds(shape) / (ms * 1e6) / peak
        print(f"| {shape[0]} | {mine:.3f} | {theirs:.3f} | {onnx:.3f} | {theirs / mine:.2f}× | {onnx / mine:.2f}× "
              f"| {share(mine):.0f}% | {share(theirs):.0f}% |")


if __name__ == "__main__":
    main()
