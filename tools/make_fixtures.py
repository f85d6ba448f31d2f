#!/usr/bin/env python3
"""Regenerates Fixtures/formats/: small NPY, NPZ and HDF5 reference files written by
numpy and h5py themselves, plus manifest.json describing exactly what each file holds.

Usage (from anywhere):  tools/.venv/bin/python tools/make_fixtures.py

Deterministic: fixed values and seeded RNGs; zip entry timestamps are pinned to
1980-01-01 00:00:00 and HDF5 objects are created without timestamps, so running it
again gives byte-identical files.

manifest.json (sorted keys, indent 1):
  {"files": {"<path under Fixtures/formats>": {
       "tensors": [{"name", "dtype", "shape", "hex"}, ...],   # in the order a reader returns them
       "metadata": {"key": "value", ...}}, ...},
   "refused": {"<path>": "<reason word>", ...}}                 # files a reader must reject
"hex" is the array's bytes in C order, little-endian (bool: one byte 00/01 per element).
"""
import contextlib
import json
import os
import shutil
import time
import types
import zipfile

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Fixtures", "formats")

DTYPE_NAMES = {
    ("f", 2): "float16", ("f", 4): "float32", ("f", 8): "float64",
    ("i", 1): "int8", ("i", 2): "int16", ("i", 4): "int32", ("i", 8): "int64",
    ("u", 1): "uint8", ("u", 2): "uint16", ("u", 4): "uint32", ("u", 8): "uint64",
    ("b", 1): "bool",
}

manifest = {"files": {}, "refused": {}}


# --------------------------------------------------------------------------- helpers

def dtype_name(dt):
    return DTYPE_NAMES[(dt.kind, dt.itemsize)]


def tensor_entry(name, arr, dtype=None):
    """Manifest entry for `arr`: bytes in C order, little-endian."""
    arr = np.asarray(arr)
    le = arr.astype(arr.dtype.newbyteorder("<"))
    return {
        "name": name,
        "dtype": dtype or dtype_name(arr.dtype),
        "shape": list(arr.shape),
        "hex": le.tobytes(order="C").hex(),
    }


def record(rel, tensors, metadata=None):
    assert rel not in manifest["files"], rel
    manifest["files"][rel] = {"tensors": tensors, "metadata": metadata or {}}


def path(rel):
    p = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    return p


@contextlib.contextmanager
def fixed_zip_time():
    """zipfile stamps entries opened for writing with time.localtime(time.time());
    pin that to the DOS epoch, 1980-01-01 00:00:00, for reproducible archives."""
    real = zipfile.time
    zipfile.time = types.SimpleNamespace(
        time=lambda: 315532800.0, localtime=time.gmtime,
        gmtime=time.gmtime, strftime=time.strftime)
    try:
        yield
    finally:
        zipfile.time = real


def h5file(rel):
    return h5py.File(path(rel), "w", track_order=True)


def h5data(parent, name, arr, **kw):
    return parent.create_dataset(name, data=arr, track_times=False, **kw)


# --------------------------------------------------------------------------- NPY

def float_values(dt):
    fi = np.finfo(dt)
    return np.array([[-2.75, -0.0, np.inf], [np.nan, fi.max, fi.smallest_normal]], dtype=dt)


def int_values(dt):
    ii = np.iinfo(dt)
    if ii.min < 0:
        vals = [[ii.min, -1, 0], [1, 42, ii.max]]
    else:
        vals = [[0, 1, 2], [42, ii.max - 1, ii.max]]
    return np.array(vals, dtype=dt)


def save_npy(rel, arr, name=None):
    np.save(path(rel), arr)
    name = name or os.path.splitext(os.path.basename(rel))[0]
    record(rel, [tensor_entry(name, arr)])


