#!/usr/bin/env python3
"""Loading speed of a ~350 MB RNN state_dict: ours against numpy (NPZ), h5py (HDF5) and onnx (ONNX).

Usage:  tools/.venv/bin/python tools/bench_load.py [--rounds N] [--scratch-path DIR] [--data DIR] [--no-build]

What it does:
  1. Makes, once, a float32 state_dict of a 2-layer bidirectional LSTM (input 1024, hidden 1536: 16 tensors,
     352,518,144 bytes, random normal values as in a trained model) as NPZ stored (np.savez), NPZ deflated
     (np.savez_compressed) and HDF5 (h5py, contiguous datasets), cached in --data (default
     /tmp/rnn-bench-load), never in the repository; and, with our build, the same LSTM as an ONNX model
     (`rnn-convert stored.npz -o model.onnx`: four LSTM nodes, weights as raw_data initializers).
  2. Builds ours (`swift build -c release --scratch-path DIR`, default .build-load beside tools/) and links a
     small timing program against the TensorIO objects of that build (its source is below, in LOADTIME).
  3. Times, in alternation over --rounds rounds (default 7), each in a fresh process so both sides pay for
     fresh memory equally:
       - in-process load time: ours `TensorFile.read` (NPZ, HDF5 in this process) and
         `HDF5Format.readIsolated` (HDF5 in a worker process, what the commands do); numpy `np.load`
         then every array taken out of the NpzFile (it is lazy); h5py reading every dataset with `[()]`;
         `onnx.load` then `numpy_helper.to_array` of every initializer (ours also finds the LSTM nodes and
         reorders their gates into PyTorch's tensors);
       - whole processes: `rnn-inspect FILE` against `python -c` loading and printing every shape, with each
         side's start-up (`rnn-inspect --help`, `python -c "import numpy, h5py"`) reported separately.
     Medians are printed.
  4. Peak memory (max RSS from /usr/bin/time -v) of a conversion: ours reading NPZ and writing HDF5 through
     `TensorFile` (the timing program's `convert` mode), and `rnn-convert` of stored NPZ → HDF5, safetensors and ONNX and HDF5 → NPZ
     (HDF5 read in the worker, as the commands do), against the model's bytes.
Prints markdown tables. The machine has 2 cores shared with other work: expect noise, compare medians.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PYTHON = sys.executable

# The timing program: MODE FILE [OUT]; prints the milliseconds of the load (and of the write for convert).
LOADTIME = r"""
import Foundation
import TensorIO

let arguments = CommandLine.arguments
let mode = arguments[1], url = URL(fileURLWithPath: arguments[2])
func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }
let start = now()
let dict = mode == "isolated" ? try HDF5Format.readIsolated(contentsOf: url) : try TensorFile.read(contentsOf: url)
let loaded = now()
var line = String(format: "%.2f", Double(loaded - start) / 1e6)
if mode == "convert" {
    try TensorFile.write(dict, to: URL(fileURLWithPath: arguments[3]))
    line += String(format: " %.2f", Double(now() - loaded) / 1e6)
}
print(line, dict.tensors.count, dict.byteCount)
"""

NUMPY_LOAD = r"""
import sys, time
import numpy as np, h5py
path = sys.argv[1]
start = time.perf_counter()
if path.endswith(".npz"):
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
elif path.endswith(".onnx"):
    import onnx
    from onnx import numpy_helper
    arrays = {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}
else:
    with h5py.File(path, "r") as f:
        arrays = {}
        f.visititems(lambda name, item: arrays.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None)
elapsed = time.perf_counter() - start
print("%.2f" % (elapsed * 1000), len(arrays), sum(a.nbytes for a in arrays.values()))
"""

NUMPY_INSPECT = r"""
import sys
import numpy as np, h5py
path = sys.argv[1]
if path.endswith(".npz"):
    with np.load(path) as archive:
        for name in archive.files:
            a = archive[name]
            print(name, a.dtype, a.shape, a.nbytes)
elif path.endswith(".onnx"):
    import onnx
    from onnx import numpy_helper
    for t in onnx.load(path).graph.initializer:
        a = numpy_helper.to_array(t)
        print(t.name, a.dtype, a.shape, a.nbytes)
else:
    with h5py.File(path, "r") as f:
        for name in f:
            a = f[name][()]
            print(name, a.dtype, a.shape, a.nbytes)
