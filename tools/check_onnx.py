#!/usr/bin/env python3
"""Runs ONNX models we export in ONNX Runtime and compares them with PyTorch's (or our own) outputs.

Usage: check_onnx.py MODEL.onnx INPUTS.npz EXPECTED.npz
       check_onnx.py CASES.json        (a JSON list of {"name", "model", "inputs", "expected"}: one Python
                                        start for many models)

Per model: `onnx.checker.check_model(full_check=True)` (structure, types and strict shape inference); the graph
declares `input`, the optional `h0` (`c0` for an LSTM) and `lengths`, each optional one with a default
initializer; then the model runs in ONNX Runtime (CPUExecutionProvider) on INPUTS (`input`, and `h0`, `c0`,
`lengths` only when present: absent ones take the graph's defaults, as PyTorch's do) and `output`, `h_n`, `c_n`
are compared with EXPECTED as numpy.allclose. An unbatched case ([T, I] input) is fed as a batch of one — the
graph is 3-D only — and the batch axis removed from the results.

Tolerances, per the model's element type:
  float32: rtol 1e-5, atol 1e-6 (this check's own; rnn-verify defaults to torch.testing's rtol 1.3e-6, atol 1e-5). ONNX Runtime's kernels sum in their own
           order, as PyTorch's and ours do; the largest difference from PyTorch measured over every fixture is
           3.6e-7 (printed at the end), so no looser bound is needed.
  float64: rtol 1e-12, atol 1e-14. ONNX Runtime 1.32 has no float64 kernels for RNN, LSTM and GRU (RNN is
           registered for float only; LSTM and GRU fail with "does not support double yet"). When it refuses a
           float64 model for that reason, the model is computed by onnx's own reference evaluator
           (onnx.reference, numpy in float64) instead and the line says so; any other failure is a failure.
           Two gaps of that evaluator are filled here: its RNN knows no Relu (added below), and it ignores
           sequence_lens — so with `lengths`, each sequence is run alone over its own length and padded with
           zeros, which is what sequence_lens means.

Prints one line per model and a last line `summary: {json}` (counts per engine, largest errors per dtype);
exits 1 if any model fails.
"""
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx.reference import ReferenceEvaluator
from onnx.reference.ops.op_rnn import RNN_14

TOLERANCES = {"float32": (1e-5, 1e-6), "float64": (1e-12, 1e-14)}
NO_DOUBLE_KERNEL = ("Could not find an implementation", "does not support double")
ALIASES = {"input": ("input", "x"), "h0": ("h0", "hx"), "c0": ("c0", "cx"), "lengths": ("lengths",)}


class RNN(RNN_14):
    """onnx.reference's RNN with ONNX's Relu activation, which the reference implementation lacks."""

    op_domain = ""

    def choose_act(self, name, alpha, beta):
        if name in ("Relu", "relu"):
            return lambda x: np.maximum(x, 0)
        return super().choose_act(name, alpha, beta)


def load_npz(path):
    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def pick(arrays, name):
    for alias in ALIASES.get(name, (name,)):
        if alias in arrays:
            return arrays[alias]
    return None


def structure_problems(model):
    """What the graph's interface lacks: names, optional inputs with defaults."""
    problems = []
    inputs = {value.name: value for value in model.graph.input}
    initializers = {tensor.name for tensor in model.graph.initializer}
    outputs = [value.name for value in model.graph.output]
    is_lstm = any(node.op_type == "LSTM" for node in model.graph.node)
    wanted_inputs = ["input", "h0"] + (["c0"] if is_lstm else []) + ["lengths"]
    if list(inputs) != wanted_inputs:
        problems.append(f"graph inputs are {list(inputs)}, expected {wanted_inputs}")
    for name in wanted_inputs[1:]:
        if name not in initializers:
            problems.append(f"optional input {name} has no default initializer")
    wanted_outputs = ["output", "h_n"] + (["c_n"] if is_lstm else [])
    if outputs != wanted_outputs:
        problems.append(f"graph outputs are {outputs}, expected {wanted_outputs}")
    if model.producer_name != "swift-rnn-toolkit":
        problems.append(f"producer_name is {model.producer_name!r}")
    return problems


def feeds_for(model, inputs):
    """The feeds (batch of one for an unbatched case) and whether the case was unbatched, and the batch axis."""
    declared = next(value for value in model.graph.input if value.name == "input")
    dims = [d.dim_param for d in declared.type.tensor_type.shape.dim]
    batch_axis = dims.index("B")
    dtype = onnx.helper.tensor_dtype_to_np_dtype(declared.type.tensor_type.elem_type)
    x = pick(inputs, "input")
    unbatched = x.ndim == 2
    feeds = {"input": np.expand_dims(x, batch_axis) if unbatched else x}
    for name in ("h0", "c0"):
        value = pick(inputs, name)
        if value is not None:
            feeds[name] = np.expand_dims(value, 1) if unbatched else value
    lengths = pick(inputs, "lengths")
    if lengths is not None:
        feeds["lengths"] = lengths.astype(np.int32)  # ONNX's sequence_lens is int32
    for name in ("input", "h0", "c0"):
        if name in feeds:
            feeds[name] = feeds[name].astype(dtype)
    return feeds, unbatched, batch_axis