def make_npy():
    for code in ["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"]:
        if code[0] == "f":
            base = float_values(np.dtype(code))
        elif code == "b1":
            base = np.array([[True, False, True], [False, False, True]])
        else:
            base = int_values(np.dtype(code))
        if np.dtype(code).itemsize == 1:
            save_npy(f"npy/{code}.npy", base.astype("|" + code))
        else:
            save_npy(f"npy/{code}_le.npy", base.astype("<" + code))
            save_npy(f"npy/{code}_be.npy", base.astype(">" + code))

    a = np.asfortranarray((np.arange(12, dtype="<f4") * 0.5 - 2.0).reshape(3, 4))
    assert a.flags.f_contiguous and not a.flags.c_contiguous
    save_npy("npy/f4_fortran.npy", a)

    a = np.asfortranarray((np.arange(12) * 0.25 - 1.0).reshape(2, 3, 2).astype(">f8"))
    assert a.flags.f_contiguous and not a.flags.c_contiguous and a.dtype.str == ">f8"
    save_npy("npy/f8_fortran_be.npy", a)

    save_npy("npy/scalar_f4.npy", np.array(3.5, dtype="<f4"))
    save_npy("npy/empty_f4.npy", np.zeros((0, 3), dtype="<f4"))
    save_npy("npy/empty_0d_dim.npy", np.zeros((2, 0), dtype="<f4"))
    save_npy("npy/rank4_f4.npy", (np.arange(12, dtype="<f4") - 5.5).reshape(1, 2, 3, 2))
    save_npy("npy/f4_1d.npy", np.array([0.0, 1.0, -1.0, 0.5, 1e-3], dtype="<f4"))
    save_npy("npy/long_shape.npy", np.array([1.25, -8.0], dtype="<f4").reshape((1,) * 8 + (2,)))

    for version in [(2, 0), (3, 0)]:
        rel = f"npy/v{version[0]}_f4.npy"
        a = np.array([[1.0, -2.0], [0.125, 1e10]], dtype="<f4")
        with open(path(rel), "wb") as f:
            np.lib.format.write_array(f, a, version=version)
        record(rel, [tensor_entry(f"v{version[0]}_f4", a)])

    text = "tanh ünïcode ✓"
    np.save(path("npy/unicode_meta.npy"), np.array(text))
    record("npy/unicode_meta.npy", [], {"unicode_meta": text})


def make_npy_bad():
    def bad(rel, reason, arr, **kw):
        np.save(path(rel), arr, **kw)
        manifest["refused"][rel] = reason

    bad("npy_bad/object.npy", "object", np.array([1, "a"], dtype=object), allow_pickle=True)
    bad("npy_bad/structured.npy", "structured",
        np.array([(1.5, 2), (-1.0, 3)], dtype=[("a", "<f4"), ("b", "<i4")]))
    bad("npy_bad/complex.npy", "complex", np.array([1 + 2j, -0.5j], dtype="<c8"))
    bad("npy_bad/bytes.npy", "bytes", np.array([b"abc", b"de"], dtype="|S3"))
    bad("npy_bad/datetime.npy", "datetime",
        np.array(["2020-01-01T00:00:00", "1970-01-01T00:00:01"], dtype="<M8[s]"))


# --------------------------------------------------------------------------- NPZ

def mixed_tensors():
    rng = np.random.default_rng(1234)
    return {
        "fc.weight": rng.uniform(-1, 1, (2, 3)).astype("<f4"),
        "fc.bias": rng.uniform(-1, 1, 4).astype("<f8"),
        "step_counts": np.array([0, -7, 2**40], dtype="<i8"),
        "mask": np.array([[True, False], [False, True]]),
        "half": np.array([0.5, -1.0, 65504.0], dtype="<f2"),
        "be.weight": rng.uniform(-1, 1, (2, 2)).astype(">f4"),
    }


def save_npz(rel, compressed, tensors, metadata_json=None, metadata=None):
    arrays = dict(tensors)
    if metadata_json is not None:
        arrays["__metadata__"] = np.array(metadata_json)
    with fixed_zip_time():
        (np.savez_compressed if compressed else np.savez)(path(rel), **arrays)
    record(rel, [tensor_entry(k, v) for k, v in tensors.items()], metadata)


def rnn_state_dict(seed=2024, input_size=3, hidden=4, layers=2):
    """State dict of torch.nn.RNN(input_size, hidden, num_layers=layers, bidirectional=True),
    in PyTorch's order, float32 values uniform(-0.5, 0.5)."""
    rng = np.random.default_rng(seed)
    sd = {}
    for layer in range(layers):
        in_size = input_size if layer == 0 else 2 * hidden
        for suffix in ["", "_reverse"]:
            for name, shape in [("weight_ih", (hidden, in_size)), ("weight_hh", (hidden, hidden)),
                                ("bias_ih", (hidden,)), ("bias_hh", (hidden,))]:
                sd[f"{name}_l{layer}{suffix}"] = rng.uniform(-0.5, 0.5, shape).astype("<f4")
    return sd