"""

HIDDEN, INPUT, LAYERS = 1536, 1024, 2


def make_data(folder):
    import numpy as np
    import h5py

    os.makedirs(folder, exist_ok=True)
    paths = {kind: os.path.join(folder, name) for kind, name in
             [("stored", "stored.npz"), ("deflated", "deflated.npz"), ("hdf5", "model.h5")]}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    rng = np.random.default_rng(0)
    tensors = {}
    for layer in range(LAYERS):
        for suffix in ["", "_reverse"]:
            width = INPUT if layer == 0 else 2 * HIDDEN
            for name, shape in [("weight_ih", (4 * HIDDEN, width)), ("weight_hh", (4 * HIDDEN, HIDDEN)),
                                ("bias_ih", (4 * HIDDEN,)), ("bias_hh", (4 * HIDDEN,))]:
                tensors[f"{name}_l{layer}{suffix}"] = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
    print(f"making {folder} ({sum(a.nbytes for a in tensors.values()):,} bytes of float32; deflating takes a while)",
          file=sys.stderr)
    np.savez(paths["stored"] + ".tmp.npz", **tensors)
    os.replace(paths["stored"] + ".tmp.npz", paths["stored"])
    np.savez_compressed(paths["deflated"] + ".tmp.npz", **tensors)
    os.replace(paths["deflated"] + ".tmp.npz", paths["deflated"])
    with h5py.File(paths["hdf5"] + ".tmp", "w") as f:
        for name, array in tensors.items():
            f.create_dataset(name, data=array)
    os.replace(paths["hdf5"] + ".tmp", paths["hdf5"])
    return paths


def pkg_config(flag, *packages):
    return subprocess.run(["pkg-config", flag, *packages], check=True, capture_output=True, text=True).stdout.split()


def build(scratch, skip):
    if not skip:
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", scratch], cwd=REPO, check=True)
    release = os.path.join(scratch, "release")
    source = os.path.join(scratch, "bench-loadtime.swift")
    program = os.path.join(scratch, "bench-loadtime")
    with open(source, "w") as f:
        f.write(LOADTIME)
    objects = []
    for module in ["TensorIO", "CPlatform", "OrderedCollections", "InternalCollectionsUtilities"]:
        folder = os.path.join(release, module + ".build")
        objects += [os.path.join(folder, n) for n in sorted(os.listdir(folder)) if n.endswith(".o")]
    command = ["swiftc", "-O", source, "-o", program, "-I", os.path.join(release, "Modules")]
    for shim in ["CHDF5", "CZlib", "CLibDeflate"]:
        command += ["-Xcc", f"-fmodule-map-file={REPO}/Sources/{shim}/module.modulemap"]
    # CPlatform is a C target: SwiftPM wrote its module map into the build folder.
    command += ["-Xcc", f"-fmodule-map-file={release}/CPlatform.build/module.modulemap",
                "-Xcc", f"-I{REPO}/Sources/CPlatform/include"]
    for include in pkg_config("--cflags-only-I", "hdf5"):
        command += ["-Xcc", include]
    command += objects + pkg_config("--libs", "hdf5", "zlib", "libdeflate")
    subprocess.run(command, check=True)
    return program, release


def run(command, env=None):
    """Runs `command`; returns (wall milliseconds, stdout)."""
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return (time.perf_counter() - start) * 1000, done.stdout


def peak_rss(command):
    """Max resident set size in bytes of `command`, from GNU time."""
    done = subprocess.run(["/usr/bin/time", "-v", *command], check=True, capture_output=True, text=True)
    for line in done.stderr.splitlines():
        if "Maximum resident set size" in line:
            return int(line.split(":")[1]) * 1024
    raise RuntimeError("no RSS in /usr/bin/time output")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--scratch-path", default=os.path.join(REPO, ".build-load"))
    parser.add_argument("--data", default="/tmp/rnn-bench-load")
    parser.add_argument("--no-build", action="store_true", help="use the build already in --scratch-path")
    args = parser.parse_args()

    paths = make_data(args.data)
    program, release = build(os.path.abspath(args.scratch_path), args.no_build)
    env = dict(os.environ, RNN_HDF5_WORKER=os.path.join(release, "rnn-inspect"))
    inspect = os.path.join(release, "rnn-inspect")
    model_bytes = None
    paths["onnx"] = os.path.join(args.data, "model.onnx")
    if not os.path.exists(paths["onnx"]):
        subprocess.run([os.path.join(release, "rnn-convert"), paths["stored"], "-o", paths["onnx"]], check=True)

    cases = [  # label, file, our in-process mode, reference label
        ("NPZ stored", paths["stored"], "read", "numpy"),
        ("NPZ deflated", paths["deflated"], "read", "numpy"),
        ("HDF5 contiguous", paths["hdf5"], "read", "h5py"),
        ("HDF5 contiguous, isolated", paths["hdf5"], "isolated", "h5py"),
        ("ONNX (raw_data)", paths["onnx"], "read", "onnx"),
    ]
    ours = {c[0]: [] for c in cases}
    theirs = {c[0]: [] for c in cases}
    ours_process = {c[1]: [] for c in cases}
    theirs_process = {c[1]: [] for c in cases}
    startup = {"ours": [], "python": []}
    for round in range(args.rounds):
        print(f"round {round + 1}/{args.rounds}", file=sys.stderr)
        for label, path, mode, _ in cases:
            _, out = run([program, mode, path], env)
            ours[label].append(float(out.split()[0]))
            model_bytes = int(out.split()[2])
            _, out = run([PYTHON, "-c", NUMPY_LOAD, path])
            theirs[label].append(float(out.split()[0]))
        for path in {c[1] for c in cases}:
            ours_process[path].append(run([inspect, path], env)[0])
            theirs_process[path].append(run([PYTHON, "-c", NUMPY_INSPECT, path])[0])
        startup["ours"].append(run([inspect, "--help"])[0])
        startup["python"].append(run([PYTHON, "-c", "import numpy, h5py"])[0])

    print(f"\nIn-process load time, median of {args.rounds} fresh processes each "
          f"(model: {model_bytes:,} bytes of float32, 16 tensors; 2-core VM):\n")
    print("| file | size | ours ms | reference ms | ours / reference | ours GB/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, path, _, reference in cases:
        mine, other = statistics.median(ours[label]), statistics.median(theirs[label])
        size = os.path.getsize(path) / 1e6
        print(f"| {label} | {size:.0f} MB | {mine:.0f} | {reference} {other:.0f} | {mine / other:.2f} | "
              f"{model_bytes / 1e6 / mine:.2f} |")

    ours_start, python_start = statistics.median(startup["ours"]), statistics.median(startup["python"])
    print(f"\nWhole processes, median wall ms: `rnn-inspect FILE` (also finds and validates the RNN) "
          f"against `python -c` loading and printing every array. Start-up alone: rnn-inspect --help "
          f"{ours_start:.0f} ms, python -c 'import numpy, h5py' {python_start:.0f} ms.\n")
    print("| file | rnn-inspect ms | python ms |")
    print("| --- | ---: | ---: |")
    for path in dict.fromkeys(c[1] for c in cases):
        print(f"| {os.path.basename(path)} | {statistics.median(ours_process[path]):.0f} | "
              f"{statistics.median(theirs_process[path]):.0f} |")

    print("\nPeak memory (max RSS) of a conversion, against the model's bytes:\n")
    print("| conversion | peak RSS | × model bytes |")
    print("| --- | ---: | ---: |")
    h5_out, npz_out = os.path.join(args.data, "converted.h5"), os.path.join(args.data, "converted.npz")
    st_out, onnx_out = os.path.join(args.data, "converted.safetensors"), os.path.join(args.data, "converted.onnx")
    convert = os.path.join(release, "rnn-convert")
    for label, command, out in [
        ("TensorFile: stored.npz → .h5", [program, "convert", paths["stored"], h5_out], h5_out),
        ("TensorFile: deflated.npz → .h5", [program, "convert", paths["deflated"], h5_out], h5_out),
        ("TensorFile: model.h5 → .npz", [program, "convert", paths["hdf5"], npz_out], npz_out),
        ("rnn-convert stored.npz -o converted.h5", [convert, paths["stored"], "-o", h5_out, "--force"], h5_out),
        ("rnn-convert model.h5 -o converted.npz", [convert, paths["hdf5"], "-o", npz_out, "--force"], npz_out),
        ("rnn-convert stored.npz -o converted.safetensors", [convert, paths["stored"], "-o", st_out, "--force"], st_out),
        ("rnn-convert stored.npz -o converted.onnx", [convert, paths["stored"], "-o", onnx_out, "--force"], onnx_out),
    ]:
        if os.path.exists(out):
            os.remove(out)
        rss = peak_rss(command)
        print(f"| {label} | {rss / 1e6:.0f} MB | {rss / model_bytes:.2f} |")
        os.remove(out)


if __name__ == "__main__":
    main()
