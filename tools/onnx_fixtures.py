#!/usr/bin/env python3
"""Makes Fixtures/onnx/ and Fixtures/torchscript/: small recurrent models as real tools write them — torch's
ONNX exporters (the legacy TorchScript-based one and the dynamo one), graphs built with onnx.helper, and
TorchScript archives (torch.jit.script / torch.jit.trace) — with the framework's own outputs, for the ONNX and
TorchScript readers.

Usage (from anywhere):  tools/.venv-torch/bin/python tools/onnx_fixtures.py [--dis NAME]
(tools/requirements-torch.txt: torch, numpy, h5py, onnx, onnxruntime, onnxscript (the dynamo exporter needs it);
CPU only, never needed by CI.)  --dis NAME also prints pickletools.dis of that TorchScript archive's data.pkl.

Fixtures/onnx/<name>/:
  model.onnx       (+ model.onnx.data when the weights are external data)
  inputs.npz       `input` float32 in PyTorch's layout ([T, B, I], [B, T, I] when batch_first); `h0` (`c0` for an
                   LSTM) in PyTorch's layout [L·D, B, H] (never batch-first); `lengths` int64 [B] (1..T).
  expected.npz     `output` ([T, B, D·H] or [B, T, D·H]), `h_n` [L·D, B, H], `c_n` (LSTM), in PyTorch's layout
                   even when ONNX Runtime computed them (Y [T, D, B, H] → [T, B, D·H]; layout 1: Y [B, T, D, H] →
                   [B, T, D·H], Y_h [B, D, H] → [D, B, H]).
  state_dict.npz   torch exports: the exported module's state_dict, exactly, with torch's names; onnx.helper
                   graphs: PyTorch's tensors for W, R, B (gate blocks reordered: ONNX LSTM i,o,f,c → PyTorch
                   i,f,g,o; GRU z,r,h → r,z,n; B[d] = [Wb, Rb] → bias_ih, bias_hh; direction 1 `_reverse`; a
                   "reverse" node's one direction is named like a forward one), under the module's prefix.
                   Refused onnx.helper graphs have none.
  legacy_nested_o17 also has inputs_decoder.npz / expected_decoder.npz (the `decoder` module), helper_if_branches
  expected_else.npz (the else branch; same inputs).
Fixtures/onnx/cases.json: {"cases": [...]}, fields in ONNX_FIELDS ("expect": "verifies" or "refused" with
"refusal" a substring of the error; "reference": what computed expected.npz; "also": other modules of the file
and their npz files; "files": the folder's files).

Fixtures/torchscript/<name>/: model.pt (torch.jit.save), inputs.npz, expected.npz (torch's output of the module
named by `prefix` on inputs.npz; the cell case as tools/make_torch_fixtures.py writes cells: unbatched `input`
[T, I] stepped from zero states, `output` [T, H] the stacked h, `h_n`/`c_n` [1, H]), state_dict.npz (the saved
module's full state_dict), and Fixtures/torchscript/cases.json (fields in TS_FIELDS; "root" is the archive's
top folder: script_rnn_relu's is rewritten to my_model_v2/).

Expected outputs come from the framework that made the file: torch (eval mode) for torch exports and archives,
ONNX Runtime (CPUExecutionProvider, one thread) for onnx.helper graphs (onnx.reference for the layout=1 LSTM, which
ONNX Runtime refuses: reference "onnx-reference"). Every torch export is also run in ONNX
Runtime and must match torch within 1e-5; every onnx.helper graph that should verify is run again in torch (or,
for the reset-before GRU, numpy) from state_dict.npz, which checks the gate reordering. Deterministic: seeded
torch and numpy generators, npz entries dated 1980-01-01; the .onnx/.pt bytes depend on the torch version (and
TorchScript archives carry a random serialization_id), the arrays do not.
"""
import io
import json
import logging
import os
import pickle
import pickletools
import shutil
import sys
import warnings
import zipfile

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import fixed_zip_time  # noqa: E402  (same folder; one definition of the zip-date pin)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ONNX_OUT = os.path.join(ROOT, "Fixtures", "onnx")
TS_OUT = os.path.join(ROOT, "Fixtures", "torchscript")

ONNX_FIELDS = ["name", "source", "opset", "expect", "refusal", "prefix", "mode", "num_layers", "bidirectional",
               "batch_first", "nonlinearity", "reset_after", "reverse", "reference", "input_size", "hidden_size",
               "seq_len", "batch", "has_h0", "has_c0", "has_lengths", "external_data", "also", "files", "notes"]
TS_FIELDS = ["name", "how", "root", "prefix", "mode", "num_layers", "bidirectional", "batch_first", "nonlinearity",
             "cell", "unbatched", "input_size", "hidden_size", "seq_len", "batch", "has_h0", "has_c0", "files",
             "notes"]
RECURRENT = ("RNN", "LSTM", "GRU")
NO_NODE = "no RNN, LSTM or GRU node"
TOLERANCE = 1e-5

onnx_cases, ts_cases = [], []


# --------------------------------------------------------------------------- writing

def save_npz(path, arrays):
    with fixed_zip_time():
        np.savez(path, **arrays)


def np32(t):
    a = t.detach().cpu().contiguous().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    return np.ascontiguousarray(a, dtype=np.int64 if a.dtype.kind in "iu" else np.float32)


def state_npz(state_dict):
    out = {}
    for k, v in state_dict.items():
        a = v.detach().cpu().contiguous().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
        assert a.dtype == np.float32, (k, a.dtype)
        out[k] = np.ascontiguousarray(a)
    return out


def new_folder(base, name):
    folder = os.path.join(base, name)
    os.makedirs(folder)
    return folder


def write_arrays(folder, inputs=None, expected=None, state_dict=None, extra=None):
    """inputs/expected/state_dict/extra: {name: array}; extra: {file stem: arrays} for more npz files."""
    if inputs is not None:
        save_npz(os.path.join(folder, "inputs.npz"), {k: np32(v) for k, v in inputs.items()})
    if expected is not None:
        save_npz(os.path.join(folder, "expected.npz"), {k: np32(v) for k, v in expected.items()})
    if state_dict is not None:
        save_npz(os.path.join(folder, "state_dict.npz"), state_npz(state_dict))
    for stem, arrays in (extra or {}).items():
        save_npz(os.path.join(folder, stem + ".npz"), {k: np32(v) for k, v in arrays.items()})


def has_external_data(path):
    """True when some initializer of the main graph is stored outside the .onnx file."""
    model = onnx.load(path, load_external_data=False)
    return any(t.data_location == TensorProto.EXTERNAL for t in model.graph.initializer)


def onnx_case(folder, *, name, source, opset, mode, reference, notes, expect="verifies", refusal=None, prefix="",
              num_layers=1, bidirectional=False, batch_first=False, nonlinearity=None, reset_after=None,
              reverse=False, input_size, hidden_size, seq_len, batch, also=None):
    assert (expect == "refused") == (refusal is not None), name
    assert (nonlinearity is not None) == (mode == "rnn") and (reset_after is not None) == (mode == "gru"), name
    assert all(c["name"] != name for c in onnx_cases), name
    files = sorted(os.listdir(folder))
    inputs = dict(np.load(os.path.join(folder, "inputs.npz"))) if "inputs.npz" in files else {}
    case = dict(name=name, source=source, opset=opset, expect=expect, refusal=refusal, prefix=prefix, mode=mode,
                num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first,
                nonlinearity=nonlinearity, reset_after=reset_after, reverse=reverse, reference=reference,
                input_size=input_size, hidden_size=hidden_size, seq_len=seq_len, batch=batch,
                has_h0="h0" in inputs, has_c0="c0" in inputs, has_lengths="lengths" in inputs,
                external_data=has_external_data(os.path.join(folder, "model.onnx")), also=also or [], files=files,
                notes=notes)
    if inputs:
        shape = inputs["input"].shape
        assert shape == ((batch, seq_len, input_size) if batch_first else (seq_len, batch, input_size)), name
    assert list(case) == ONNX_FIELDS
    onnx_cases.append(case)


