"""Reading NPZ and HDF5 tensor files the way users do (numpy, h5py), shared by the check scripts.

Each reader returns (tensors, metadata): tensors by name (HDF5 groups flattened with dots), metadata from NPZ's
`__metadata__` JSON string or HDF5's root string attributes.
"""
import json

import h5py
import numpy as np


def as_str(value):
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "SU":
        return as_str(value[()])
    if isinstance(value, (str, np.str_)):
        return str(value)
    return None


def read_npz(path):
    tensors, metadata = {}, {}
    with np.load(path, allow_pickle=False) as z:
        for name in z.files:
            arr = z[name]
            if name == "__metadata__":
                text = as_str(arr)
                if text is None:
                    raise ValueError(f"__metadata__ is not a string (dtype {arr.dtype}, shape {arr.shape})")
                obj = json.loads(text)
                if not isinstance(obj, dict) or not all(isinstance(v, str) for v in obj.values()):
                    raise ValueError(f"__metadata__ is not a JSON object of strings: {text}")
                metadata = obj
            else:
                tensors[name] = arr
    return tensors, metadata


def read_h5(path):
    tensors, metadata = {}, {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                tensors[name.replace("/", ".")] = obj[()]
        f.visititems(visit)
        for k, v in f.attrs.items():
            s = as_str(v)
            if s is not None:
                metadata[k] = s
    return tensors, metadata


def read_model(path):
    if path.endswith(".npz"):
        return read_npz(path)
    if path.endswith((".h5", ".hdf5")):
        return read_h5(path)
    raise ValueError(f"unknown model format (want .npz or .h5): {path}")
