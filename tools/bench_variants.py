#!/usr/bin/env python3
"""Two or more builds of rnn-bench side by side: what a change to the kernels costs or saves.

Usage:  python3 tools/bench_variants.py NAME=BINARY NAME=BINARY ... [--rounds N] [--threads N]

Each round runs every binary once per shape (in alternation, so that a busy moment of the machine falls on all of
them alike) and records its median time; the table gives, per shape, each binary's median over the rounds and its
ratio to the first binary's (above 1: slower than the first). The shapes are those of tools/bench_forward.py and
the streaming shapes of tools/bench_stream.py (us per step, one thread).

BENCHMARKS.md uses it for the blocked sums and the exact tanh/sigmoid, with builds made by
  swift build -c release --scratch-path .build-perf-X --product rnn-bench -Xcc -DRK_KBLOCK=1000000   (no blocks)
  swift build -c release --scratch-path .build-perf-Y --product rnn-bench -Xcc -DRK_EXACT_ACTIVATIONS
"""
import argparse
import json
import statistics
import subprocess

SHAPES = [
    ("LSTM B1 I64 H128 stream", ["--mode", "lstm", "--input", "64", "--hidden", "128", "--seq", "200", "--stream"]),
    ("GRU B1 I64 H128 stream", ["--mode", "gru", "--input", "64", "--hidden", "128", "--seq", "200", "--stream"]),
    ("RNN tanh B1 I64 H256 stream", ["--mode", "rnn_tanh", "--input", "64", "--hidden", "256", "--seq", "200", "--stream"]),
    ("RNN tanh B1 I64 H128 T100", ["--mode", "rnn_tanh", "--input", "64", "--hidden", "128"]),
    ("LSTM B1 I64 H128 T100", ["--mode", "lstm", "--input", "64", "--hidden", "128"]),
    ("GRU B1 I64 H128 T100", ["--mode", "gru", "--input", "64", "--hidden", "128"]),
    ("RNN relu B4 I128 H256 T100 L3", ["--mode", "rnn_relu", "--batch", "4", "--input", "128", "--hidden", "256", "--layers", "3"]),
    ("LSTM B4 I128 H256 T100 L2", ["--mode", "lstm", "--batch", "4", "--input", "128", "--hidden", "256", "--layers", "2"]),
    ("LSTM B24 I256 H320 T100 bi", ["--mode", "lstm", "--batch", "24", "--input", "256", "--hidden", "320", "--bidirectional", "--runs", "10"]),
    ("GRU B24 I256 H320 T100 bi", ["--mode", "gru", "--batch", "24", "--input", "256", "--hidden", "320", "--bidirectional", "--runs", "10"]),
    ("LSTM B64 I512 H1024 T50 L2", ["--mode", "lstm", "--batch", "64", "--input", "512", "--hidden", "1024", "--layers", "2", "--seq", "50", "--runs", "5", "--warmup", "1"]),
]


def run(binary, arguments, threads):
    stream = "--stream" in arguments
    command = [binary, *arguments, "--json", "--threads", "1" if stream else str(threads)]
    report = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
    return report["us_per_step"] if stream else report["median_ms"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binaries", nargs="+", help="NAME=PATH of an rnn-bench build")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", default="", help="only the shapes whose name contains this")
    args = parser.parse_args()
    binaries = [item.split("=", 1) for item in args.binaries]
    shapes = [shape for shape in SHAPES if args.only in shape[0]]
    times = {(shape[0], name): [] for shape in shapes for name, _ in binaries}
    for _ in range(args.rounds):
        for shape, arguments in shapes:
            for name, path in binaries:
                times[(shape, name)].append(run(path, arguments, args.threads))
    names = [name for name, _ in binaries]
    print("| shape | " + " | ".join(names) + " | " + " | ".join(f"{n}/{names[0]}" for n in names[1:]) + " |")
    print("| --- |" + " ---: |" * (2 * len(names) - 1))
    for shape, arguments in shapes:
        medians = [statistics.median(times[(shape, name)]) for name in names]
        unit = "µs/step" if "--stream" in arguments else "ms"
        cells = [f"{m:.3f} {unit}" for m in medians] + [f"{m / medians[0]:.2f}×" for m in medians[1:]]
        print(f"| {shape} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