def make_npz():
    save_npz("npz/stored.npz", False, mixed_tensors())
    save_npz("npz/deflated.npz", True, mixed_tensors())
    rng = np.random.default_rng(7)
    meta = {"nonlinearity": "relu", "note": "ünï"}
    save_npz("npz/with_metadata.npz", False,
             {"weight_ih_l0": rng.uniform(-1, 1, (4, 3)).astype("<f4")},
             metadata_json=json.dumps(meta, ensure_ascii=False), metadata=meta)
    save_npz("npz/empty.npz", False, {})


# --------------------------------------------------------------------------- HDF5

def rnn_params(seed):
    rng = np.random.default_rng(seed)
    return {
        "weight_ih_l0": rng.uniform(-1, 1, (4, 3)).astype("<f4"),
        "weight_hh_l0": rng.uniform(-1, 1, (4, 4)).astype("<f4"),
        "bias_ih_l0": rng.uniform(-1, 1, 4).astype("<f4"),
        "bias_hh_l0": rng.uniform(-1, 1, 4).astype("<f4"),
    }


def make_h5():
    # flat.h5: dotted names directly at the root
    with h5file("h5/flat.h5") as f:
        tensors = []
        for k, v in rnn_params(11).items():
            h5data(f, "rnn." + k, v)
            tensors.append(tensor_entry("rnn." + k, v))
    record("h5/flat.h5", tensors)

    # nested.h5: groups model/encoder/rnn plus a dataset whose own name contains a dot
    with h5file("h5/nested.h5") as f:
        tensors = []
        rnn = f.create_group("model", track_order=True) \
               .create_group("encoder", track_order=True) \
               .create_group("rnn", track_order=True)
        for k, v in rnn_params(12).items():
            h5data(rnn, k, v)
            tensors.append(tensor_entry("model.encoder.rnn." + k, v))
        fc = (np.arange(8, dtype="<f8") / 8 - 0.5).reshape(2, 4)
        h5data(f["model"], "fc.weight", fc)
        tensors.append(tensor_entry("model.fc.weight", fc))
    record("h5/nested.h5", tensors)

    # gzip.h5: chunked, shuffled, deflated; chunks smaller than the data (partial edge chunks)
    rng = np.random.default_rng(13)
    items = [
        ("weight", rng.uniform(-1, 1, (6, 5)).astype("<f4"), (4, 2)),
        ("counts", np.array([-3, 0, 1, 2, 1 << 20, -(1 << 30), 2**31 - 1], dtype="<i4"), (3,)),
        ("half", np.array([[0.5, -1, 2], [3, -0.0, 6e-5], [100, 0.1, -65504]], dtype="<f2"), (2, 2)),
    ]
    with h5file("h5/gzip.h5") as f:
        for name, arr, chunks in items:
            h5data(f, name, arr, chunks=chunks, compression="gzip", compression_opts=4, shuffle=True)
    record("h5/gzip.h5", [tensor_entry(n, a) for n, a, _ in items])

    # dtypes.h5: one dataset per dtype, big-endian ones, a scalar and an empty dataset
    items = []
    for code in ["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"]:
        dt = np.dtype(code)
        items.append((code, float_values(dt) if code[0] == "f" else int_values(dt)))
    items.append(("bool", np.array([[True, False, True], [False, False, True]])))
    items.append(("f4_be", float_values(np.dtype(">f4"))))
    items.append(("f8_be", float_values(np.dtype(">f8"))))
    items.append(("i4_be", int_values(np.dtype(">i4"))))
    items.append(("scalar", np.array(-1.0 / 3.0, dtype="<f8")))
    items.append(("empty", np.zeros((0, 3), dtype="<f4")))
    with h5file("h5/dtypes.h5") as f:
        for name, arr in items:
            ds = h5data(f, name, arr)
            assert ds.dtype == arr.dtype, (name, ds.dtype, arr.dtype)
    record("h5/dtypes.h5", [tensor_entry(n, a) for n, a in items])

    # attrs.h5: string root attributes (variable-length UTF-8 and fixed-length ASCII), plus a
    # non-string attribute that readers ignore
    w = np.array([[1.0, 2.0], [-3.0, 0.25]], dtype="<f4")
    with h5file("h5/attrs.h5") as f:
        h5data(f, "w", w)
        f.attrs["nonlinearity"] = "relu"
        f.attrs["fixed"] = np.bytes_(b"fixed-ascii")
        f.attrs["note"] = "ünïcode"
        f.attrs["epochs"] = np.int64(3)
    record("h5/attrs.h5", [tensor_entry("w", w)],
           {"nonlinearity": "relu", "fixed": "fixed-ascii", "note": "ünïcode"})

    # bfloat16.h5: a 2-byte IEEE-style float with 8 exponent bits and 7 mantissa bits (what
    # torch.bfloat16 is), built with h5py's low-level API; h5py itself reads it as float32.
    bits = np.array([[0x3F80, 0xC000, 0x0000], [0x8000, 0x7F80, 0x3E20]], dtype="<u2")  # 1 -2 0 -0 inf 0.15625
    bf16 = h5py.h5t.IEEE_F32LE.copy()
    bf16.set_fields(15, 7, 8, 0, 7)
    bf16.set_offset(0)
    bf16.set_precision(16)
    bf16.set_size(2)
    bf16.set_ebias(127)
    with h5file("h5/bfloat16.h5") as f:
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_obj_track_times(False)
        space = h5py.h5s.create_simple(bits.shape)
        ds = h5py.h5d.create(f.id, b"bf16", bf16, space, dcpl=dcpl)
        ds.write(h5py.h5s.ALL, h5py.h5s.ALL, bits, mtype=bf16)
    record("h5/bfloat16.h5", [tensor_entry("bf16", bits, dtype="bfloat16")])


