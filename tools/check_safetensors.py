#!/usr/bin/env python3
"""Checks that the safetensors package reads .safetensors files exactly as a manifest says.

Usage:  tools/.venv/bin/python tools/check_safetensors.py MANIFEST.json

MANIFEST has the schema of tools/check_interop.py (whose comparison this script reuses, and which keeps
handling .npy, .npz and .h5 entries):
  {"files": {"<path relative to the manifest's folder>": {
       "tensors": [{"name", "dtype", "shape", "hex"}, ...],   # in the order of their data in the file
       "metadata": {"key": "value", ...}}, ...}}

How a .safetensors file is read: safetensors.safe_open(path, framework="numpy") checks the header and
gives every tensor and the metadata. numpy has no bfloat16, so a BF16 tensor is read with framework="pt"
when torch is installed, else as its raw bytes at the header's data_offsets (after safe_open has accepted
the file); a file without BF16 is also loaded with safetensors.numpy.load_file, which must agree.
Tensors are listed in the order of their data_offsets (begin, end, then name). The script also
checks what the package's own writer guarantees: the header is a multiple of 8 bytes, so data is 8-byte
aligned.

Prints one line per problem and exits 1 if there is any; else prints "interop: N files OK".
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_interop  # noqa: E402  (the comparison and the other formats' loaders)

SAFETENSORS_DTYPES = {
    "F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64",
    "I8": "int8", "I16": "int16", "I32": "int32", "I64": "int64",
    "U8": "uint8", "U16": "uint16", "U32": "uint32", "U64": "uint64", "BOOL": "bool",
}


def load_safetensors(path, problems):
    from safetensors import safe_open

    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n).decode("utf-8"))
        start = 8 + n
        if start % 8:
            problems.append(f"data starts at offset {start}, not 8-byte aligned")
        infos = {k: v for k, v in header.items() if k != "__metadata__"}
        order = sorted(infos, key=lambda k: (*infos[k]["data_offsets"], k.encode("utf-8")))
        tensors = []
        with safe_open(path, framework="numpy") as st:
            metadata = dict(st.metadata() or {})
            if sorted(st.keys()) != sorted(infos):
                problems.append(f"safe_open lists {sorted(st.keys())}, the header {sorted(infos)}")
            for name in order:
                info = infos[name]
                if info["dtype"] == "BF16":
                    tensors.append(bfloat16_tensor(path, name, info, f, start))
                else:
                    t = check_interop.tensor(name, st.get_tensor(name))
                    if t["dtype"] != SAFETENSORS_DTYPES.get(info["dtype"]):
                        problems.append(f"{name}: header says {info['dtype']}, numpy gave {t['dtype']}")
                    tensors.append(t)
    if not any(info["dtype"] == "BF16" for info in infos.values()):
        # The everyday entry point must agree with safe_open.
        from safetensors.numpy import load_file
        loaded = load_file(path)
        for t in tensors:
            if check_interop.tensor(t["name"], loaded[t["name"]])["bytes"] != t["bytes"]:
                problems.append(f"{t['name']}: load_file and safe_open disagree")
    return tensors, metadata


def bfloat16_tensor(path, name, info, f, start):
    """A BF16 tensor's raw 16-bit patterns: through torch when it is installed, else from the file."""
    try:
        import torch
    except ImportError:
        begin, end = info["data_offsets"]
        f.seek(start + begin)
        data = f.read(end - begin)
    else:
        from safetensors import safe_open
        with safe_open(path, framework="pt") as pt:
            t = pt.get_tensor(name)
            if t.dtype != torch.bfloat16:
                raise check_interop.Problem(f"{name}: torch gave {t.dtype}, not bfloat16")
            data = t.contiguous().view(torch.int16).numpy().astype("<i2").tobytes()
    return {"name": name, "dtype": "bfloat16", "shape": list(info["shape"]), "bytes": data}


check_interop.LOADERS[".safetensors"] = load_safetensors

if __name__ == "__main__":
    sys.exit(check_interop.main(sys.argv))
