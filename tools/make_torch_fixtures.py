#!/usr/bin/env python3
"""Regenerates Fixtures/torch/: reference models, inputs and outputs produced by real PyTorch
(torch.nn.RNN / torch.nn.RNNCell / torch.nn.LSTM / torch.nn.GRU, plain and through packed
variable-length sequences), for checking that we load torch state_dicts and reproduce torch's
forward pass.

Usage (from anywhere):  tools/.venv-torch/bin/python tools/make_torch_fixtures.py
(tools/requirements-torch.txt: torch, numpy, h5py; CPU only. Never needed by CI.)

For every case, Fixtures/torch/<case>/ holds
  model.npz    np.savez (stored, not compressed): the state_dict tensors in state_dict order, with the
               key names exactly as PyTorch gives them (prefixes such as "encoder.rnn." included),
               then `__metadata__`, a 0-d unicode array holding a JSON object of strings
               ({"nonlinearity": "tanh"|"relu"} for RNN cases; {"mode": "lstm"|"gru"} for the two
               LSTM/GRU cases with metadata); absent for `no_metadata` cases. LSTM/GRU models
               otherwise carry no metadata: the mode follows from the shapes (weight_ih_l0 has
               4*hidden rows for LSTM, 3*hidden for GRU, hidden for RNN; weight_hr_l0 means LSTM
               with proj_size).
  model.h5     the same tensors as root datasets (dotted names, creation order tracked, no
               timestamps), metadata as root string attributes.
  inputs.npz   `input`, `h0` when the case has an initial state, `c0` (LSTM, with h0), and
               `lengths` (int64, one per batch element, unsorted) for packed cases; floats in the
               model dtype.
  expected.npz `output`, `h_n` (and `c_n` for LSTM) exactly as torch returns them, in the model
               dtype. Packed cases: `output` is pad_packed_sequence(..., total_length=seq_len) of the
               packed output, so zero at and after each sequence's length; `h_n`/`c_n` are the
               module's state, in the original batch order.
and Fixtures/torch/cases.json describes every case (see CASE_FIELDS; "nonlinearity" is null for
LSTM/GRU, "proj_size" is 0 when none, "has_c0"/"has_lengths" say which inputs exist).

Deterministic: one CPU thread, torch.manual_seed per case, zip entries dated 1980-01-01 and HDF5
datasets without timestamps, so running it again gives byte-identical files.
"""
import json
import os
import shutil
import warnings

import h5py
import numpy as np
import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Fixtures", "torch")

DTYPES = {"float32": torch.float32, "float64": torch.float64}

CASE_FIELDS = ["name", "mode", "nonlinearity", "input_size", "hidden_size", "proj_size", "num_layers",
               "bias", "bidirectional", "batch_first", "unbatched", "has_h0", "has_c0", "has_lengths",
               "dtype", "seq_len", "batch", "prefix", "no_metadata", "cell"]
# fields the original RNN-only cases leave out
CASE_DEFAULTS = {"proj_size": 0, "has_c0": False, "has_lengths": False}

cases = []


# --------------------------------------------------------------------------- writing

from make_fixtures import fixed_zip_time  # noqa: E402  (same folder; one definition of the zip-date pin)


def to_numpy(t):
    return t.detach().cpu().contiguous().numpy()


def save_npz(path, arrays):
    with fixed_zip_time():
        np.savez(path, **arrays)


def write_model(folder, state_dict, metadata):
    """state_dict: ordered {key: tensor}; metadata: dict of str -> str, or None."""
    tensors = {k: to_numpy(v) for k, v in state_dict.items()}
    arrays = dict(tensors)
    if metadata is not None:
        arrays["__metadata__"] = np.array(json.dumps(metadata))
    save_npz(os.path.join(folder, "model.npz"), arrays)
    with h5py.File(os.path.join(folder, "model.h5"), "w", track_order=True) as f:
        for k, v in tensors.items():
            f.create_dataset(k, data=v, track_times=False)
        for k, v in (metadata or {}).items():
            f.attrs[k] = str(v)


