#!/usr/bin/env python3
"""Checks that numpy / h5py read files exactly as a manifest says.

Usage:  tools/.venv/bin/python tools/check_interop.py MANIFEST.json

MANIFEST (same schema as Fixtures/formats/manifest.json; other top-level keys are ignored):
  {"files": {"<path relative to the manifest's folder>": {
       "tensors": [{"name", "dtype", "shape", "hex"}, ...],   # in the order a reader returns them
       "metadata": {"key": "value", ...}}, ...}}
"hex" is the tensor's bytes in C order, little-endian (bool: one byte 00/01 per element).

How files are read:
  .npy        np.load(allow_pickle=False); the tensor is named after the file's stem; a 0-d
              unicode array is metadata {stem: text} instead. The data must start at a
              64-byte-aligned offset.
  .npz        np.load(allow_pickle=False); names are the members without ".npy"; the member
              "__metadata__" (0-d unicode holding a JSON object) and any other 0-d unicode
              member are metadata.
  .h5 .hdf5   h5py.File(path, "r"); every dataset, walking groups in iteration order (creation
              order when the file tracks it, else alphabetical), named by its path with "/"
              turned into "."; string root attributes (str, or bytes decoded as UTF-8) are
              metadata. A 2-byte float with an 8-bit exponent is bfloat16, compared as raw bits.

Prints one line per problem and exits 1 if there is any; else prints "interop: N files OK".
"""
import json
import os
import sys

import numpy as np

DTYPE_NAMES = {
    ("f", 2): "float16", ("f", 4): "float32", ("f", 8): "float64",
    ("i", 1): "int8", ("i", 2): "int16", ("i", 4): "int32", ("i", 8): "int64",
    ("u", 1): "uint8", ("u", 2): "uint16", ("u", 4): "uint32", ("u", 8): "uint64",
    ("b", 1): "bool",
}


class Problem(Exception):
    pass


def dtype_name(dt):
    name = DTYPE_NAMES.get((dt.kind, dt.itemsize))
    if name is None or dt.fields is not None or dt.subdtype is not None:
        raise Problem(f"unsupported dtype {dt.str!r}")
    return name


def tensor(name, arr, dtype=None):
    arr = np.asarray(arr)
    dtype = dtype or dtype_name(arr.dtype)
    data = arr.astype(arr.dtype.newbyteorder("<")).tobytes(order="C")
    return {"name": name, "dtype": dtype, "shape": list(arr.shape), "bytes": data}


def text_of(value):
    """The text of a 0-d unicode/bytes value, else None."""
    if isinstance(value, np.ndarray):
        if value.ndim != 0 or value.dtype.kind not in "USO":
            return None
        value = value[()]
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8")
    if isinstance(value, str):
        return str(value)
    return None


# --------------------------------------------------------------------------- NPY

def npy_data_offset(path):
    with open(path, "rb") as f:
        head = f.read(12)
    if head[:6] != b"\x93NUMPY":
        raise Problem("not an NPY file (bad magic)")
    major = head[6]
    if major == 1:
        return 10 + int.from_bytes(head[8:10], "little")
    if major in (2, 3):
        return 12 + int.from_bytes(head[8:12], "little")
    raise Problem(f"unknown NPY version {major}.{head[7]}")


def load_npy(path, problems):
    offset = npy_data_offset(path)
    if offset % 64:
        problems.append(f"data starts at offset {offset}, not 64-byte aligned")
    stem = os.path.splitext(os.path.basename(path))[0]
    arr = np.load(path, allow_pickle=False)
    if arr.dtype.kind == "U":
        if arr.ndim != 0:
            raise Problem(f"unicode array of shape {arr.shape} (only 0-d text is metadata)")
        return [], {stem: str(arr[()])}
    return [tensor(stem, arr)], {}


# --------------------------------------------------------------------------- NPZ

def load_npz(path, problems):
    tensors, metadata = [], {}
    with np.load(path, allow_pickle=False) as z:
        for name in z.files:
            arr = z[name]
            text = text_of(arr) if arr.dtype.kind in "US" else None
            if name == "__metadata__":
                if text is None:
                    raise Problem(f"__metadata__ is {arr.dtype.str} {arr.shape}, not 0-d text")
                parsed = json.loads(text)
                if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
                    raise Problem("__metadata__ is not a JSON object of strings")
                metadata.update(parsed)
            elif text is not None:
                metadata[name] = text
            else:
                tensors.append(tensor(name, arr))
    return tensors, metadata


# --------------------------------------------------------------------------- HDF5

