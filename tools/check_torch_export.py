#!/usr/bin/env python3
"""Checks a model file written by our Swift tool against real PyTorch.

Usage:  tools/.venv-torch/bin/python tools/check_torch_export.py MODEL INPUTS EXPECTED [--prefix P]

MODEL     .npz (tensors + `__metadata__` JSON string) or .h5 (datasets, groups flattened with '.',
          metadata as root string attributes). The metadata must give torch.nn.RNN's constructor
          arguments as strings: mode ("rnn"), nonlinearity, input_size, hidden_size, num_layers,
          bias, bidirectional, batch_first ("true"/"false"), dropout (e.g. "0.0"), and prefix (the
          module prefix of the keys, "" when none).
INPUTS    .npz with `input` and optionally `h0`.
EXPECTED  .npz with `output` and `h_n`.
--prefix  overrides the metadata's prefix ("" for none).

Builds torch.nn.RNN from the metadata (dtype from the tensors), loads the tensors under the prefix
with load_state_dict(strict=True), runs it on INPUTS and compares with EXPECTED using torch.allclose
(float32: rtol=1e-5, atol=1e-6; float64: rtol=1e-12, atol=1e-14; the looser one when the model and the
expected outputs differ in dtype). Prints "export OK: MODEL" and exits 0, else prints the problem and
exits 1.
"""
import argparse
import json
import sys

import h5py
import numpy as np
import torch

from tensor_files import read_model  # noqa: E402  (same folder)

TOLERANCES = {torch.float32: (1e-5, 1e-6), torch.float64: (1e-12, 1e-14)}
REQUIRED = ["mode", "nonlinearity", "input_size", "hidden_size", "num_layers", "bias", "bidirectional",
            "batch_first", "dropout", "prefix"]


class CheckError(Exception):
    pass


def parse_bool(key, value):
    if value in ("true", "false"):
        return value == "true"
    raise CheckError(f"metadata {key}={value!r}: want \"true\" or \"false\"")


def parse_int(key, value):
    try:
        return int(value)
    except ValueError:
        raise CheckError(f"metadata {key}={value!r}: want an integer") from None


def build_rnn(metadata, dtype):
    missing = [k for k in REQUIRED if k not in metadata]
    if missing:
        raise CheckError(f"metadata lacks {', '.join(missing)} (has {json.dumps(metadata)})")
    if metadata["mode"] != "rnn":
        raise CheckError(f"metadata mode={metadata['mode']!r}: only \"rnn\" is checked")
    if metadata["nonlinearity"] not in ("tanh", "relu"):
        raise CheckError(f"metadata nonlinearity={metadata['nonlinearity']!r}: want tanh or relu")
    try:
        dropout = float(metadata["dropout"])
    except ValueError:
        raise CheckError(f"metadata dropout={metadata['dropout']!r}: want a number") from None
    return torch.nn.RNN(
        input_size=parse_int("input_size", metadata["input_size"]),
        hidden_size=parse_int("hidden_size", metadata["hidden_size"]),
        num_layers=parse_int("num_layers", metadata["num_layers"]),
        nonlinearity=metadata["nonlinearity"],
        bias=parse_bool("bias", metadata["bias"]),
        batch_first=parse_bool("batch_first", metadata["batch_first"]),
        dropout=dropout,
        bidirectional=parse_bool("bidirectional", metadata["bidirectional"]),
        dtype=dtype,
    ).eval()


def state_dict_under(tensors, prefix):
    """The tensors whose keys start with `prefix.` (all of them when prefix is ""), prefix stripped."""
    if not prefix:
        return dict(tensors), []
    head = prefix + "."
    sd = {k[len(head):]: v for k, v in tensors.items() if k.startswith(head)}
    others = [k for k in tensors if not k.startswith(head)]
    if not sd:
        raise CheckError(f"no tensor key starts with {head!r} (keys: {', '.join(tensors)})")
    return sd, others


def check(model_path, inputs_path, expected_path, prefix_override):
    tensors, metadata = read_model(model_path)
    prefix = prefix_override if prefix_override is not None else metadata.get("prefix")
    if prefix is None:
        raise CheckError("metadata lacks prefix (pass --prefix)")
    sd_np, others = state_dict_under(tensors, prefix)
    if others:
        print(f"note: ignoring {len(others)} tensor(s) outside {prefix!r}: {', '.join(others)}")

    dtypes = {str(a.dtype) for a in sd_np.values()}
    if len(dtypes) != 1 or next(iter(dtypes)) not in ("float32", "float64"):
        raise CheckError(f"RNN tensors must all be float32 or all float64, got {sorted(dtypes)}")
    dtype = {"float32": torch.float32, "float64": torch.float64}[dtypes.pop()]

    rnn = build_rnn(metadata, dtype)
    sd = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd_np.items()}
    try:
        rnn.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        raise CheckError(f"load_state_dict(strict=True) failed: {e}") from None

    with np.load(inputs_path, allow_pickle=False) as z:
        if "input" not in z.files:
            raise CheckError(f"{inputs_path} has no 'input'")
        x = torch.from_numpy(z["input"]).to(dtype)
        h0 = torch.from_numpy(z["h0"]).to(dtype) if "h0" in z.files else None
    with np.load(expected_path, allow_pickle=False) as z:
        for k in ("output", "h_n"):
            if k not in z.files:
                raise CheckError(f"{expected_path} has no {k!r}")
        expected = {k: torch.from_numpy(z[k]) for k in ("output", "h_n")}

    torch.set_num_threads(1)
    with torch.no_grad():
        try:
            output, h_n = rnn(x) if h0 is None else rnn(x, h0)
        except RuntimeError as e:
            raise CheckError(f"forward failed: {e}") from None
    got = {"output": output, "h_n": h_n}

    problems = []
    for k in ("output", "h_n"):
        want = expected[k]
        if want.dtype not in TOLERANCES:
            problems.append(f"{k}: expected dtype {want.dtype} is not float32/float64")
            continue
        # the looser tolerance of the model's and the reference's dtype
        rtol, atol = max(TOLERANCES[dtype], TOLERANCES[want.dtype])
        if tuple(got[k].shape) != tuple(want.shape):
            problems.append(f"{k}: shape {tuple(got[k].shape)}, expected {tuple(want.shape)}")
            continue
        g = got[k].to(torch.float64)
        w = want.to(torch.float64)
        if not torch.allclose(g, w, rtol=rtol, atol=atol):
            diff = (g - w).abs()
            worst = int(diff.argmax())
            problems.append(f"{k}: not allclose (rtol={rtol:g}, atol={atol:g}): max |diff| "
                            f"{diff.max().item():.3e} at flat index {worst} "
                            f"(got {g.flatten()[worst].item():.9g}, expected {w.flatten()[worst].item():.9g})")
    if problems:
        raise CheckError("; ".join(problems))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model")
    ap.add_argument("inputs")
    ap.add_argument("expected")
    ap.add_argument("--prefix", default=None, help="module prefix of the keys (overrides the metadata)")
    args = ap.parse_args()
    try:
        check(args.model, args.inputs, args.expected, args.prefix)
    except (CheckError, OSError, ValueError, KeyError) as e:
        print(f"export FAILED: {args.model}: {e}")
        return 1
    print(f"export OK: {args.model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