def write_case(spec, state_dict, metadata, inputs, expected):
    """spec: the cases.json entry (CASE_DEFAULTS filled in); inputs: {"input", ["h0"], ["c0"],
    ["lengths"]}; expected: (output, h_n) or, for LSTM, (output, h_n, c_n)."""
    spec = {**CASE_DEFAULTS, **spec}
    assert set(spec) == set(CASE_FIELDS), set(spec) ^ set(CASE_FIELDS)
    assert all(s["name"] != spec["name"] for s in cases), spec["name"]
    assert spec["has_h0"] == ("h0" in inputs) and spec["has_c0"] == ("c0" in inputs), spec["name"]
    assert spec["has_lengths"] == ("lengths" in inputs), spec["name"]
    assert len(expected) == (3 if spec["mode"] == "lstm" else 2), spec["name"]
    assert (spec["nonlinearity"] is None) == (spec["mode"] != "rnn"), spec["name"]
    dt = DTYPES[spec["dtype"]]
    rnn_keys = [k for k in state_dict if k.startswith(spec["prefix"] + "." if spec["prefix"] else "")]
    assert all(state_dict[k].dtype == dt for k in rnn_keys), spec["name"]
    assert all(t.dtype == (torch.int64 if k == "lengths" else dt) for k, t in inputs.items()), spec["name"]
    assert all(t.dtype == dt for t in expected), spec["name"]

    folder = os.path.join(OUT, spec["name"])
    os.makedirs(folder)
    write_model(folder, state_dict, metadata)
    save_npz(os.path.join(folder, "inputs.npz"), {k: to_numpy(v) for k, v in inputs.items()})
    save_npz(os.path.join(folder, "expected.npz"),
             {k: to_numpy(v) for k, v in zip(("output", "h_n", "c_n"), expected)})
    cases.append({k: spec[k] for k in CASE_FIELDS})


# --------------------------------------------------------------------------- building cases

def run_rnn(rnn, x, h0):
    with torch.no_grad():
        return rnn(x) if h0 is None else rnn(x, h0)


def rnn_case(name, *, seed, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
             bidirectional=False, batch_first=False, unbatched=False, has_h0=False, dtype="float32",
             seq_len, batch, no_metadata=False):
    """A bare torch.nn.RNN with torch's default init, run on torch.randn inputs."""
    torch.manual_seed(seed)
    dt = DTYPES[dtype]
    rnn = nn.RNN(input_size, hidden_size, num_layers=num_layers, nonlinearity=nonlinearity, bias=bias,
                 batch_first=batch_first, bidirectional=bidirectional, dtype=dt).eval()
    D = 2 if bidirectional else 1
    if unbatched:
        x = torch.randn(seq_len, input_size, dtype=dt)
        h0 = torch.randn(num_layers * D, hidden_size, dtype=dt) if has_h0 else None
    else:
        shape = (batch, seq_len, input_size) if batch_first else (seq_len, batch, input_size)
        x = torch.randn(*shape, dtype=dt)
        h0 = torch.randn(num_layers * D, batch, hidden_size, dtype=dt) if has_h0 else None
    output, h_n = run_rnn(rnn, x, h0)
    inputs = {"input": x} if h0 is None else {"input": x, "h0": h0}
    spec = dict(name=name, mode="rnn", nonlinearity=nonlinearity, input_size=input_size,
                hidden_size=hidden_size, num_layers=num_layers, bias=bias, bidirectional=bidirectional,
                batch_first=batch_first, unbatched=unbatched, has_h0=has_h0, dtype=dtype, seq_len=seq_len,
                batch=None if unbatched else batch, prefix="", no_metadata=no_metadata, cell=False)
    metadata = None if no_metadata else {"nonlinearity": nonlinearity}
    write_case(spec, rnn.state_dict(), metadata, inputs, (output, h_n))