# --------------------------------------------------------------------------- ONNX helpers

def ort_session(path):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def ort_run(path, feeds):
    session = ort_session(path)
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds)))


def reference_run(path, feeds):
    """onnx's reference evaluator (numpy), for what ONNX Runtime refuses to run."""
    model = onnx.load(path)
    evaluator = ReferenceEvaluator(model)
    names = [o.name for o in model.graph.output]
    return dict(zip(names, (np.asarray(a) for a in evaluator.run(None, feeds))))


def recurrent_nodes(graph, path=()):
    """(branch path, node) of every RNN/LSTM/GRU node, in the main graph and in node-attribute graphs."""
    found = []
    for node in graph.node:
        if node.op_type in RECURRENT:
            found.append((path, node))
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                found += recurrent_nodes(attr.g, path + (node.name, attr.name))
    return found


def layer_links(graph):
    """For every recurrent node of the main graph: the op types on the path from its X back to the previous
    recurrent node (or a graph input), e.g. "/LSTM_1 <- Transpose <- Reshape <- Transpose <- /LSTM"."""
    producer = {o: n for n in graph.node for o in n.output if o}
    lines = []
    for node in graph.node:
        if node.op_type not in RECURRENT:
            continue
        chain, value = [], node.input[0]
        while value in producer and producer[value].op_type not in RECURRENT:
            p = producer[value]
            chain.append(p.op_type)
            value = p.input[0]
        end = producer[value].name if value in producer else f"graph input {value!r}"
        lines.append(" <- ".join([node.name] + chain + [end]))
    return lines


def y_to_torch(y, layout=0):
    """ONNX Y ([T, D, B, H]; layout 1: [B, T, D, H]) → PyTorch's output ([T, B, D·H]; [B, T, D·H])."""
    if layout == 0:
        t, d, b, h = y.shape
        return y.transpose(0, 2, 1, 3).reshape(t, b, d * h)
    b, t, d, h = y.shape
    return y.reshape(b, t, d * h)


def state_to_torch(s, layout=0):
    """ONNX Y_h / Y_c ([D, B, H]; layout 1: [B, D, H]) → PyTorch's [D, B, H]."""
    return s if layout == 0 else s.transpose(1, 0, 2)


def state_to_onnx(s, layout=0):
    return s if layout == 0 else np.ascontiguousarray(s.transpose(1, 0, 2))


GATES = {"rnn": 1, "lstm": 4, "gru": 3}
TORCH_BLOCK_FROM_ONNX = {"rnn": [0], "lstm": [0, 2, 3, 1], "gru": [1, 0, 2]}  # PyTorch block j is ONNX block [j]
ONNX_OP = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


def onnx_weights(rng, mode, directions, input_size, hidden, bias=True):
    """W [D, G·H, I], R [D, G·H, H], B [D, 2·G·H] in ONNX's gate order, U(-0.5, 0.5) float32."""
    g = GATES[mode] * hidden
    u = lambda *shape: rng.uniform(-0.5, 0.5, shape).astype(np.float32)  # noqa: E731
    return u(directions, g, input_size), u(directions, g, hidden), (u(directions, 2 * g) if bias else None)


def torch_from_onnx(mode, w, r, b, layer=0, prefix=""):
    """PyTorch's state_dict entries for one ONNX node's W, R, B (the node being layer `layer`)."""
    order, hidden = TORCH_BLOCK_FROM_ONNX[mode], r.shape[-1]
    g = GATES[mode] * hidden
    reorder = lambda a: np.concatenate([a[k * hidden:(k + 1) * hidden] for k in order], axis=0)  # noqa: E731
    key = (lambda s: f"{prefix}.{s}") if prefix else (lambda s: s)
    sd = {}
    for d in range(w.shape[0]):
        suffix = f"_l{layer}" + ("_reverse" if d == 1 else "")
        sd[key("weight_ih" + suffix)] = reorder(w[d])
        sd[key("weight_hh" + suffix)] = reorder(r[d])
        if b is not None:
            sd[key("bias_ih" + suffix)] = reorder(b[d, :g])
            sd[key("bias_hh" + suffix)] = reorder(b[d, g:])
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def f32(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def tensor(name, array):
    return numpy_helper.from_array(np.array(array, order="C"), name)  # (np.ascontiguousarray makes 0-d arrays 1-d)


def constant(output, array, name=None):
    return helper.make_node("Constant", [], [output], name=name or output, value=tensor(output, array))


def save_helper_model(folder, graph, opset=17, external=False):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8,
                              producer_name="tools/onnx_fixtures.py")
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(folder, "model.onnx")
    if external:
        onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location="model.onnx.data", size_threshold=0)
    else:
        onnx.save_model(model, path)
    return path


def recurrent_graph(mode, *, name, hidden, w, r, b=None, layout=0, direction="forward", initial_h=False,
                    initial_c=False, seq_lens=False, x_shape, extra_attrs=None, p=None):
    """A graph with one recurrent node reading graph input X (W, R, B, P initializers)."""
    directions = w.shape[0]
    inits = [tensor("W", w), tensor("R", r)]
    ins = ["X", "W", "R"]
    graph_inputs = [f32("X", list(x_shape))]
    batch = x_shape[0] if layout else x_shape[1]
    state_shape = [batch, directions, hidden] if layout else [directions, batch, hidden]
    if b is not None:
        inits.append(tensor("B", b))
    ins.append("B" if b is not None else "")
    if seq_lens:
        graph_inputs.append(helper.make_tensor_value_info("sequence_lens", TensorProto.INT32, [batch]))
    ins.append("sequence_lens" if seq_lens else "")
    if initial_h:
        graph_inputs.append(f32("initial_h", state_shape))
    ins.append("initial_h" if initial_h else "")
    if mode == "lstm":
        if initial_c:
            graph_inputs.append(f32("initial_c", state_shape))
        ins.append("initial_c" if initial_c else "")
        if p is not None:
            inits.append(tensor("P", p))
            ins.append("P")
    while ins and ins[-1] == "":
        ins.pop()
    outs = ["Y", "Y_h"] + (["Y_c"] if mode == "lstm" else [])
    attrs = dict(hidden_size=hidden, direction=direction, **(extra_attrs or {}))
    if layout:
        attrs["layout"] = layout
    node = helper.make_node(ONNX_OP[mode], ins, outs, name=name, **attrs)
    t = x_shape[1] if layout else x_shape[0]
    y_shape = [batch, t, directions, hidden] if layout else [t, directions, batch, hidden]
    graph_outputs = [f32("Y", y_shape)] + [f32(o, state_shape) for o in outs[1:]]
    return helper.make_graph([node], name, graph_inputs, graph_outputs, initializer=inits)


def torch_outputs_from_ort(mode, out, layout=0, names=("Y", "Y_h", "Y_c")):
    expected = {"output": y_to_torch(out[names[0]], layout), "h_n": state_to_torch(out[names[1]], layout)}
    if mode == "lstm":
        expected["c_n"] = state_to_torch(out[names[2]], layout)
    return expected