# --------------------------------------------------------------------------- model

def make_model():
    sd = rnn_state_dict()
    with h5file("model/rnn_tanh.h5") as f:
        for k, v in sd.items():
            h5data(f, k, v)
        f.attrs["nonlinearity"] = "tanh"
    record("model/rnn_tanh.h5", [tensor_entry(k, v) for k, v in sd.items()], {"nonlinearity": "tanh"})
    save_npz("model/rnn_tanh.npz", False, sd,
             metadata_json=json.dumps({"nonlinearity": "tanh"}), metadata={"nonlinearity": "tanh"})


def make_h5_bad():
    """HDF5 files a reader must refuse: links that lead elsewhere, datasets that are not numbers."""
    with h5file("h5_bad/soft_link.h5") as f:
        h5data(f, "w", np.zeros((2, 2), "<f4"))
        f["alias"] = h5py.SoftLink("/w")
    manifest["refused"]["h5_bad/soft_link.h5"] = "soft_link"
    with h5file("h5_bad/external_link.h5") as f:
        h5data(f, "w", np.zeros((2, 2), "<f4"))
        f["elsewhere"] = h5py.ExternalLink("other.h5", "/w")
    manifest["refused"]["h5_bad/external_link.h5"] = "external_link"
    with h5file("h5_bad/string_dataset.h5") as f:
        h5data(f, "names", np.array([b"a", b"bc"]))
    manifest["refused"]["h5_bad/string_dataset.h5"] = "string"
    with h5file("h5_bad/compound.h5") as f:
        h5data(f, "records", np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]))
    manifest["refused"]["h5_bad/compound.h5"] = "compound"
    with h5file("h5_bad/huge_unwritten.h5") as f:
        # 40 GB declared, nothing stored: a reader must refuse rather than allocate.
        f.create_dataset("w", shape=(100000, 100000), dtype="<f4", track_times=False)
    manifest["refused"]["h5_bad/huge_unwritten.h5"] = "too_large"


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    make_npy()
    make_npy_bad()
    make_npz()
    make_h5()
    make_h5_bad()
    make_model()
    with open(os.path.join(OUT, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, sort_keys=True, indent=1, ensure_ascii=False)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(OUT) for n in ns)
    print(f"fixtures: {len(manifest['files'])} files + {len(manifest['refused'])} refused, "
          f"{total} bytes in {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
