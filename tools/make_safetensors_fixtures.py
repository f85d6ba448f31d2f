#!/usr/bin/env python3
"""Regenerates Fixtures/safetensors/: small files written by the safetensors package itself, plus
manifest.json describing exactly what each file holds.

Usage (from anywhere):  tools/.venv-torch/bin/python tools/make_safetensors_fixtures.py

torch is needed only for bfloat16 (numpy has no such dtype): dtypes.safetensors goes through
safetensors.torch; every other file through safetensors.numpy.

Files:
  dtypes.safetensors        all 13 dtypes (BF16 and BOOL included), a 0-d tensor, empty tensors,
                            special values (NaN, ±inf, -0, subnormals, integer extremes); safetensors.torch
  dtypes_numpy.safetensors  the same minus bfloat16, through safetensors.numpy
  metadata.safetensors      __metadata__ with unicode, quotes, backslashes and control characters; tensor
                            names that need escaping
  empty.safetensors         no tensors, no metadata (the 8-byte header "{}      ")
  rnn_relu.safetensors      the tensors of Fixtures/torch/l2_bi_relu_f32/model.npz, metadata
                            {"nonlinearity": "relu"}

Deterministic: fixed values, no randomness. One wrinkle: the package keeps __metadata__ in a Rust HashMap
with a random seed, so a file with several metadata keys comes out with its keys in a random order. The
script serialises again until the keys come out in sorted order (one draw in 5! for metadata.safetensors),
so that reruns give identical bytes.

manifest.json (sorted keys, indent 1; the schema of Fixtures/formats/manifest.json and tools/check_interop.py):
  {"files": {"<file>": {"tensors": [{"name", "dtype", "shape", "hex"}, ...], "metadata": {...}}},
   "refused": {}}
Tensors are listed in the order a reader returns them: by data offset (begin, then end, then name, so an
empty tensor comes before the tensor that starts where it does). "hex" is the tensor's bytes in C order,
little-endian, taken from the arrays given to the package (bfloat16: the raw 16-bit patterns).
"""
import json
import os
import struct

import numpy as np
import torch
from safetensors.numpy import save as save_numpy
from safetensors.torch import save as save_torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Fixtures", "safetensors")

from make_fixtures import DTYPE_NAMES  # noqa: E402  (same folder: one table of numpy kinds to our dtype names)

manifest = {"files": {}, "refused": {}}


def header_of(data):
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + n].decode("utf-8"))


def reader_order(header):
    """Tensor names in the order of their data, as readers return them."""
    entries = [(v["data_offsets"][0], v["data_offsets"][1], k.encode("utf-8"), k)
               for k, v in header.items() if k != "__metadata__"]
    return [name for *_, name in sorted(entries)]


def entry(name, arr, dtype=None):
    arr = np.asarray(arr)
    le = arr.astype(arr.dtype.newbyteorder("<"))
    return {"name": name, "dtype": dtype or DTYPE_NAMES[(arr.dtype.kind, arr.dtype.itemsize)],
            "shape": list(arr.shape), "hex": le.tobytes(order="C").hex()}


def write(rel, data, entries, metadata=None):
    """Writes the package's bytes `data` to Fixtures/safetensors/rel and records what it holds."""
    with open(os.path.join(OUT, rel), "wb") as f:
        f.write(data)
    by_name = {e["name"]: e for e in entries}
    order = reader_order(header_of(data))
    assert sorted(order) == sorted(by_name), (rel, order)
    manifest["files"][rel] = {"tensors": [by_name[n] for n in order], "metadata": metadata or {}}


def save_with_sorted_metadata(save, tensors, metadata):
    """The package's bytes for `tensors` and `metadata`, drawn until the metadata keys are in sorted order."""
    for _ in range(100_000):
        data = save(tensors, metadata=metadata)
        if list(header_of(data).get("__metadata__", {})) == sorted(metadata):
            return data
    raise RuntimeError("the metadata never came out in sorted order")