def run_onnxruntime(model_bytes, feeds, names):
    options = ort.SessionOptions()
    # Fatal messages only. Our optional inputs are initializers that are also graph inputs, and ONNX Runtime
    # warns on every session that it will not fold them as constants (which is the point); a float64 model's
    # missing kernel is logged as an error before it is raised. Every failure still raises, with its message.
    options.log_severity_level = 4
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    overridable = {value.name for value in session.get_overridable_initializers()}
    missing = [name for name in feeds if name != "input" and name not in overridable]
    if missing:
        raise AssertionError(f"ONNX Runtime does not list {missing} as overridable inputs")
    return dict(zip(names, session.run(names, feeds)))


def run_reference(model, feeds, names, batch_axis):
    evaluator = ReferenceEvaluator(model, new_ops=[RNN])
    if "lengths" not in feeds:
        return dict(zip(names, evaluator.run(names, feeds)))
    # The reference ignores sequence_lens: run each sequence alone over its own length, pad with zeros.
    x = feeds["input"]
    steps = x.shape[1 - batch_axis]
    pieces = {name: [] for name in names}
    for b, length in enumerate(feeds["lengths"]):
        one = {"input": np.take(x, [b], axis=batch_axis)}
        one["input"] = np.take(one["input"], range(length), axis=1 - batch_axis)
        for name in ("h0", "c0"):
            if name in feeds:
                one[name] = feeds[name][:, b:b + 1]
        results = dict(zip(names, evaluator.run(names, one)))
        pad = [(0, 0)] * 3
        pad[1 - batch_axis] = (0, steps - length)
        pieces["output"].append(np.pad(results["output"], pad))
        for name in names[1:]:
            pieces[name].append(results[name])
    return {name: np.concatenate(pieces[name], axis=batch_axis if name == "output" else 1) for name in names}


def check(case, largest, engines):
    name = case.get("name") or os.path.basename(case["model"])
    model = onnx.load(case["model"])
    onnx.checker.check_model(model, full_check=True)
    problems = structure_problems(model)
    inputs = load_npz(case["inputs"])
    expected = load_npz(case["expected"])
    names = [n for n in ("output", "h_n", "c_n") if n in [o.name for o in model.graph.output]]
    feeds, unbatched, batch_axis = feeds_for(model, inputs)
    dtype = str(feeds["input"].dtype)
    engine = "onnxruntime"
    try:
        results = run_onnxruntime(model.SerializeToString(), feeds, names)
    except Exception as error:  # noqa: BLE001 - ONNX Runtime raises its own exception types
        if dtype != "float64" or not any(text in str(error) for text in NO_DOUBLE_KERNEL):
            raise
        engine = "onnx.reference (onnxruntime has no float64 kernel)"
        results = run_reference(model, feeds, names, batch_axis)
    engines[engine] = engines.get(engine, 0) + 1
    rtol, atol = TOLERANCES[dtype]
    report = []
    for tensor in names:
        got = results[tensor]
        if unbatched:
            got = np.squeeze(got, axis=batch_axis if tensor == "output" else 1)
        want = expected.get(tensor)
        if want is None:
            problems.append(f"{tensor} is not in {case['expected']}")
            continue
        if got.shape != want.shape or got.dtype != want.dtype:
            problems.append(f"{tensor}: {got.dtype}{list(got.shape)}, expected {want.dtype}{list(want.shape)}")
            continue
        error = float(np.max(np.abs(got.astype(np.float64) - want))) if got.size else 0.0
        largest[dtype] = max(largest.get(dtype, 0.0), error)
        report.append(f"{tensor} {error:.2g}")
        if not np.allclose(got, want, rtol=rtol, atol=atol):
            failing = int(np.sum(~np.isclose(got, want, rtol=rtol, atol=atol)))
            problems.append(f"{tensor}: {failing} of {got.size} elements differ (max abs {error:.3g}, rtol {rtol}, atol {atol})")
    status = "OK" if not problems else "FAIL: " + "; ".join(problems)
    print(f"{name}: {engine}, {dtype}, max abs error {', '.join(report)}: {status}")
    return not problems


def main(argv):
    if len(argv) == 2 and argv[1].endswith(".json"):
        with open(argv[1]) as file:
            cases = json.load(file)
    elif len(argv) == 4:
        cases = [{"model": argv[1], "inputs": argv[2], "expected": argv[3]}]
    else:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 64
    largest, engines, failed = {}, {}, 0
    for case in cases:
        try:
            ok = check(case, largest, engines)
        except Exception as error:  # noqa: BLE001 - report every model, not just the first that breaks
            print(f"{case.get('name') or case['model']}: FAIL: {type(error).__name__}: {error}")
            ok = False
        failed += 0 if ok else 1
    summary = {"cases": len(cases), "ok": len(cases) - failed, "engines": engines, "max_abs_error": largest,
               "onnxruntime": ort.__version__, "onnx": onnx.__version__}
    print("summary: " + json.dumps(summary, sort_keys=True))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