# --------------------------------------------------------------------------- cross-checks in torch / numpy

MODULES = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def torch_module(mode, state_dict, *, input_size, hidden, num_layers=1, bidirectional=False, batch_first=False,
                 nonlinearity=None):
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    if mode == "rnn":
        kw["nonlinearity"] = nonlinearity
    module = MODULES[mode](input_size, hidden, **kw).eval()
    module.load_state_dict({k: torch.from_numpy(v) for k, v in state_dict.items()}, strict=True)
    return module


def run_torch(module, mode, x, h0=None, c0=None, lengths=None, batch_first=False):
    """{"output", "h_n"[, "c_n"]} as torch computes them (packed when `lengths`, padded with zeros)."""
    x = torch.from_numpy(x)
    hx = None if h0 is None else ((torch.from_numpy(h0), torch.from_numpy(c0)) if mode == "lstm"
                                  else torch.from_numpy(h0))
    with torch.no_grad():
        if lengths is None:
            output, state = module(x, hx)
        else:
            packed = nn.utils.rnn.pack_padded_sequence(x, torch.from_numpy(lengths), batch_first=batch_first,
                                                       enforce_sorted=False)
            out_packed, state = module(packed, hx)
            output, _ = nn.utils.rnn.pad_packed_sequence(out_packed, batch_first=batch_first,
                                                         total_length=x.shape[1 if batch_first else 0])
    result = {"output": output, "h_n": state[0] if mode == "lstm" else state}
    if mode == "lstm":
        result["c_n"] = state[1]
    return {k: np32(v) for k, v in result.items()}


def max_diff(a, b):
    assert a.keys() == b.keys(), (a.keys(), b.keys())
    for k in a:
        assert a[k].shape == b[k].shape, (k, a[k].shape, b[k].shape)
    return max(float(np.abs(a[k].astype(np.float64) - b[k]).max()) for k in a)


def agree(name, what, a, b):
    diff = max_diff(a, b)
    print(f"  {name}: {what}: max |diff| {diff:.3g}")
    assert diff <= TOLERANCE, (name, what, diff)
    return diff


def gru_reset_before_numpy(sd, x, h0=None):
    """PyTorch-layout GRU tensors, reset applied before the recurrent product (ONNX linear_before_reset=0)."""
    w_ih, w_hh, b_ih, b_hh = (sd[k].astype(np.float64) for k in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0",
                                                                  "bias_hh_l0"))
    hidden = w_hh.shape[1]
    h = np.zeros((x.shape[1], hidden)) if h0 is None else h0[0].astype(np.float64)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    blk = lambda a, k: a[k * hidden:(k + 1) * hidden]  # noqa: E731
    ys = []
    for xt in x.astype(np.float64):
        r = sig(xt @ blk(w_ih, 0).T + blk(b_ih, 0) + h @ blk(w_hh, 0).T + blk(b_hh, 0))
        z = sig(xt @ blk(w_ih, 1).T + blk(b_ih, 1) + h @ blk(w_hh, 1).T + blk(b_hh, 1))
        n = np.tanh(xt @ blk(w_ih, 2).T + blk(b_ih, 2) + (r * h) @ blk(w_hh, 2).T + blk(b_hh, 2))
        h = (1 - z) * n + z * h
        ys.append(h)
    return {"output": np.stack(ys).astype(np.float32), "h_n": h[None].astype(np.float32)}


# --------------------------------------------------------------------------- torch exports

def flatten(outputs):
    flat = []
    for o in outputs if isinstance(outputs, (tuple, list)) else [outputs]:
        flat += flatten(o) if isinstance(o, (tuple, list)) else [o]
    return flat


def export_torch(folder, module, args, *, input_names, output_names, opset, dynamo):
    """Exports `module` (eval mode) to folder/model.onnx, checks it in ONNX Runtime against torch (printing the
    largest difference) and returns the loaded model proto."""
    path = os.path.join(folder, "model.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            torch.onnx.export(module, args, path, dynamo=True, opset_version=opset, external_data=True,
                              input_names=input_names, output_names=output_names, verbose=False)
        else:
            torch.onnx.export(module, args, path, dynamo=False, opset_version=opset, do_constant_folding=True,
                              input_names=input_names, output_names=output_names)
    with torch.no_grad():
        want = {n: np32(t) for n, t in zip(output_names, flatten(module(*args)))}
    feeds = {n: np32(t) for n, t in zip(input_names, flatten(args))}
    got = ort_run(path, feeds)
    diff = max(float(np.abs(got[n] - want[n]).max()) for n in output_names)
    print(f"{os.path.basename(folder)}: onnxruntime vs torch max |diff| {diff:.3g}")
    assert diff <= TOLERANCE, (folder, diff)
    model = onnx.load(path, load_external_data=False)
    for p, node in recurrent_nodes(model.graph):
        print(f"  {node.op_type} node {node.name!r}")
    for line in layer_links(model.graph):
        print(f"    {line}")
    return model


def rnn_result(mode, outputs):
    """(output, h_n) or (output, (h_n, c_n)) → {"output", "h_n"[, "c_n"]}."""
    output, state = outputs
    if mode == "lstm":
        return {"output": output, "h_n": state[0], "c_n": state[1]}
    return {"output": output, "h_n": state}


def legacy_case(name, *, seed, mode, opset, input_size, hidden, num_layers=1, bidirectional=False,
                batch_first=False, nonlinearity=None, h0=False, seq_len, batch, notes):
    torch.manual_seed(seed)
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    if mode == "rnn":
        kw["nonlinearity"] = nonlinearity
    module = MODULES[mode](input_size, hidden, **kw).eval()
    d = 2 if bidirectional else 1
    x = torch.randn(*((batch, seq_len, input_size) if batch_first else (seq_len, batch, input_size)))
    inputs = {"input": x}
    if h0:
        inputs["h0"] = torch.randn(num_layers * d, batch, hidden)
        if mode == "lstm":
            inputs["c0"] = torch.randn(num_layers * d, batch, hidden)
    args = (x,) if not h0 else ((x, (inputs["h0"], inputs["c0"])) if mode == "lstm" else (x, inputs["h0"]))
    folder = new_folder(ONNX_OUT, name)
    outs = ["output", "h_n"] + (["c_n"] if mode == "lstm" else [])
    export_torch(folder, module, args, input_names=list(inputs), output_names=outs, opset=opset, dynamo=False)
    with torch.no_grad():
        expected = rnn_result(mode, module(*args))
    write_arrays(folder, inputs, expected, module.state_dict())
    onnx_case(folder, name=name, source="torch-legacy", opset=opset, mode=mode, reference="torch", notes=notes,
              num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first,
              nonlinearity=nonlinearity, reset_after=True if mode == "gru" else None, input_size=input_size,
              hidden_size=hidden, seq_len=seq_len, batch=batch)