def dtype_arrays():
    """One array per numpy dtype, with the values that catch byte-order and rounding mistakes."""
    return {
        "f16": np.array([[-2.75, -0.0, np.inf], [np.nan, 65504, 6e-8]], dtype="<f2"),
        "f32": np.array([1.5, -0.0, np.inf, -np.inf, np.nan, 3.4028235e38, 1e-45], dtype="<f4"),
        "f64": np.array([[np.pi, -1e300], [5e-324, -0.0]], dtype="<f8"),
        "i8": np.array([-128, 127, 0, -1], dtype="i1"),
        "i16": np.array([-32768, 32767, -2], dtype="<i2"),
        "i32": np.array([[-2147483648], [2147483647]], dtype="<i4"),
        "i64": np.array([-9223372036854775808, 9223372036854775807, -3], dtype="<i8"),
        "u8": np.array([0, 1, 254, 255], dtype="u1"),
        "u16": np.array([0, 65535, 258], dtype="<u2"),
        "u32": np.array([4294967295, 16909060], dtype="<u4"),
        "u64": np.array([18446744073709551615, 72623859790382856], dtype="<u8"),
        "bool": np.array([[True, False, True], [False, False, True]]),
        "scalar": np.array(7.25, dtype="<f8"),
        "empty": np.zeros((0, 3), dtype="<f4"),
        "empty_u8": np.zeros((2, 0), dtype="u1"),
        "f32_second": np.array([[0.25, -8.0]], dtype="<f4"),
    }


def make_dtypes():
    arrays = dtype_arrays()
    bf16 = torch.tensor([[1.0, -0.15625, float("inf")], [float("nan"), 3.0e38, 1.0e-39]], dtype=torch.bfloat16)
    tensors = {name: torch.from_numpy(arr.copy()) for name, arr in arrays.items()}
    tensors["bf16"] = bf16
    entries = [entry(name, arr) for name, arr in arrays.items()]
    entries.append(entry("bf16", bf16.view(torch.int16).numpy().view("<u2"), dtype="bfloat16"))
    write("dtypes.safetensors", save_torch(tensors), entries)
    write("dtypes_numpy.safetensors", save_numpy(arrays), [entry(n, a) for n, a in arrays.items()])


def make_metadata():
    arrays = {
        "ünïcode.weight": np.array([1.0, 2.0], dtype="<f4"),
        'quote"and\\slash/name': np.array([3], dtype="<i4"),
        "tab\tnewline\n": np.array([True]),
    }
    metadata = {
        "alpha": "first",
        "control": "\x01\x08\x0c\x1f\x7f",
        "empty": "",
        "nonlinearity": "relu",
        "note": 'ünïcode "quoted" \\ \n ✓ \t / \U0001F600',
    }
    data = save_with_sorted_metadata(save_numpy, arrays, metadata)
    write("metadata.safetensors", data, [entry(n, a) for n, a in arrays.items()], metadata)


def make_empty():
    write("empty.safetensors", save_numpy({}), [])


def make_rnn():
    with np.load(os.path.join(ROOT, "Fixtures", "torch", "l2_bi_relu_f32", "model.npz"), allow_pickle=False) as z:
        arrays = {name: z[name] for name in z.files if z[name].dtype.kind not in "US"}
    metadata = {"nonlinearity": "relu"}
    write("rnn_relu.safetensors", save_numpy(arrays, metadata=metadata),
          [entry(n, a) for n, a in arrays.items()], metadata)


def main():
    os.makedirs(OUT, exist_ok=True)
    make_dtypes()
    make_metadata()
    make_empty()
    make_rnn()
    with open(os.path.join(OUT, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, sort_keys=True, indent=1, ensure_ascii=False)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, rel)) for rel in manifest["files"])
    print(f"safetensors fixtures: {len(manifest['files'])} files, {total} bytes")


if __name__ == "__main__":
    main()
