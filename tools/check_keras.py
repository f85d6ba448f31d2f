#!/usr/bin/env python3
"""End-to-end check of Keras files in and out with real Keras (3, jax backend, CPU) and ONNX Runtime.

Usage: check_keras.py BIN_DIR   (the folder holding rnn-convert, rnn-run and rnn-verify)
       check_keras.py load MODEL.keras INPUTS.npz EXPECTED.npz [--atol 1e-5]
       check_keras.py weights WEIGHTS.weights.h5 --mode lstm|gru|rnn --input-size I --hidden-size H [--num-layers L]
           [--bidirectional] [--no-bias] [--reset-after true|false] [--activation tanh|relu] INPUTS.npz EXPECTED.npz
           [--atol 1e-5]

`load` and `weights` check one file: `load` opens it with keras.models.load_model (no custom objects,
compile=False), `weights` loads it into the Sequential a user would build (keras.Input((None, I)), then L layers of
LSTM/GRU/SimpleRNN(H, return_sequences=True), each in a Bidirectional when asked); then model(input) (`input` of
INPUTS.npz, batch-first [B, T, I]; a model's first output when it has several) must equal `output` of EXPECTED.npz
(same shape, np.allclose with atol and rtol 1.3e-6). Prints the max abs error and OK (exit 0), or why not (exit 1).

Without a subcommand (check_keras.py BIN_DIR), the whole suite:

In (Fixtures/keras, made by tools/keras_fixtures.py with Keras itself):
  - rnn-verify of every fixture's model.keras, model.h5 and model.weights.h5 (with the flags a .weights.h5 needs),
    and of the sharded weights, against Keras's outputs: exit 0;
  - rnn-convert of each to NPZ gives exactly the state_dict of torch.npz (names, dtypes, bytes), with the
    configuration metadata; a reset-before GRU is refused (exit 2, saying why) and instead exported to ONNX,
    where ONNX Runtime reproduces Keras's outputs.
Out: every Fixtures/torch case Keras can hold (no proj_size) is written as .keras and as .weights.h5 by rnn-convert;
  keras.models.load_model opens the .keras with no custom code and model(x) equals our rnn-run output; the
  .weights.h5 loads into the Sequential a user would build (README) and gives the same. Then the Keras fixtures
  round trip: Keras → .keras written by us → Keras gives Keras's own outputs.
Prints one line per problem; exits 1 if any.
"""
import json
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

from tensor_files import read_npz  # noqa: E402  (same folder)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KERAS = os.path.join(ROOT, "Fixtures", "keras")
TORCH = os.path.join(ROOT, "Fixtures", "torch")
ATOL, RTOL = 1e-5, 1.3e-6
problems = []
checked = {"verified": 0, "converted": 0, "refused": 0, "onnx": 0, "keras_loaded": 0, "weights_loaded": 0}


def problem(text):
    problems.append(text)
    print("FAIL: " + text)


def run(bin_dir, tool, *args):
    return subprocess.run([os.path.join(bin_dir, tool), *map(str, args)], capture_output=True, text=True, timeout=300)


def close(name, actual, expected):
    if actual.shape != expected.shape:
        problem(f"{name}: shape {actual.shape}, expected {expected.shape}")
        return False
    if not np.allclose(actual, expected, atol=ATOL, rtol=RTOL):
        problem(f"{name}: max abs error {np.abs(actual - expected).max():.3g}")
        return False
    return True


