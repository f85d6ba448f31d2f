#!/usr/bin/env python3
"""Checks a model file written by our Swift tool against real PyTorch.

Usage:  tools/.venv-torch/bin/python tools/check_torch_export.py MODEL INPUTS EXPECTED [--prefix P]

MODEL     .npz (tensors + `__metadata__` JSON string) or .h5 (datasets, groups flattened with '.',
          metadata as root string attributes). The metadata must give the torch module's
          constructor arguments as strings: mode ("rnn", "lstm" or "gru"), input_size, hidden_size,
          num_layers, bias, bidirectional, batch_first ("true"/"false"), dropout (e.g. "0.0"), and
          prefix (the module prefix of the keys, "" when none); plus nonlinearity ("tanh"/"relu")
          for rnn only, and proj_size (an integer, "0" when none) for lstm only.
INPUTS    .npz with `input`, optionally `h0`, `c0` (lstm; h0 and c0 come together) and `lengths`
          (one per batch element, any order).
EXPECTED  .npz with `output` and `h_n`, and `c_n` for lstm.
--prefix  overrides the metadata's prefix ("" for none).

Builds torch.nn.RNN / nn.LSTM(..., proj_size=P) / nn.GRU from the metadata (dtype from the tensors),
loads the tensors under the prefix with load_state_dict(strict=True), runs it on INPUTS (with
`lengths`: pack_padded_sequence(enforce_sorted=False), the module, then
pad_packed_sequence(total_length=T)) and compares with EXPECTED using torch.allclose (float32:
rtol=1e-5, atol=1e-6; float64: rtol=1e-12, atol=1e-14; the looser one when the model and the expected
outputs differ in dtype). Prints "export OK: MODEL" and exits 0, else prints the problem and exits 1.
"""
import argparse
import json
import sys
import warnings

import h5py
import numpy as np
import torch

from tensor_files import read_model  # noqa: E402  (same folder)

TOLERANCES = {torch.float32: (1e-5, 1e-6), torch.float64: (1e-12, 1e-14)}
REQUIRED = ["mode", "input_size", "hidden_size", "num_layers", "bias", "bidirectional", "batch_first",
            "dropout", "prefix"]
MODES = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


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
    """(module, mode) from the metadata."""
    missing = [k for k in REQUIRED if k not in metadata]
    mode = metadata.get("mode")
    if mode == "rnn" and "nonlinearity" not in metadata:
        missing.append("nonlinearity")
    if mode == "lstm" and "proj_size" not in metadata:
        missing.append("proj_size")
    if missing:
        raise CheckError(f"metadata lacks {', '.join(missing)} (has {json.dumps(metadata)})")
    if mode not in MODES:
        raise CheckError(f"metadata mode={mode!r}: want rnn, lstm or gru")
    kw = {}
    if mode == "rnn":
        if metadata["nonlinearity"] not in ("tanh", "relu"):
            raise CheckError(f"metadata nonlinearity={metadata['nonlinearity']!r}: want tanh or relu")
        kw["nonlinearity"] = metadata["nonlinearity"]
    elif "nonlinearity" in metadata:
        raise CheckError(f"metadata nonlinearity={metadata['nonlinearity']!r}: only for mode rnn, not {mode}")
    if mode == "lstm":
        kw["proj_size"] = parse_int("proj_size", metadata["proj_size"])
    elif "proj_size" in metadata:
        raise CheckError(f"metadata proj_size={metadata['proj_size']!r}: only for mode lstm, not {mode}")
    if metadata.get("reset_after", "true") != "true":
        raise CheckError(f"metadata reset_after={metadata['reset_after']!r}: torch.nn.GRU has no reset-before GRU")
    try:
        dropout = float(metadata["dropout"])
    except ValueError:
        raise CheckError(f"metadata dropout={metadata['dropout']!r}: want a number") from None
    try:
        module = MODES[mode](
            input_size=parse_int("input_size", metadata["input_size"]),
            hidden_size=parse_int("hidden_size", metadata["hidden_size"]),
            num_layers=parse_int("num_layers", metadata["num_layers"]),
            bias=parse_bool("bias", metadata["bias"]),
            batch_first=parse_bool("batch_first", metadata["batch_first"]),
            dropout=dropout,
            bidirectional=parse_bool("bidirectional", metadata["bidirectional"]),
            dtype=dtype,
            **kw,
        ).eval()
    except ValueError as e:  # e.g. proj_size >= hidden_size, negative sizes
        raise CheckError(f"torch rejects the metadata ({json.dumps(metadata)}): {e}") from None
    return module, mode


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

    rnn, mode = build_rnn(metadata, dtype)
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
        c0 = torch.from_numpy(z["c0"]).to(dtype) if "c0" in z.files else None
        lengths = torch.from_numpy(z["lengths"]).to(torch.int64) if "lengths" in z.files else None
    if mode == "lstm" and (h0 is None) != (c0 is None):
        raise CheckError(f"{inputs_path}: an LSTM needs both h0 and c0 or neither")
    if mode != "lstm" and c0 is not None:
        raise CheckError(f"{inputs_path} has c0, but mode is {mode}")
    keys = ("output", "h_n", "c_n") if mode == "lstm" else ("output", "h_n")
    with np.load(expected_path, allow_pickle=False) as z:
        for k in keys:
            if k not in z.files:
                raise CheckError(f"{expected_path} has no {k!r}")
        expected = {k: torch.from_numpy(z[k]) for k in keys}

    hx = None if h0 is None else ((h0, c0) if mode == "lstm" else h0)
    torch.set_num_threads(1)
    with torch.no_grad():
        try:
            if lengths is None:
                output, state = rnn(x, hx)
            else:
                if x.dim() != 3:
                    raise CheckError(f"lengths given, but input is {x.dim()}-D (packing needs a batch)")
                total_length = x.shape[1 if rnn.batch_first else 0]
                batch = x.shape[0 if rnn.batch_first else 1]
                # torch checks lengths >= 1 but not lengths <= T (it then packs garbage)
                if lengths.dim() != 1 or len(lengths) != batch or not all(
                        1 <= n <= total_length for n in lengths.tolist()):
                    raise CheckError(f"lengths {lengths.tolist()}: want {batch} values in 1...{total_length}")
                packed = torch.nn.utils.rnn.pack_padded_sequence(
                    x, lengths, batch_first=rnn.batch_first, enforce_sorted=False)
                out_packed, state = rnn(packed, hx)
                output, _ = torch.nn.utils.rnn.pad_packed_sequence(
                    out_packed, batch_first=rnn.batch_first, total_length=total_length)
        except (RuntimeError, ValueError, IndexError) as e:
            raise CheckError(f"forward failed: {e}") from None
    got = dict(zip(keys, (output, *state) if mode == "lstm" else (output, state)))

    problems = []
    for k in keys:
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
    # LSTM with proj_size falls back from oneDNN to torch's default kernel; nothing to act on
    warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")
    try:
        check(args.model, args.inputs, args.expected, args.prefix)
    except (CheckError, OSError, ValueError, KeyError) as e:
        print(f"export FAILED: {args.model}: {e}")
        return 1
    print(f"export OK: {args.model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