def rotated(i):
    """The factors rotated across the 12 (layers x direction x nonlinearity) configurations; each
    value shows up several times with both directions (checked in make_matrix)."""
    return dict(bias=i % 3 != 2, batch_first=i % 4 in (1, 2), unbatched=i % 3 == 0,
                has_h0=(i // 3) % 2 == 1, dtype="float64" if i % 5 in (1, 3) else "float32")


MATRIX_SHIFT = 4  # the second 12 cases use rotated(i + MATRIX_SHIFT)


def matrix_name(num_layers, bidirectional, nonlinearity, r):
    parts = [f"l{num_layers}", "bi" if bidirectional else "uni", nonlinearity]
    if not r["bias"]:
        parts.append("nobias")
    if r["unbatched"]:
        parts.append("unb")
    elif r["batch_first"]:
        parts.append("bf")
    if r["has_h0"]:
        parts.append("h0")
    parts.append("f64" if r["dtype"] == "float64" else "f32")
    return "_".join(parts)


def make_matrix():
    configs = [(L, bi, nl) for L in (1, 2, 3) for bi in (False, True) for nl in ("tanh", "relu")]
    count = {}
    for round_ in range(2):
        for i, (L, bi, nl) in enumerate(configs):
            r = rotated(i + MATRIX_SHIFT * round_)
            for k, v in r.items():
                if k == "batch_first" and r["unbatched"]:
                    continue  # batch_first means nothing for an unbatched input
                count[(round_, k, v, bi)] = count.get((round_, k, v, bi), 0) + 1
            n = i + 12 * round_
            # the name spells out every factor that matters (batch_first only when batched), so a
            # name clash would mean the second round repeats a configuration of the first
            name = matrix_name(L, bi, nl, r)
            assert all(c["name"] != name for c in cases), name
            rnn_case(name, seed=100 + n, input_size=3 + (5 * n) % 6, hidden_size=3 + (7 * n + 2) % 6,
                     num_layers=L, nonlinearity=nl, bidirectional=bi,
                     seq_len=1 if n == 5 else 2 + (5 * n) % 11, batch=1 + n % 4, **r)
    # every rotated value appears at least twice with each direction, in each half of the matrix
    # (batch_first counted over batched cases only)
    for round_ in range(2):
        for k in rotated(0):
            values = {rotated(i)[k] for i in range(12)}
            for v in values:
                for bi in (False, True):
                    assert count.get((round_, k, v, bi), 0) >= 2, (round_, k, v, bi)


def make_cell_case():
    """Seed example B: RNNCell stepped by hand over an unbatched 10-step sequence."""
    torch.manual_seed(7)
    cell = nn.RNNCell(input_size=4, hidden_size=5).eval()
    x = torch.linspace(1, 100, 40).reshape(10, 4)
    h = torch.zeros(5)
    hs = []
    with torch.no_grad():
        for t in range(10):
            h = cell(x[t], h)
            hs.append(h)
    output = torch.stack(hs)
    spec = dict(name="seed_rnncell", mode="rnn", nonlinearity="tanh", input_size=4, hidden_size=5,
                num_layers=1, bias=True, bidirectional=False, batch_first=False, unbatched=True,
                has_h0=False, dtype="float32", seq_len=10, batch=None, prefix="", no_metadata=False,
                cell=True)
    write_case(spec, cell.state_dict(), {"nonlinearity": "tanh"}, {"input": x},
               (output, h.reshape(1, 5)))


def make_prefixed_cases():
    # prefix_encoder: the RNN is one submodule of a larger model
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(10, 3)
            self.encoder = nn.Module()
            self.encoder.rnn = nn.RNN(3, 5, num_layers=2, bidirectional=True)
            self.fc = nn.Linear(10, 2)

    torch.manual_seed(300)
    model = Model().eval()
    x = torch.randn(6, 2, 3)
    output, h_n = run_rnn(model.encoder.rnn, x, None)
    spec = dict(name="prefix_encoder", mode="rnn", nonlinearity="tanh", input_size=3, hidden_size=5,
                num_layers=2, bias=True, bidirectional=True, batch_first=False, unbatched=False,
                has_h0=False, dtype="float32", seq_len=6, batch=2, prefix="encoder.rnn",
                no_metadata=False, cell=False)
    write_case(spec, model.state_dict(), {"nonlinearity": "tanh"}, {"input": x}, (output, h_n))

    # prefix_dataparallel: nn.DataParallel prefixes every key with "module."
    torch.manual_seed(301)
    rnn = nn.RNN(4, 6).eval()
    x = torch.randn(5, 3, 4)
    h0 = torch.randn(1, 3, 6)
    output, h_n = run_rnn(rnn, x, h0)
    sd = {"module." + k: v for k, v in rnn.state_dict().items()}
    spec = dict(name="prefix_dataparallel", mode="rnn", nonlinearity="tanh", input_size=4, hidden_size=6,
                num_layers=1, bias=True, bidirectional=False, batch_first=False, unbatched=False,
                has_h0=True, dtype="float32", seq_len=5, batch=3, prefix="module", no_metadata=False,
                cell=False)
    write_case(spec, sd, {"nonlinearity": "tanh"}, {"input": x, "h0": h0}, (output, h_n))

    # two_rnns: encoder.rnn (tanh) and decoder.rnn (relu) in one file; the case is the decoder
    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Module()
            self.encoder.rnn = nn.RNN(3, 4)
            self.decoder = nn.Module()
            self.decoder.rnn = nn.RNN(4, 4, nonlinearity="relu")

    torch.manual_seed(302)
    model = Seq2Seq().eval()
    x = torch.randn(7, 2, 4)
    h0 = torch.randn(1, 2, 4)
    output, h_n = run_rnn(model.decoder.rnn, x, h0)
    spec = dict(name="two_rnns", mode="rnn", nonlinearity="relu", input_size=4, hidden_size=4,
                num_layers=1, bias=True, bidirectional=False, batch_first=False, unbatched=False,
                has_h0=True, dtype="float32", seq_len=7, batch=2, prefix="decoder.rnn", no_metadata=True,
                cell=False)
    write_case(spec, model.state_dict(), {"note": "two rnns"}, {"input": x, "h0": h0}, (output, h_n))


def make_special_cases():
    for dtype in ("float32", "float64"):
        rnn_case("long_seq_f" + dtype[-2:], seed=200 + (dtype == "float64"),
                 input_size=8, hidden_size=16, num_layers=2, bidirectional=True, dtype=dtype,
                 seq_len=256, batch=2)
    rnn_case("wide_hidden_f32", seed=210, input_size=32, hidden_size=512, seq_len=20, batch=2)
    rnn_case("wide_hidden_relu_f64", seed=211, input_size=16, hidden_size=256, nonlinearity="relu",
             dtype="float64", seq_len=8, batch=1)
    rnn_case("seed_batch_first", seed=220, input_size=3, hidden_size=4, batch_first=True,
             seq_len=7, batch=8)
    rnn_case("no_metadata_relu", seed=230, input_size=5, hidden_size=6, nonlinearity="relu",
             has_h0=True, seq_len=9, batch=3, no_metadata=True)


# --------------------------------------------------------------------------- LSTM, GRU, packed

MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def build_module(mode, input_size, hidden_size, *, num_layers, nonlinearity, proj_size, bias,
                 batch_first, bidirectional, dt):
    kw = dict(num_layers=num_layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional,
              dtype=dt)
    if mode == "rnn":
        kw["nonlinearity"] = nonlinearity
    if proj_size:
        kw["proj_size"] = proj_size
    return MODULES[mode](input_size, hidden_size, **kw).eval()


def forward(module, mode, x, h0, c0, lengths, batch_first, seq_len):
    """(output, h_n[, c_n]) as torch gives them; with lengths, through pack_padded_sequence
    (enforce_sorted=False) and pad_packed_sequence(total_length=seq_len)."""
    hx = None if h0 is None else ((h0, c0) if mode == "lstm" else h0)
    with torch.no_grad():
        if lengths is None:
            output, state = module(x, hx)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=batch_first,
                                                       enforce_sorted=False)
            out_packed, state = module(packed, hx)
            output, _ = nn.utils.rnn.pad_packed_sequence(out_packed, batch_first=batch_first,
                                                         total_length=seq_len)
    return (output, *state) if mode == "lstm" else (output, state)


def check_packed(module, mode, x, h0, c0, lengths, batch_first, expected):
    """Packed semantics, asserted against running every sequence alone on its first `length`
    steps: output zero from each length on, h_n/c_n per sequence in the original batch order."""
    output = expected[0]
    tol = dict(rtol=1e-5, atol=1e-6) if x.dtype == torch.float32 else dict(rtol=1e-12, atol=1e-14)
    bdim = 0 if batch_first else 1
    for b, n in enumerate(lengths.tolist()):
        xb = x.select(bdim, b).narrow(0, 0, n)  # [n, input_size], unbatched
        hb = None if h0 is None else h0[:, b]
        cb = None if c0 is None else c0[:, b]
        alone = forward(module, mode, xb, hb, cb, None, False, n)  # unbatched: batch_first moot
        ob = output.select(bdim, b)
        assert torch.allclose(ob[:n], alone[0], **tol), b
        assert bool((ob[n:] == 0).all()), b
        for got, want in zip(expected[1:], alone[1:]):
            assert torch.allclose(got[:, b], want, **tol), b


def seq_case(name, *, mode, seed, input_size, hidden_size, num_layers=1, nonlinearity=None,
             proj_size=0, bias=True, bidirectional=False, batch_first=False, unbatched=False,
             has_h0=False, dtype="float32", seq_len, batch=None, lengths=None, metadata=None):
    """A bare nn.RNN/LSTM/GRU with torch's default init, run on torch.randn inputs (for LSTM, h0 and
    c0 come together). lengths: packed case; the input is random at the padded positions too."""
    torch.manual_seed(seed)
    dt = DTYPES[dtype]
    module = build_module(mode, input_size, hidden_size, num_layers=num_layers,
                          nonlinearity=nonlinearity, proj_size=proj_size, bias=bias,
                          batch_first=batch_first, bidirectional=bidirectional, dt=dt)
    D = 2 if bidirectional else 1
    lead = () if unbatched else (batch,)
    if unbatched:
        x = torch.randn(seq_len, input_size, dtype=dt)
    else:
        shape = (batch, seq_len, input_size) if batch_first else (seq_len, batch, input_size)
        x = torch.randn(*shape, dtype=dt)
    h0 = torch.randn(num_layers * D, *lead, proj_size or hidden_size, dtype=dt) if has_h0 else None
    c0 = torch.randn(num_layers * D, *lead, hidden_size, dtype=dt) if has_h0 and mode == "lstm" else None
    lens = None
    if lengths is not None:
        assert not unbatched and len(lengths) == batch and max(lengths) <= seq_len, name
        lens = torch.tensor(lengths, dtype=torch.int64)
    expected = forward(module, mode, x, h0, c0, lens, batch_first, seq_len)
    if lens is not None:
        check_packed(module, mode, x, h0, c0, lens, batch_first, expected)
    inputs = {"input": x}
    for k, v in (("h0", h0), ("c0", c0), ("lengths", lens)):
        if v is not None:
            inputs[k] = v
    if mode == "rnn" and metadata is None:
        metadata = {"nonlinearity": nonlinearity}
    spec = dict(name=name, mode=mode, nonlinearity=nonlinearity, input_size=input_size,
                hidden_size=hidden_size, proj_size=proj_size, num_layers=num_layers, bias=bias,
                bidirectional=bidirectional, batch_first=batch_first, unbatched=unbatched,
                has_h0=has_h0, has_c0=c0 is not None, has_lengths=lens is not None, dtype=dtype,
                seq_len=seq_len, batch=None if unbatched else batch, prefix="",
                no_metadata=metadata is None, cell=False)
    write_case(spec, module.state_dict(), metadata, inputs, expected)


def make_lstm_cases():
    lstm = lambda name, **kw: seq_case(name, mode="lstm", **kw)  # noqa: E731
    lstm("lstm_l1_uni_meta_f32", seed=400, input_size=4, hidden_size=5, seq_len=6, batch=3,
         metadata={"mode": "lstm"})
    lstm("lstm_l2_bi_h0c0_f32", seed=401, input_size=3, hidden_size=4, num_layers=2,
         bidirectional=True, has_h0=True, seq_len=5, batch=2)
    lstm("lstm_l2_bi_proj_h0c0_f32", seed=402, input_size=5, hidden_size=6, proj_size=3,
         num_layers=2, bidirectional=True, has_h0=True, seq_len=6, batch=3)
    lstm("lstm_l1_uni_proj_nobias_bf_f32", seed=403, input_size=4, hidden_size=7, proj_size=4,
         bias=False, batch_first=True, seq_len=5, batch=2)
    lstm("lstm_l2_bi_unb_h0c0_f32", seed=404, input_size=3, hidden_size=5, num_layers=2,
         bidirectional=True, unbatched=True, has_h0=True, seq_len=7)
    lstm("lstm_l1_uni_proj_unb_h0c0_f64", seed=405, input_size=6, hidden_size=5, proj_size=2,
         unbatched=True, has_h0=True, dtype="float64", seq_len=4)
    lstm("lstm_l2_uni_bf_h0c0_f64", seed=406, input_size=8, hidden_size=4, num_layers=2,
         batch_first=True, has_h0=True, dtype="float64", seq_len=5, batch=4)
    lstm("lstm_l1_bi_nobias_f32", seed=407, input_size=5, hidden_size=3, bias=False,
         bidirectional=True, seq_len=8, batch=2)


def make_gru_cases():
    gru = lambda name, **kw: seq_case(name, mode="gru", **kw)  # noqa: E731
    gru("gru_l1_uni_meta_f32", seed=500, input_size=3, hidden_size=6, seq_len=7, batch=2,
        metadata={"mode": "gru"})
    gru("gru_l3_bi_h0_f32", seed=501, input_size=4, hidden_size=5, num_layers=3, bidirectional=True,
        has_h0=True, seq_len=6, batch=3)
    gru("gru_l2_uni_bf_f32", seed=502, input_size=6, hidden_size=4, num_layers=2, batch_first=True,
        seq_len=9, batch=4)
    gru("gru_l1_bi_unb_h0_f32", seed=503, input_size=5, hidden_size=7, bidirectional=True,
        unbatched=True, has_h0=True, seq_len=5)
    gru("gru_l2_bi_f64", seed=504, input_size=3, hidden_size=8, num_layers=2, bidirectional=True,
        dtype="float64", seq_len=4, batch=2)
    gru("gru_l1_uni_nobias_h0_f32", seed=505, input_size=7, hidden_size=3, bias=False, has_h0=True,
        seq_len=10, batch=1)


def make_packed_cases():
    # one sequence full length, the rest shorter, unsorted: [5, 2, 7, 3] with seq_len 7;
    # "short": max(lengths) < seq_len, so every sequence ends in zero output steps
    full, short = [5, 2, 7, 3], [4, 2, 3]
    packed = lambda name, **kw: seq_case(name, **kw)  # noqa: E731
    packed("packed_rnn_uni_f32", mode="rnn", nonlinearity="tanh", seed=600, input_size=3,
           hidden_size=4, seq_len=7, batch=4, lengths=full)
    packed("packed_rnn_l2_bi_bf_h0_short_f32", mode="rnn", nonlinearity="tanh", seed=601,
           input_size=4, hidden_size=5, num_layers=2, bidirectional=True, batch_first=True,
           has_h0=True, seq_len=6, batch=3, lengths=short)
    packed("packed_lstm_uni_h0c0_f32", mode="lstm", seed=602, input_size=5, hidden_size=4,
           has_h0=True, seq_len=7, batch=4, lengths=full)
    packed("packed_lstm_l2_bi_bf_f32", mode="lstm", seed=603, input_size=3, hidden_size=5,
           num_layers=2, bidirectional=True, batch_first=True, seq_len=7, batch=4, lengths=full)
    packed("packed_lstm_uni_proj_bf_short_f32", mode="lstm", seed=604, input_size=4, hidden_size=6,
           proj_size=3, batch_first=True, seq_len=6, batch=3, lengths=short)
    packed("packed_lstm_l2_bi_proj_h0c0_f32", mode="lstm", seed=605, input_size=3, hidden_size=6,
           proj_size=3, num_layers=2, bidirectional=True, has_h0=True, seq_len=7, batch=4,
           lengths=full)
    packed("packed_gru_uni_bf_h0_f32", mode="gru", seed=606, input_size=4, hidden_size=5,
           batch_first=True, has_h0=True, seq_len=7, batch=4, lengths=full)
    packed("packed_gru_l2_bi_short_f64", mode="gru", seed=607, input_size=5, hidden_size=3,
           num_layers=2, bidirectional=True, dtype="float64", seq_len=6, batch=3, lengths=short)
    packed("packed_lstm_bi_proj_bf_h0c0_short_f64", mode="lstm", seed=608, input_size=3,
           hidden_size=5, proj_size=2, bidirectional=True, batch_first=True, has_h0=True,
           dtype="float64", seq_len=6, batch=3, lengths=short)


def make_prefixed_lstm_gru_cases():
    # lstm_gru_two_modules: encoder.lstm (batch_first) and decoder.gru in one file, plus a Linear;
    # the case is the decoder, which the shapes alone must tell from the LSTM next to it
    class Seq2Seq(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Module()
            self.encoder.lstm = nn.LSTM(3, 5, batch_first=True)
            self.decoder = nn.Module()
            self.decoder.gru = nn.GRU(5, 5, num_layers=2)
            self.fc = nn.Linear(5, 2)

    torch.manual_seed(700)
    model = Seq2Seq().eval()
    x = torch.randn(6, 2, 5)
    h0 = torch.randn(2, 2, 5)
    expected = forward(model.decoder.gru, "gru", x, h0, None, None, False, 6)
    spec = dict(name="gru_prefix_decoder", mode="gru", nonlinearity=None, input_size=5, hidden_size=5,
                num_layers=2, bias=True, bidirectional=False, batch_first=False, unbatched=False,
                has_h0=True, dtype="float32", seq_len=6, batch=2, prefix="decoder.gru",
                no_metadata=True, cell=False)
    write_case(spec, model.state_dict(), None, {"input": x, "h0": h0}, expected)

    # packed_lstm_prefix_encoder_bf_f32: the same model; the case is the (batch_first) encoder
    # LSTM, run packed
    torch.manual_seed(701)
    model = Seq2Seq().eval()
    x = torch.randn(3, 5, 3)
    lens = torch.tensor([2, 5, 4], dtype=torch.int64)
    expected = forward(model.encoder.lstm, "lstm", x, None, None, lens, True, 5)
    check_packed(model.encoder.lstm, "lstm", x, None, None, lens, True, expected)
    spec = dict(name="packed_lstm_prefix_encoder_bf_f32", mode="lstm", nonlinearity=None, input_size=3,
                hidden_size=5, num_layers=1, bias=True, bidirectional=False, batch_first=True,
                unbatched=False, has_h0=False, has_lengths=True, dtype="float32", seq_len=5, batch=3,
                prefix="encoder.lstm", no_metadata=True, cell=False)
    write_case(spec, model.state_dict(), None, {"input": x, "lengths": lens}, expected)


def main():
    torch.set_num_threads(1)
    # LSTM with proj_size runs torch's default (non-oneDNN) kernel; nothing to act on
    warnings.filterwarnings("ignore", message="LSTM with projections is not supported with oneDNN")
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    make_matrix()
    make_special_cases()
    make_cell_case()
    make_prefixed_cases()
    make_lstm_cases()
    make_gru_cases()
    make_packed_cases()
    make_prefixed_lstm_gru_cases()
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"cases": cases}, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(OUT) for n in ns)
    print(f"torch fixtures: {len(cases)} cases, {total} bytes ({total / 2**20:.2f} MiB) "
          f"in {os.path.relpath(OUT, ROOT)} (torch {torch.__version__})")


if __name__ == "__main__":
    main()