def h5_dataset(h5py, name, ds):
    tid = ds.id.get_type()
    if isinstance(tid, h5py.h5t.TypeFloatID) and tid.get_size() == 2 and tid.get_fields()[2] == 8:
        # bfloat16: h5py would convert it to float32; read the raw 16-bit patterns instead.
        mtype = tid.copy()
        mtype.set_order(h5py.h5t.ORDER_LE)
        bits = np.zeros(ds.shape, dtype="<u2")
        if bits.size:
            ds.id.read(h5py.h5s.ALL, h5py.h5s.ALL, bits, mtype=mtype)
        return tensor(name, bits, dtype="bfloat16")
    if ds.shape is None:
        raise Problem(f"dataset {name!r} has a null dataspace")
    enum = h5py.check_enum_dtype(ds.dtype)
    if enum is not None:  # h5py already turns the FALSE/TRUE int8 enum into numpy bool
        raise Problem(f"dataset {name!r} is an enum {enum} (only the bool enum is supported)")
    return tensor(name, ds[()])


def load_h5(path, problems):
    import h5py

    tensors, metadata = [], {}

    def walk(group, prefix):
        for key in group:  # creation order if the group tracks it, else alphabetical
            link = group.get(key, getlink=True)
            name = prefix + key
            if not isinstance(link, h5py.HardLink):
                problems.append(f"skipped {type(link).__name__} {name!r}")
                continue
            obj = group[key]
            if isinstance(obj, h5py.Group):
                walk(obj, name + ".")
            elif isinstance(obj, h5py.Dataset):
                tensors.append(h5_dataset(h5py, name, obj))
            else:
                problems.append(f"skipped {type(obj).__name__} {name!r}")

    with h5py.File(path, "r") as f:
        walk(f, "")
        for key in f.attrs:
            value = f.attrs[key]
            text = text_of(value)
            if text is not None:
                metadata[key] = text
    return tensors, metadata


# --------------------------------------------------------------------------- compare

LOADERS = {".npy": load_npy, ".npz": load_npz, ".h5": load_h5, ".hdf5": load_h5}


def describe(t):
    return f"{t['dtype']}{t['shape']}"


def check_file(path, expected):
    problems = []
    loader = LOADERS.get(os.path.splitext(path)[1].lower())
    if loader is None:
        return [f"unknown file extension"]
    if not os.path.isfile(path):
        return ["file is missing"]
    try:
        tensors, metadata = loader(path, problems)
    except Exception as e:  # noqa: BLE001 - every failure is a reportable problem
        return problems + [f"cannot read: {type(e).__name__}: {e}"]

    want = expected.get("tensors", [])
    got_names = [t["name"] for t in tensors]
    want_names = [t["name"] for t in want]
    if got_names != want_names:
        missing = [n for n in want_names if n not in got_names]
        extra = [n for n in got_names if n not in want_names]
        if missing or extra:
            problems.append(f"tensor names differ: missing {missing}, unexpected {extra}")
        else:
            problems.append(f"tensor order differs: got {got_names}, expected {want_names}")
    got_by_name = {t["name"]: t for t in tensors}
    for w in want:
        g = got_by_name.get(w["name"])
        if g is None:
            continue
        if g["dtype"] != w["dtype"] or g["shape"] != list(w["shape"]):
            problems.append(f"{w['name']}: got {describe(g)}, expected {describe(w)}")
            continue
        want_bytes = bytes.fromhex(w["hex"])
        if g["bytes"] != want_bytes:
            size = np.dtype(w["dtype"]).itemsize if w["dtype"] != "bfloat16" else 2
            first = next((i for i, (a, b) in enumerate(zip(g["bytes"], want_bytes)) if a != b),
                         min(len(g["bytes"]), len(want_bytes)))
            problems.append(f"{w['name']}: bytes differ from element {first // size} "
                            f"({len(g['bytes'])} bytes read, {len(want_bytes)} expected)")

    want_meta = expected.get("metadata", {})
    if metadata != want_meta:
        for k in sorted(set(want_meta) | set(metadata)):
            if k not in metadata:
                problems.append(f"metadata {k!r} missing (expected {want_meta[k]!r})")
            elif k not in want_meta:
                problems.append(f"metadata {k!r} unexpected ({metadata[k]!r})")
            elif metadata[k] != want_meta[k]:
                problems.append(f"metadata {k!r}: got {metadata[k]!r}, expected {want_meta[k]!r}")
    return problems


def main(argv):
    if len(argv) != 2:
        print(f"usage: {argv[0]} MANIFEST.json", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        manifest = json.load(f)
    base = os.path.dirname(os.path.abspath(argv[1]))
    files = manifest.get("files", {})
    failed = 0
    for rel in sorted(files):
        problems = check_file(os.path.join(base, rel), files[rel])
        for p in problems:
            print(f"{rel}: {p}")
        failed += bool(problems)
    if failed:
        print(f"interop: {failed} of {len(files)} files FAILED")
        return 1
    print(f"interop: {len(files)} files OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