def check_reading(bin_dir, work):
    import onnxruntime
    for name in sorted(os.listdir(KERAS)):
        folder = os.path.join(KERAS, name)
        fixture = json.load(open(os.path.join(folder, "fixture.json")))
        modules = fixture["modules"]
        files = [(model, flags) for model, flags in [("model.keras", []), ("model.h5", []),
                                                     ("model.weights.h5", fixture["weights_h5_flags"])]
                 if os.path.exists(os.path.join(folder, model))]  # lstm_keras2_style: a legacy .h5 alone
        if os.path.exists(os.path.join(folder, "sharded.weights.json")):
            files.append(("sharded.weights.json", fixture["weights_h5_flags"]))
        reference = read_npz(os.path.join(folder, "torch.npz"))[0]
        reset_before = fixture.get("mode") == "gru" and fixture.get("reset_after") is False
        for model, flags in files:
            path = os.path.join(folder, model)
            for module in modules:
                suffix = f".{module}" if module else ""
                prefix = ["--prefix", module] if module else []
                inputs = os.path.join(folder, f"inputs{suffix}.npz")
                expected = os.path.join(folder, f"expected{suffix}.npz")
                result = run(bin_dir, "rnn-verify", path, inputs, expected, *prefix, *flags)
                if result.returncode != 0:
                    problem(f"rnn-verify {name}/{model} {module}: exit {result.returncode}: {result.stdout}{result.stderr}")
                else:
                    checked["verified"] += 1
                out = os.path.join(work, f"{name}-{model}-{module}.npz")
                result = run(bin_dir, "rnn-convert", path, "-o", out, "--force", *prefix, *flags)
                if reset_before:
                    if result.returncode != 2 or "reset gate" not in result.stderr:
                        problem(f"rnn-convert {name}/{model} to NPZ: a reset-before GRU must be refused, got exit "
                                f"{result.returncode}: {result.stderr}")
                    else:
                        checked["refused"] += 1
                    onnx = os.path.join(work, f"{name}-{model}.onnx")
                    result = run(bin_dir, "rnn-convert", path, "-o", onnx, "--force", *flags)
                    if result.returncode != 0:
                        problem(f"rnn-convert {name}/{model} to ONNX: {result.stderr}")
                        continue
                    feeds = dict(np.load(inputs))
                    options = onnxruntime.SessionOptions()
                    options.log_severity_level = 3  # not the warnings about overridable initializers
                    session = onnxruntime.InferenceSession(onnx, options)
                    wanted = {i.name for i in session.get_inputs()} | {i.name for i in session.get_overridable_initializers()}
                    outputs = session.run(None, {k: v for k, v in feeds.items() if k in wanted})
                    if close(f"ONNX Runtime {name}/{model} output", outputs[0], np.load(expected)["output"]):
                        checked["onnx"] += 1
                    continue
                if result.returncode != 0:
                    problem(f"rnn-convert {name}/{model} {module}: {result.stderr}")
                    continue
                tensors, metadata = read_npz(out)
                wanted = {k: v for k, v in reference.items() if not module or k.startswith(module + ".")}
                if set(tensors) != set(wanted):
                    problem(f"rnn-convert {name}/{model}: names {sorted(tensors)}, expected {sorted(wanted)}")
                    continue
                for key, value in wanted.items():
                    if tensors[key].dtype != value.dtype or tensors[key].tobytes() != value.tobytes():
                        problem(f"rnn-convert {name}/{model}: {key} differs from torch.npz")
                if metadata.get("batch_first") != "true" or metadata.get("num_layers") != str(fixture.get("num_layers", 1)):
                    problem(f"rnn-convert {name}/{model}: metadata {metadata}")
                checked["converted"] += 1