def make_legacy_cases():
    print("--- torch.onnx.export(dynamo=False)")
    legacy_case("legacy_rnn_tanh_l1_o14", seed=1000, mode="rnn", nonlinearity="tanh", opset=14, input_size=3,
                hidden=4, seq_len=5, batch=2, notes="nn.RNN(3, 4); input only (zero initial state)")
    legacy_case("legacy_rnn_relu_l2_bi_o17", seed=1001, mode="rnn", nonlinearity="relu", opset=17, input_size=3,
                hidden=4, num_layers=2, bidirectional=True, seq_len=4, batch=3,
                notes="nn.RNN(3, 4, num_layers=2, nonlinearity='relu', bidirectional=True): two RNN nodes "
                      "(activations [Relu, Relu])")
    legacy_case("legacy_lstm_l1_h0c0_o14", seed=1002, mode="lstm", opset=14, input_size=4, hidden=5, h0=True,
                seq_len=6, batch=2, notes="nn.LSTM(4, 5) exported with (x, (h0, c0)): h0 and c0 are graph inputs")
    legacy_case("legacy_lstm_l3_bi_bf_o17", seed=1003, mode="lstm", opset=17, input_size=3, hidden=4,
                num_layers=3, bidirectional=True, batch_first=True, seq_len=5, batch=2,
                notes="nn.LSTM(3, 4, num_layers=3, bidirectional=True, batch_first=True): a Transpose before "
                      "the first LSTM node, Transpose+Reshape between layers")
    legacy_case("legacy_gru_l2_o14", seed=1004, mode="gru", opset=14, input_size=3, hidden=5, num_layers=2,
                seq_len=5, batch=3, notes="nn.GRU(3, 5, num_layers=2): two GRU nodes, linear_before_reset=1")
    legacy_case("legacy_gru_l1_bi_bf_h0_o17", seed=1005, mode="gru", opset=17, input_size=2, hidden=3,
                bidirectional=True, batch_first=True, h0=True, seq_len=4, batch=3,
                notes="nn.GRU(2, 3, bidirectional=True, batch_first=True) exported with (x, h0)")

    # legacy_nested_o17: encoder LSTM feeding a decoder GRU, one model; the nodes are scoped /encoder/…, /decoder/…
    class Nested(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.LSTM(3, 4, num_layers=2)
            self.decoder = nn.GRU(4, 5)

        def forward(self, x):
            encoded, _ = self.encoder(x)
            return self.decoder(encoded)

    name = "legacy_nested_o17"
    torch.manual_seed(1006)
    model = Nested().eval()
    x = torch.randn(5, 2, 3)
    folder = new_folder(ONNX_OUT, name)
    export_torch(folder, model, (x,), input_names=["input"], output_names=["output", "h_n"], opset=17,
                 dynamo=False)
    with torch.no_grad():
        enc = rnn_result("lstm", model.encoder(x))
        dec = rnn_result("gru", model.decoder(enc["output"]))
    write_arrays(folder, {"input": x}, enc, model.state_dict(),
                 extra={"inputs_decoder": {"input": enc["output"]}, "expected_decoder": dec})
    also = [dict(prefix="decoder", mode="gru", num_layers=1, bidirectional=False, batch_first=False,
                 reset_after=True, input_size=4, hidden_size=5, inputs="inputs_decoder.npz",
                 expected="expected_decoder.npz")]
    onnx_case(folder, name=name, source="torch-legacy", opset=17, mode="lstm", reference="torch", prefix="encoder",
              num_layers=2, input_size=3, hidden_size=4, seq_len=5, batch=2, also=also,
              notes="model with encoder = nn.LSTM(3, 4, num_layers=2) and decoder = nn.GRU(4, 5) reading the "
                    "encoder's output; the graph outputs are the decoder's. expected.npz is the encoder's "
                    "(prefix encoder); inputs_decoder.npz/expected_decoder.npz are the decoder's (prefix decoder); "
                    "state_dict.npz is the whole model's (encoder.*, decoder.*)")


def make_dynamo_cases():
    print("--- torch.onnx.export(dynamo=True)")
    found = {}
    # The dynamo exporter keeps LSTM and GRU nodes (layers chained by Transpose and a static Reshape) and
    # unrolls RNN.
    for name, mode, seed, layers in (("dynamo_lstm_o18", "lstm", 1007, 1), ("dynamo_rnn_o18", "rnn", 1008, 1),
                                     ("dynamo_gru_l2_bi_bf_o18", "gru", 1009, 2)):
        torch.manual_seed(seed)
        stacked = layers > 1  # then bidirectional and batch-first too
        kw = dict(num_layers=layers, bidirectional=stacked, batch_first=stacked)
        module = {"lstm": nn.LSTM, "rnn": nn.RNN, "gru": nn.GRU}[mode](3, 4, **kw).eval()
        x = torch.randn(2, 5, 3) if stacked else torch.randn(5, 2, 3)
        folder = new_folder(ONNX_OUT, name)
        outs = ["output", "h_n"] + (["c_n"] if mode == "lstm" else [])
        try:
            model = export_torch(folder, module, (x,), input_names=["input"], output_names=outs, opset=18,
                                 dynamo=True)
        except Exception as error:  # noqa: BLE001  (reported, the fixture skipped)
            print(f"{name}: the dynamo export failed, skipped: {type(error).__name__}: {error}")
            shutil.rmtree(folder)
            continue
        kept = [n.op_type for _, n in recurrent_nodes(model.graph)]
        ops = sorted({n.op_type for n in model.graph.node})
        external = [i.name for i in model.graph.initializer if i.data_location == TensorProto.EXTERNAL]
        data = os.path.join(folder, "model.onnx.data")
        data_size = os.path.getsize(data) if os.path.exists(data) else None
        print(f"  recurrent nodes {kept}; node types {ops}; external initializers {external}; "
              f"model.onnx.data {data_size} bytes")
        found[name] = dict(recurrent=kept, external=external, data_size=data_size)
        with torch.no_grad():
            expected = rnn_result(mode, module(x))
        write_arrays(folder, {"input": x}, expected, module.state_dict())
        storage = ("weights in model.onnx.data" if external else
                   f"external_data=True but every initializer is inline (model.onnx.data is {data_size} bytes)")
        if kept:
            expect, refusal = "verifies", None
            notes = (f"nn.{type(module).__name__}(3, 4, {', '.join(f'{k}={v}' for k, v in kw.items())}), dynamo "
                     f"exporter: keeps {len(kept)} {kept[0]} node(s); {storage}")
        else:
            expect, refusal = "refused", NO_NODE
            notes = (f"nn.{type(module).__name__}(3, 4), dynamo exporter: the recurrence is unrolled into "
                     f"{', '.join(ops)} (no recurrent node); {storage}")
        onnx_case(folder, name=name, source="torch-dynamo", opset=18, mode=mode, reference="torch", expect=expect,
                  refusal=refusal, nonlinearity="tanh" if mode == "rnn" else None,
                  reset_after=True if mode == "gru" else None, num_layers=layers, bidirectional=stacked,
                  batch_first=stacked, input_size=3, hidden_size=4, seq_len=5, batch=2, notes=notes)
    return found


# --------------------------------------------------------------------------- onnx.helper graphs

def helper_recurrent_case(name, *, seed, mode, input_size, hidden, seq_len, batch, bidirectional=False,
                          direction=None, layout=0, bias=True, initial_h=False, initial_c=False, lengths=None,
                          extra_attrs=None, peephole=False, nonlinearity=None, expect="verifies", refusal=None,
                          external=False, reference="onnxruntime", notes):
    rng = np.random.default_rng(seed)
    direction = direction or ("bidirectional" if bidirectional else "forward")
    d = 2 if direction == "bidirectional" else 1
    w, r, b = onnx_weights(rng, mode, d, input_size, hidden, bias)
    p = rng.uniform(-0.5, 0.5, (d, 3 * hidden)).astype(np.float32) if peephole else None
    x_shape = (batch, seq_len, input_size) if layout else (seq_len, batch, input_size)
    x = rng.standard_normal(x_shape).astype(np.float32)
    h0 = rng.standard_normal((d, batch, hidden)).astype(np.float32) if initial_h else None
    c0 = rng.standard_normal((d, batch, hidden)).astype(np.float32) if initial_c else None
    attrs = dict(extra_attrs or {})
    if mode == "rnn" and nonlinearity == "relu":
        attrs["activations"] = ["Relu"] * d
    graph = recurrent_graph(mode, name=name, hidden=hidden, w=w, r=r, b=b, layout=layout, direction=direction,
                            initial_h=initial_h, initial_c=initial_c, seq_lens=lengths is not None, x_shape=x_shape,
                            extra_attrs=attrs, p=p)
    graph.node[0].name = f"{mode}_node"
    folder = new_folder(ONNX_OUT, name)
    path = save_helper_model(folder, graph, external=external)
    feeds = {"X": x}
    if h0 is not None:
        feeds["initial_h"] = state_to_onnx(h0, layout)
    if c0 is not None:
        feeds["initial_c"] = state_to_onnx(c0, layout)
    lens = None
    if lengths is not None:
        lens = np.array(lengths, dtype=np.int64)
        feeds["sequence_lens"] = lens.astype(np.int32)
    out = (ort_run if reference == "onnxruntime" else reference_run)(path, feeds)
    expected = torch_outputs_from_ort(mode, out, layout)
    inputs = {"input": x}
    for k, v in (("h0", h0), ("c0", c0), ("lengths", lens)):
        if v is not None:
            inputs[k] = v
    sd = torch_from_onnx(mode, w, r, b)
    reverse = direction == "reverse"
    if expect == "verifies":
        check_against_torch(name, mode, sd, inputs, expected, input_size=input_size, hidden=hidden,
                            bidirectional=d == 2, batch_first=bool(layout), nonlinearity=nonlinearity,
                            reset_after=bool(attrs.get("linear_before_reset", 0)), reverse=reverse,
                            reference=reference)
    else:
        print(f"  {name}: refused case, {reference} ran it (expected.npz written for completeness)")
    write_arrays(folder, inputs, expected, sd if expect == "verifies" else None)
    onnx_case(folder, name=name, source="onnx-helper", opset=17, mode=mode, reference=reference, expect=expect,
              refusal=refusal, bidirectional=d == 2, batch_first=bool(layout), nonlinearity=nonlinearity,
              reset_after=bool(attrs.get("linear_before_reset", 0)) if mode == "gru" else None, reverse=reverse,
              input_size=input_size, hidden_size=hidden, seq_len=seq_len, batch=batch, notes=notes)
    return out


def check_against_torch(name, mode, sd, inputs, expected, *, input_size, hidden, bidirectional=False,
                        batch_first=False, nonlinearity=None, reset_after=True, reverse=False,
                        reference="onnxruntime"):
    """Runs PyTorch (numpy for a reset-before GRU) from the converted tensors and compares with ORT's outputs."""
    x, h0, c0, lens = (inputs.get(k) for k in ("input", "h0", "c0", "lengths"))
    if mode == "gru" and not reset_after:
        assert not bidirectional and not batch_first and lens is None and not reverse
        return agree(name, f"numpy reset-before GRU vs {reference}", gru_reset_before_numpy(sd, x, h0), expected)
    module = torch_module(mode, sd, input_size=input_size, hidden=hidden, bidirectional=bidirectional,
                          batch_first=batch_first, nonlinearity=nonlinearity)
    if reverse:  # one direction reading from the end: torch forward on the time-reversed input, re-reversed
        axis = 1 if batch_first else 0
        got = run_torch(module, mode, np.ascontiguousarray(np.flip(x, axis)), h0, c0, batch_first=batch_first)
        got["output"] = np.ascontiguousarray(np.flip(got["output"], axis))
    else:
        got = run_torch(module, mode, x, h0, c0, lens, batch_first)
    return agree(name, f"torch (state_dict.npz) vs {reference}", got, expected)


def make_helper_cases():
    print("--- onnx.helper graphs (opset 17, ir_version 8), run in onnxruntime")
    helper_recurrent_case("helper_gru_reset_before", seed=2000, mode="gru", input_size=3, hidden=4, seq_len=5,
                          batch=2, extra_attrs={"linear_before_reset": 0},
                          notes="GRU linear_before_reset=0 (the reset-before GRU, not PyTorch's) with B")
    helper_recurrent_case("helper_lstm_layout1", seed=2001, mode="lstm", input_size=2, hidden=5, seq_len=4, batch=3,
                          layout=1, initial_h=True, initial_c=True, reference="onnx-reference",
                          notes="LSTM layout=1: X [B, T, I], initial_h/initial_c graph inputs [B, 1, H] in the "
                                "graph (h0/c0 in inputs.npz are PyTorch's [1, B, H]); Y [B, T, 1, H]. ONNX Runtime "
                                "1.32 refuses layout 1 (\"Batchwise recurrent operations (layout == 1) are not "
                                "supported\"), so expected.npz is onnx.reference's (checked against torch "
                                "batch_first)")
    out = helper_recurrent_case("helper_rnn_seq_lens", seed=2002, mode="rnn", nonlinearity="tanh", input_size=3,
                                hidden=4, seq_len=6, batch=3, bidirectional=True, lengths=[6, 4, 1],
                                notes="bidirectional RNN Tanh with sequence_lens an int32 graph input [B]; "
                                      "inputs.npz lengths int64 [6, 4, 1]; ORT's Y is zero past each length "
                                      "(checked), as pad_packed_sequence gives")
    y = out["Y"]  # [T, D, B, H]
    for bi, n in enumerate([6, 4, 1]):
        assert np.all(y[n:, :, bi] == 0), ("helper_rnn_seq_lens: ORT output past length not zero", bi)
    print("  helper_rnn_seq_lens: ORT's Y is exactly zero past every length")
    helper_recurrent_case("helper_gru_reverse", seed=2003, mode="gru", input_size=4, hidden=3, seq_len=5, batch=2,
                          direction="reverse", initial_h=True, extra_attrs={"linear_before_reset": 1},
                          notes="GRU direction=reverse, linear_before_reset=1, initial_h graph input: one "
                                "direction reading from the end, Y[t] aligned with X[t]; its tensors are named "
                                "weight_ih_l0 (no _reverse)")
    helper_recurrent_case("helper_lstm_external", seed=2004, mode="lstm", input_size=3, hidden=4, seq_len=4, batch=2,
                          bidirectional=True, external=True,
                          notes="bidirectional LSTM saved with save_as_external_data=True, all_tensors_to_one_file, "
                                "size_threshold=0: W, R, B in model.onnx.data")
    helper_recurrent_case("helper_clip", seed=2005, mode="lstm", input_size=3, hidden=4, seq_len=4, batch=2,
                          extra_attrs={"clip": 1.0}, expect="refused", refusal="clip",
                          notes="LSTM clip=1.0 (cell clipping has no PyTorch equivalent); expected.npz from ORT")
    helper_recurrent_case("helper_peephole", seed=2006, mode="lstm", input_size=3, hidden=4, seq_len=4, batch=2,
                          peephole=True, expect="refused", refusal="peephole",
                          notes="LSTM with non-zero peephole weights P [1, 3H]; expected.npz from ORT")
    helper_recurrent_case("helper_activation", seed=2007, mode="gru", input_size=3, hidden=4, seq_len=4, batch=2,
                          extra_attrs={"activations": ["HardSigmoid", "Tanh"], "linear_before_reset": 1},
                          expect="refused", refusal="activations",
                          notes="GRU activations [HardSigmoid, Tanh]; expected.npz from ORT")
    make_if_case()
    make_computed_case()
    make_unrolled_case()


def lstm_branch(name, node_name, w, r, b, *, as_constants, x_shape, hidden):
    """An If branch: one LSTM node reading the outer graph's X; W/R/B as initializers or Constant nodes."""
    t, batch, _ = x_shape
    names = [f"{name}_{k}" for k in ("W", "R", "B")]
    arrays = [w, r, b]
    nodes = [constant(n, a) for n, a in zip(names, arrays)] if as_constants else []
    inits = [] if as_constants else [tensor(n, a) for n, a in zip(names, arrays)]
    outs = [f"{name}_Y", f"{name}_Y_h", f"{name}_Y_c"]
    nodes.append(helper.make_node("LSTM", ["X"] + names, outs, name=node_name, hidden_size=hidden))
    return helper.make_graph(nodes, name, [], [f32(outs[0], [t, 1, batch, hidden]),
                                               f32(outs[1], [1, batch, hidden]), f32(outs[2], [1, batch, hidden])],
                             initializer=inits)


def make_if_case():
    name = "helper_if_branches"
    rng = np.random.default_rng(2010)
    t, batch, i, h = 5, 2, 3, 4
    then_w = onnx_weights(rng, "lstm", 1, i, h)
    else_w = onnx_weights(rng, "lstm", 1, i, h)
    x = rng.standard_normal((t, batch, i)).astype(np.float32)
    then_g = lstm_branch("then", "lstm_16k", *then_w, as_constants=False, x_shape=x.shape, hidden=h)
    else_g = lstm_branch("else", "lstm_8k", *else_w, as_constants=True, x_shape=x.shape, hidden=h)
    node = helper.make_node("If", ["cond"], ["Y", "Y_h", "Y_c"], name="select_rate", then_branch=then_g,
                            else_branch=else_g)
    graph = helper.make_graph([node], name, [f32("X", [t, batch, i]),
                                             helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
                              [f32("Y", [t, 1, batch, h]), f32("Y_h", [1, batch, h]), f32("Y_c", [1, batch, h])])
    folder = new_folder(ONNX_OUT, name)
    path = save_helper_model(folder, graph)
    results, sd = {}, {}
    for cond, branch, weights in ((True, "then_branch", then_w), (False, "else_branch", else_w)):
        out = ort_run(path, {"X": x, "cond": np.array(cond)})
        results[branch] = torch_outputs_from_ort("lstm", out)
        branch_sd = torch_from_onnx("lstm", *weights)
        check_against_torch(f"{name} {branch}", "lstm", branch_sd, {"input": x}, results[branch], input_size=i,
                            hidden=h)
        sd.update({f"select_rate.{branch}.{k}": v for k, v in branch_sd.items()})
    write_arrays(folder, {"input": x}, results["then_branch"], sd, extra={"expected_else": results["else_branch"]})
    also = [dict(prefix="select_rate.else_branch", mode="lstm", num_layers=1, bidirectional=False, batch_first=False,
                 input_size=i, hidden_size=h, inputs="inputs.npz", expected="expected_else.npz")]
    onnx_case(folder, name=name, source="onnx-helper", opset=17, mode="lstm", reference="onnxruntime",
              prefix="select_rate.then_branch", input_size=i, hidden_size=h, seq_len=t, batch=batch, also=also,
              notes="main graph: inputs X and bool cond, an If node select_rate; then_branch holds LSTM lstm_16k "
                    "with W/R/B initializers of the branch, else_branch LSTM lstm_8k with W/R/B Constant nodes; "
                    "both read the outer X. expected.npz: cond=True (prefix select_rate.then_branch); "
                    "expected_else.npz: cond=False (prefix select_rate.else_branch); inputs.npz has no cond; "
                    "state_dict.npz holds both branches' tensors under their prefixes")


def make_computed_case():
    """LSTM whose W, R, B are computed from Constant nodes (Slice, Concat, Squeeze, Unsqueeze, Transpose, Reshape,
    Gather, Cast, Identity)."""
    name = "helper_computed_wrb"
    rng = np.random.default_rng(2011)
    t, batch, i, h = 5, 2, 3, 4
    w, r, b = onnx_weights(rng, "lstm", 1, i, h)
    x = rng.standard_normal((t, batch, i)).astype(np.float32)
    # W: a Constant [1, 1, 4H, I] with the gate blocks as f, c, i, o → Squeeze(axes 0) → four Slices → Concat
    # (axis 1) in ONNX's order i, o, f, c → Identity
    blocks = {g: w[:, k * h:(k + 1) * h] for k, g in enumerate("iofc")}
    w_stored = np.concatenate([blocks[g] for g in "fcio"], axis=1)[None]
    at = {g: k for k, g in enumerate("fcio")}
    nodes = [constant("w_stored", w_stored),
             constant("axes0", np.array([0], dtype=np.int64)),
             helper.make_node("Squeeze", ["w_stored", "axes0"], ["w_squeezed"], name="squeeze_w")]
    for g in "iofc":
        nodes += [helper.make_node("Constant", [], [f"start_{g}"], name=f"start_{g}", value_ints=[at[g] * h]),
                  helper.make_node("Constant", [], [f"end_{g}"], name=f"end_{g}", value_ints=[(at[g] + 1) * h]),
                  helper.make_node("Constant", [], [f"axis_{g}"], name=f"axis_{g}", value_ints=[1]),
                  helper.make_node("Slice", ["w_squeezed", f"start_{g}", f"end_{g}", f"axis_{g}"], [f"w_{g}"],
                                   name=f"slice_{g}")]
    nodes += [helper.make_node("Concat", [f"w_{g}" for g in "iofc"], ["w_concat"], name="concat_w", axis=1),
              helper.make_node("Identity", ["w_concat"], ["W"], name="identity_w")]
    # R: a Constant [2, H, 4H] of two candidates (R[0] transposed at index 1) → Gather(index 1, axis 0) →
    # Unsqueeze(axes 0) → Transpose(perm [0, 2, 1])
    decoy = rng.uniform(-0.5, 0.5, (h, 4 * h)).astype(np.float32)
    nodes += [constant("r_candidates", np.stack([decoy, r[0].T])),
              constant("index1", np.array(1, dtype=np.int64)),
              helper.make_node("Gather", ["r_candidates", "index1"], ["r_t"], name="gather_r", axis=0),
              helper.make_node("Unsqueeze", ["r_t", "axes0"], ["r_t3"], name="unsqueeze_r"),
              helper.make_node("Transpose", ["r_t3"], ["R"], name="transpose_r", perm=[0, 2, 1])]
    # B: a float64 Constant [8, H] → Reshape [-1] → Cast float → Unsqueeze(axes 0)
    nodes += [constant("b64", b.astype(np.float64).reshape(8, h)),
              constant("flat", np.array([-1], dtype=np.int64)),
              helper.make_node("Reshape", ["b64", "flat"], ["b64_flat"], name="reshape_b"),
              helper.make_node("Cast", ["b64_flat"], ["b32"], name="cast_b", to=TensorProto.FLOAT),
              helper.make_node("Unsqueeze", ["b32", "axes0"], ["B"], name="unsqueeze_b")]
    nodes.append(helper.make_node("LSTM", ["X", "W", "R", "B"], ["Y", "Y_h", "Y_c"], name="lstm", hidden_size=h))
    graph = helper.make_graph(nodes, name, [f32("X", [t, batch, i])],
                              [f32("Y", [t, 1, batch, h]), f32("Y_h", [1, batch, h]), f32("Y_c", [1, batch, h])])
    folder = new_folder(ONNX_OUT, name)
    path = save_helper_model(folder, graph)
    expected = torch_outputs_from_ort("lstm", ort_run(path, {"X": x}))
    sd = torch_from_onnx("lstm", w, r, b)
    check_against_torch(name, "lstm", sd, {"input": x}, expected, input_size=i, hidden=h)
    write_arrays(folder, {"input": x}, expected, sd)
    onnx_case(folder, name=name, source="onnx-helper", opset=17, mode="lstm", reference="onnxruntime",
              input_size=i, hidden_size=h, seq_len=t, batch=batch,
              notes="LSTM whose W = Identity(Concat(axis 1) of four Slices of Squeeze(Constant [1, 1, 4H, I] with the "
                    "gate blocks stored f, c, i, o)); R = Transpose(perm [0, 2, 1]) of Unsqueeze(Gather(Constant "
                    "[2, H, 4H], index 1)); B = Unsqueeze(Cast(Reshape(Constant float64 [8, H], [-1]) → float)); "
                    "Slice parameters are Constant value_ints")


def make_unrolled_case():
    """One RNN cell step with Gemm, Add and Tanh: no recurrent node, refused."""
    name = "helper_unrolled_cell"
    rng = np.random.default_rng(2012)
    batch, i, h = 2, 3, 4
    w_ih, w_hh = (rng.uniform(-0.5, 0.5, s).astype(np.float32) for s in ((h, i), (h, h)))
    b = rng.uniform(-0.5, 0.5, (h,)).astype(np.float32)
    nodes = [helper.make_node("Gemm", ["x", "weight_ih", "bias"], ["a"], name="gemm_ih", transB=1),
             helper.make_node("Gemm", ["h", "weight_hh"], ["c"], name="gemm_hh", transB=1),
             helper.make_node("Add", ["a", "c"], ["s"], name="add"),
             helper.make_node("Tanh", ["s"], ["h_next"], name="tanh")]
    graph = helper.make_graph(nodes, name, [f32("x", [batch, i]), f32("h", [batch, h])], [f32("h_next", [batch, h])],
                              initializer=[tensor("weight_ih", w_ih), tensor("weight_hh", w_hh), tensor("bias", b)])
    folder = new_folder(ONNX_OUT, name)
    path = save_helper_model(folder, graph)
    x, h0 = rng.standard_normal((batch, i)).astype(np.float32), rng.standard_normal((batch, h)).astype(np.float32)
    got = ort_run(path, {"x": x, "h": h0})["h_next"]
    assert np.allclose(got, np.tanh(x @ w_ih.T + b + h0 @ w_hh.T), atol=1e-6)
    print(f"  {name}: ORT runs the cell step (no inputs/expected written)")
    onnx_case(folder, name=name, source="onnx-helper", opset=17, mode="rnn", reference="onnxruntime",
              expect="refused", refusal=NO_NODE, nonlinearity="tanh", input_size=i, hidden_size=h, seq_len=1,
              batch=batch, notes="one tanh RNN cell step as Gemm(x, W_ih, b) + Gemm(h, W_hh) → Tanh, no recurrent "
                                 "node; only model.onnx")


# --------------------------------------------------------------------------- TorchScript archives

def archive_root(path):
    with zipfile.ZipFile(path) as z:
        roots = {n.split("/", 1)[0] for n in z.namelist()}
    assert len(roots) == 1, roots
    return roots.pop()


def rename_root(data, new_root):
    """A copy of the zip archive `data` (bytes) with every entry's top folder renamed, entries stored."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, fixed_zip_time(), \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            _, rest = info.filename.split("/", 1)
            dst.writestr(f"{new_root}/{rest}", src.read(info), compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


def ts_case(name, saved, *, how, prefix, mode, inputs, expected, module_output, num_layers=1, bidirectional=False,
            batch_first=False, nonlinearity=None, cell=False, unbatched=False, input_size, hidden_size, seq_len,
            batch, new_root=None, notes, run_saved):
    """saved: the scripted/traced module; module_output: what `run_saved(loaded)` must give back."""
    folder = new_folder(TS_OUT, name)
    path = os.path.join(folder, "model.pt")
    if new_root is None:
        torch.jit.save(saved, path)
    else:
        buffer = io.BytesIO()
        torch.jit.save(saved, buffer)
        buffer_root = archive_root(io.BytesIO(buffer.getvalue()))
        with open(path, "wb") as f:
            f.write(rename_root(buffer.getvalue(), new_root))
        print(f"  {name}: saved to a buffer (root {buffer_root}/), rewritten with root {new_root}/, entries stored")
    root = archive_root(path)
    loaded = torch.jit.load(path)
    with torch.no_grad():
        again = [np32(t) for t in flatten(run_saved(loaded))]
    diff = max(float(np.abs(a - np32(b)).max()) for a, b in zip(again, flatten(module_output)))
    assert diff == 0.0, (name, diff)
    print(f"{name}: torch.jit.load({os.path.relpath(path, ROOT)}) (root {root}/) reproduces the module exactly")
    write_arrays(folder, inputs, expected, saved.state_dict())
    case = dict(name=name, how=how, root=root, prefix=prefix, mode=mode, num_layers=num_layers,
                bidirectional=bidirectional, batch_first=batch_first, nonlinearity=nonlinearity, cell=cell,
                unbatched=unbatched, input_size=input_size, hidden_size=hidden_size, seq_len=seq_len, batch=batch,
                has_h0="h0" in inputs, has_c0="c0" in inputs, files=sorted(os.listdir(folder)), notes=notes)
    assert list(case) == TS_FIELDS
    ts_cases.append(case)
    return path


def make_torchscript_cases():
    print("--- TorchScript archives")
    paths = {}

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(3, 4, num_layers=2, batch_first=True)

        def forward(self, x):
            return self.rnn(x)[0]

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = Encoder()
            self.head = nn.Linear(4, 2)
            # What real archives hold beside the weights: a buffer viewed with stride 0 (one stored element,
            # expanded) and an empty one (a 0-byte storage).
            self.register_buffer("scale", torch.full((1,), 0.5).expand(4))
            self.register_buffer("unused", torch.empty(0))

        def forward(self, x):
            return self.head(self.encoder(x))

    torch.manual_seed(3000)
    model = Tagger().eval()
    x = torch.randn(2, 5, 3)
    with torch.no_grad():
        expected = rnn_result("lstm", model.encoder.rnn(x))
        whole = model(x)
    paths["script_lstm_nested"] = ts_case(
        "script_lstm_nested", torch.jit.script(model), how="script", prefix="encoder.rnn", mode="lstm",
        inputs={"input": x}, expected=expected, module_output=whole, num_layers=2, batch_first=True, input_size=3,
        hidden_size=4, seq_len=5, batch=2, run_saved=lambda m: m(x),
        notes="torch.jit.script of a model with encoder.rnn = nn.LSTM(3, 4, num_layers=2, batch_first=True) and "
              "head = nn.Linear(4, 2), and buffers scale (stride 0) and unused (0 elements); expected.npz is "
              "encoder.rnn's")

    class BiGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 4, bidirectional=True)

        def forward(self, x):
            return self.rnn(x)

    torch.manual_seed(3001)
    model = BiGRU().eval()
    x = torch.randn(4, 2, 3)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(model, (x,))
        whole = model(x)
    paths["trace_gru_bi"] = ts_case(
        "trace_gru_bi", traced, how="trace", prefix="rnn", mode="gru", inputs={"input": x},
        expected=rnn_result("gru", whole), module_output=whole, bidirectional=True, input_size=3, hidden_size=4,
        seq_len=4, batch=2, run_saved=lambda m: m(x),
        notes="torch.jit.trace of a module with rnn = nn.GRU(3, 4, bidirectional=True)")

    torch.manual_seed(3002)
    rnn = nn.RNN(2, 3, nonlinearity="relu").eval()
    x = torch.randn(5, 3, 2)
    h0 = torch.randn(1, 3, 3)
    with torch.no_grad():
        whole = rnn(x, h0)
    paths["script_rnn_relu"] = ts_case(
        "script_rnn_relu", torch.jit.script(rnn), how="script", prefix="", mode="rnn", nonlinearity="relu",
        inputs={"input": x, "h0": h0}, expected=rnn_result("rnn", whole), module_output=whole, input_size=2,
        hidden_size=3, seq_len=5, batch=3, new_root="my_model_v2",
        run_saved=lambda m: m.forward__0(x, h0),  # a scripted nn.RNN has no `forward`: overloads forward__0/__1
        notes="torch.jit.script(nn.RNN(2, 3, nonlinearity='relu')) saved directly; archive written to a buffer and "
              "rewritten with its top folder my_model_v2/ (zip entries stored, no alignment padding); "
              "torch.jit.load reads it. The scripted nn.RNN has no forward method, only the overloads "
              "forward__0 (Tensor) and forward__1 (PackedSequence)")

    class Inner(nn.Module):
        def __init__(self):
            super().__init__()
            self.decoder = nn.LSTMCell(3, 4)

    class Wrapper(nn.Module):
        def __init__(self):
            super().__init__()
            self._model = Inner()

        def forward(self, x, h, c):
            return self._model.decoder(x, (h, c))

    torch.manual_seed(3003)
    model = Wrapper().eval()
    cell = model._model.decoder
    x = torch.randn(6, 3)
    h, c = torch.zeros(4), torch.zeros(4)
    hs = []
    with torch.no_grad():
        for t in range(6):
            h, c = cell(x[t], (h, c))
            hs.append(h)
        whole = model(x[0], torch.zeros(4), torch.zeros(4))
    expected = {"output": torch.stack(hs), "h_n": h.reshape(1, 4), "c_n": c.reshape(1, 4)}
    paths["script_lstmcell"] = ts_case(
        "script_lstmcell", torch.jit.script(model), how="script", prefix="_model.decoder", mode="lstm", cell=True,
        unbatched=True, inputs={"input": x}, expected=expected, module_output=whole, input_size=3, hidden_size=4,
        seq_len=6, batch=None, run_saved=lambda m: m(x[0], torch.zeros(4), torch.zeros(4)),
        notes="torch.jit.script of a module with _model.decoder = nn.LSTMCell(3, 4); as make_torch_fixtures.py's "
              "cell case: unbatched input [T, I] stepped from zero h and c, output = the stacked h [T, H], "
              "h_n/c_n the last [1, H]")
    return paths


# --------------------------------------------------------------------------- data.pkl

class _Stub:
    """Anything a TorchScript data.pkl names: takes any arguments and any state."""
    def __init__(self, *args, **kwargs):
        self.args = args

    def __setstate__(self, state):
        self.state = state

    def __setitem__(self, key, value):
        pass

    def append(self, value):
        pass

    def extend(self, values):
        pass


class _Probe(pickle.Unpickler):
    def __init__(self, f):
        super().__init__(f)
        self.tensors, self.storages = [], {}

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            def rebuild(storage, offset, size, stride, *rest):
                self.tensors.append((storage, offset, tuple(size), tuple(stride)))
                return _Stub()
            return rebuild
        return type(name, (_Stub,), {"__module__": module})

    def persistent_load(self, pid):
        # ('storage', <storage type>, key, location, numel)
        self.storages[pid[2]] = (pid[1].__name__ if isinstance(pid[1], type) else str(pid[1]), pid[4])
        return pid[2]


def pickle_summary(path, show=False):
    root = archive_root(path)
    with zipfile.ZipFile(path) as z:
        data = z.read(f"{root}/data.pkl")
        sizes = {n: z.getinfo(n).file_size for n in z.namelist()}
    globals_, opcodes = [], {}
    for op, arg, _ in pickletools.genops(data):
        opcodes[op.name] = opcodes.get(op.name, 0) + 1
        if op.name == "GLOBAL" and arg not in globals_:
            globals_.append(arg)
    probe = _Probe(io.BytesIO(data))
    probe.load()
    empty = [k for k in probe.storages if sizes.get(f"{root}/data/{k}", -1) == 0]
    zero_stride = [t for t in probe.tensors if 0 in t[3] and int(np.prod(t[2])) > 1]
    print(f"  {os.path.relpath(path, ROOT)}: root {root}/, entries {sorted(n.split('/', 1)[1] for n in sizes)}")
    print(f"    GLOBALs: {globals_}")
    print(f"    opcodes: {dict(sorted(opcodes.items()))}")
    print(f"    storages {len(probe.storages)} ({sorted(set(v[0] for v in probe.storages.values()))}), "
          f"tensors rebuilt {len(probe.tensors)}, storages of 0 bytes {empty}, zero-stride tensors {zero_stride}")
    if show:
        pickletools.dis(data)


# --------------------------------------------------------------------------- main

def folder_bytes(folder):
    return sum(os.path.getsize(os.path.join(d, n)) for d, _, ns in os.walk(folder) for n in ns)


def main():
    torch.set_num_threads(1)
    # torch.jit.script/save/load are deprecated (FutureWarning); the dynamo exporter logs a warning per torchvision op
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.jit")
    logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)
    show = sys.argv[sys.argv.index("--dis") + 1] if "--dis" in sys.argv else None
    for out in (ONNX_OUT, TS_OUT):
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
    make_legacy_cases()
    dynamo = make_dynamo_cases()
    make_helper_cases()
    paths = make_torchscript_cases()
    print("--- TorchScript data.pkl")
    for name, path in paths.items():
        pickle_summary(path, show=name == show)
    for out, cases in ((ONNX_OUT, onnx_cases), (TS_OUT, ts_cases)):
        with open(os.path.join(out, "cases.json"), "w", encoding="utf-8") as f:
            json.dump({"cases": cases}, f, indent=1)
            f.write("\n")
    print("--- dynamo: " + "; ".join(f"{k}: recurrent nodes {v['recurrent']}, external initializers "
                                    f"{len(v['external'])}, model.onnx.data {v['data_size']} bytes"
                                    for k, v in dynamo.items()))
    sizes = {os.path.relpath(o, ROOT): folder_bytes(o) for o in (ONNX_OUT, TS_OUT)}
    print(f"onnx fixtures: {len(onnx_cases)} cases, torchscript fixtures: {len(ts_cases)} cases; bytes {sizes}, "
          f"total {sum(sizes.values())} (torch {torch.__version__}, onnx {onnx.__version__}, "
          f"onnxruntime {ort.__version__})")


if __name__ == "__main__":
    main()