def build_user_model(keras, config):
    """The Sequential a user builds for our .weights.h5 (README, Keras files)."""
    layer_class = {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[config["mode"]]
    layers = [keras.Input((None, config["input_size"]))]
    for _ in range(config["num_layers"]):
        kwargs = {"return_sequences": True, "use_bias": config["bias"]}
        if config["mode"] == "rnn":
            kwargs["activation"] = config["nonlinearity"]
        if config["mode"] == "gru":
            kwargs["reset_after"] = config.get("reset_after", True)
        layer = layer_class(config["hidden_size"], **kwargs)
        layers.append(keras.layers.Bidirectional(layer) if config["bidirectional"] else layer)
    return keras.Sequential(layers)


def check_writing(bin_dir, work):
    import keras
    rng = np.random.default_rng(3)
    for name in sorted(os.listdir(TORCH)):
        model = os.path.join(TORCH, name, "model.npz")
        if not os.path.exists(model):
            continue
        tensors, metadata = read_npz(model)
        if any("weight_hr" in k for k in tensors) or metadata.get("prefix"):
            continue  # a projection has no Keras equivalent (refusal checked in the Swift tests)
        keras_path, weights_path = os.path.join(work, f"{name}.keras"), os.path.join(work, f"{name}.weights.h5")
        results = [run(bin_dir, "rnn-convert", model, "-o", path, "--force") for path in (keras_path, weights_path)]
        if any(r.returncode != 0 for r in results):
            # Cells and files with several modules or no metadata need options; the fixtures the loop can take
            # without them are enough here, and a refusal must still be a clean exit 2.
            if any(r.returncode not in (0, 2) for r in results):
                problem(f"rnn-convert {name} to Keras: {[r.stderr for r in results]}")
            continue
        loaded = keras.models.load_model(keras_path, compile=False)
        width = loaded.inputs[0].shape[-1]
        x = rng.uniform(-1, 1, (3, 5, width)).astype(np.float32)
        inputs, ours = os.path.join(work, f"{name}-x.npz"), os.path.join(work, f"{name}-ours.npz")
        np.savez(inputs, input=x)
        result = run(bin_dir, "rnn-run", model, inputs, "-o", ours, "--batch-first", "--force")
        if result.returncode != 0:
            problem(f"rnn-run {name}: {result.stderr}")
            continue
        expected = np.load(ours)["output"]
        if close(f"keras.models.load_model({name}.keras)(x)", np.asarray(loaded(x)).astype(expected.dtype), expected):
            checked["keras_loaded"] += 1
        inspected = json.loads(run(bin_dir, "rnn-inspect", model, "--json").stdout)["rnn_modules"][0]["configuration"]
        config = {"mode": inspected["mode"].replace("_cell", ""), "input_size": width,
                  "hidden_size": inspected["hidden_size"], "num_layers": inspected["num_layers"],
                  "bias": inspected["bias"], "bidirectional": inspected["bidirectional"],
                  "nonlinearity": inspected.get("nonlinearity", "tanh")}
        user = build_user_model(keras, config)
        user.load_weights(weights_path)
        if close(f"load_weights({name}.weights.h5)", np.asarray(user(x)).astype(expected.dtype), expected):
            checked["weights_loaded"] += 1
    # Keras's own models through our .keras writer and back into Keras.
    for name in sorted(os.listdir(KERAS)):
        folder = os.path.join(KERAS, name)
        fixture = json.load(open(os.path.join(folder, "fixture.json")))
        if not os.path.exists(os.path.join(folder, "model.keras")):
            continue
        if fixture["modules"] != [""] or os.path.exists(os.path.join(folder, "inputs.npz")) and "h0" in np.load(os.path.join(folder, "inputs.npz")):
            continue
        out = os.path.join(work, f"{name}-again.keras")
        result = run(bin_dir, "rnn-convert", os.path.join(folder, "model.keras"), "-o", out, "--force")
        if result.returncode != 0:
            problem(f"rnn-convert {name}/model.keras to .keras: {result.stderr}")
            continue
        loaded = keras.models.load_model(out, compile=False)
        x = np.load(os.path.join(folder, "inputs.npz"))["input"]
        if close(f"Keras → us → Keras {name}", np.asarray(loaded(x)), np.load(os.path.join(folder, "expected.npz"))["output"]):
            checked["keras_loaded"] += 1


def check_one(argv):
    """The `load` and `weights` subcommands: one Keras file against one expected output; the exit status."""
    import argparse
    parser = argparse.ArgumentParser(prog="check_keras.py", description="Check that a Keras file opens in Keras and "
                                     "gives the expected output.")
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("load", help="keras.models.load_model(MODEL) (a .keras or legacy .h5 file)")
    load.add_argument("model")
    weights = commands.add_parser("weights", help="model.load_weights(WEIGHTS) into the Sequential a user builds")
    weights.add_argument("model")
    weights.add_argument("--mode", choices=["lstm", "gru", "rnn"], required=True)
    weights.add_argument("--input-size", type=int, required=True)
    weights.add_argument("--hidden-size", type=int, required=True)
    weights.add_argument("--num-layers", type=int, default=1)
    weights.add_argument("--bidirectional", action="store_true")
    weights.add_argument("--no-bias", action="store_true")
    weights.add_argument("--reset-after", choices=["true", "false"], default="true", help="GRU only")
    weights.add_argument("--activation", choices=["tanh", "relu"], default="tanh", help="SimpleRNN (--mode rnn) only")
    for command in (load, weights):
        command.add_argument("inputs", help="an NPZ with `input`, float [B, T, I] (batch-first)")
        command.add_argument("expected", help="an NPZ with `output`, [B, T, D*H]")
        command.add_argument("--atol", type=float, default=ATOL)
    args = parser.parse_args(argv)
    if args.command == "weights" and args.activation != "tanh" and args.mode != "rnn":
        parser.error("--activation is for --mode rnn (SimpleRNN)")
    if args.command == "weights" and args.reset_after != "true" and args.mode != "gru":
        parser.error("--reset-after is for --mode gru")

    import keras
    try:
        x = np.load(args.inputs)["input"]
        expected = np.load(args.expected)["output"]
    except (OSError, KeyError, ValueError) as error:
        print(f"FAIL: reading {args.inputs} and {args.expected}: {error}")
        return 1
    try:
        if args.command == "load":
            model = keras.models.load_model(args.model, compile=False)
        else:
            model = build_user_model(keras, {
                "mode": args.mode, "input_size": args.input_size, "hidden_size": args.hidden_size,
                "num_layers": args.num_layers, "bias": not args.no_bias, "bidirectional": args.bidirectional,
                "nonlinearity": args.activation, "reset_after": args.reset_after == "true"})
            model.load_weights(args.model)
        outputs = model(x)
    except Exception as error:  # Keras's own message says what did not fit
        print(f"FAIL: {args.command} {args.model}: {type(error).__name__}: {error}")
        return 1
    output = np.asarray(outputs[0] if isinstance(outputs, (list, tuple)) else outputs)
    if output.shape != expected.shape:
        print(f"FAIL: {args.model}: output shape {output.shape}, expected {expected.shape}")
        return 1
    error = float(np.abs(output.astype(np.float64) - expected.astype(np.float64)).max()) if output.size else 0.0
    print(f"{args.model}: max abs error {error:.3g}")
    if not np.allclose(output, expected, atol=args.atol, rtol=RTOL):
        print(f"FAIL: not within atol {args.atol:g}, rtol {RTOL:g}")
        return 1
    print("OK")
    return 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] in ("load", "weights"):
        sys.exit(check_one(sys.argv[1:]))
    bin_dir = sys.argv[1]
    with tempfile.TemporaryDirectory() as work:
        check_reading(bin_dir, work)
        check_writing(bin_dir, work)
    print(f"checked: {checked}")
    print(f"{len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
