#!/usr/bin/env python3
"""Regenerates Fixtures/checkpoints/: PyTorch checkpoints written by torch.save itself, for
TorchCheckpointFormat (Sources/TensorIO/PyTorch), plus expected.json describing what each holds.

Usage (from anywhere):  tools/.venv-torch/bin/python tools/make_checkpoint_fixtures.py
(tools/requirements-torch.txt; CPU only. Never needed by CI.)

Files (torch.save's zip format unless said otherwise):
  state_dict.pt  nn.RNN(3, 4, num_layers=2, bidirectional=True).state_dict()
  nested.pt      {"epoch": 3, "model": Net().state_dict() (Net.rnn = nn.LSTM(3, 4), Net.fc =
                 nn.Linear(4, 2)), "optimizer": Adam(...).state_dict() after one step, "best": 0.5}
  half.pt        nn.GRU(3, 4).half().state_dict()
  bf16.pt        nn.GRU(3, 4).to(torch.bfloat16).state_dict()
  float64.pt     nn.LSTM(2, 3).double().state_dict()
  views.pt       a dict of tensors sharing one storage: w, its transpose w.t(), the slice w[1:],
                 a strided 3-d view; plus an int64 and a bool tensor
  dtypes.pt      int8, uint8, int16, int32, uint16, uint32, uint64 (the last three as
                 torch._utils._rebuild_tensor_v3 with an UntypedStorage), a 0-d and an empty
                 tensor, an nn.Parameter, a list and a tuple of tensors, non-tensor values
  protocol4.pt   {"rnn": nn.RNN(2, 3).state_dict(), "shape": torch.Size([2, 3])} with
                 pickle_protocol=4 (FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL)
  tensor.pt      a bare tensor (torch.save(tensor)): read as one tensor named after the file, "tensor"
  legacy.pt      the same state_dict as state_dict.pt, _use_new_zipfile_serialization=False (refused
                 by our reader, though torch reads it)
  malicious.pt   a hand-made pickle whose object __reduce__s to os.system("echo pwned"), stored in
                 torch's zip layout with torch's own writer (refused)

expected.json (sorted keys, indent 1), the schema of Fixtures/formats/manifest.json:
  {"files": {"<name>.pt": {"tensors": [{"name", "dtype", "shape", "hex"}, ...], "metadata": {}}},
   "refused": {"<name>.pt": "<reason>"}}
Tensor names are the checkpoint's nested dicts flattened with dots, in pickle order: dict keys
(strings, ints) and list/tuple indices are the name parts; values that hold no tensor are left
out; a checkpoint that is a single tensor gives one tensor named after the file. "hex" is the tensor's bytes in row-major order, little-endian (bool: one byte 00/01).

Every readable fixture is checked to load with torch.load(weights_only=True) (protocol4.pt:
weights_only=False, torch's restricted unpickler has no FRAME); the refused ones
are checked to be refused by it. Deterministic: fixed seeds, and torch.save's zip entries carry
no timestamps; running it again gives byte-identical files.
"""
import io
import json
import os
import pickle
import pickletools
import shutil

import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Fixtures", "checkpoints")

DTYPE_NAMES = {
    torch.float16: "float16", torch.bfloat16: "bfloat16", torch.float32: "float32",
    torch.float64: "float64", torch.int8: "int8", torch.int16: "int16", torch.int32: "int32",
    torch.int64: "int64", torch.uint8: "uint8", torch.uint16: "uint16", torch.uint32: "uint32",
    torch.uint64: "uint64", torch.bool: "bool",
}

expected = {"files": {}, "refused": {}}


def flatten(value, prefix):
    """(name, tensor) pairs of `value`, as the Swift reader names them (a bare tensor: `prefix`)."""
    if isinstance(value, torch.Tensor):
        return [(prefix, value)]
    if isinstance(value, dict):
        assert all(isinstance(k, (str, int)) for k in value), "keys must be strings or ints"
        items = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, (list, tuple)):
        items = [(str(i), v) for i, v in enumerate(value)]
    else:
        return []
    result = []
    for key, item in items:
        result += flatten(item, f"{prefix}.{key}" if prefix is not None else key)
    return result


def tensor_entry(name, tensor):
    tensor = tensor.detach().contiguous()
    # Bytes through an untyped view: numpy has no bfloat16 (nor, in some versions, uint16..uint64).
    raw = tensor.reshape(-1).view(torch.uint8) if tensor.element_size() > 0 and tensor.numel() > 0 \
        else torch.empty(0, dtype=torch.uint8)
    data = bytes(raw.numpy().tobytes())
    assert torch.tensor([1], dtype=torch.int32).numpy().tobytes() == b"\x01\0\0\0"  # little-endian host
    return {"name": name, "dtype": DTYPE_NAMES[tensor.dtype], "shape": list(tensor.shape), "hex": data.hex()}


def save(name, obj, weights_only=True, **options):
    path = os.path.join(OUT, name)
    torch.save(obj, path, **options)
    loaded = torch.load(path, weights_only=weights_only)
    stem = os.path.splitext(name)[0]
    pairs = flatten(loaded, None if not isinstance(obj, torch.Tensor) else stem)
    original = flatten(obj, None if not isinstance(obj, torch.Tensor) else stem)
    assert [n for n, _ in pairs] == [n for n, _ in original], name
    for (_, a), (_, b) in zip(pairs, original):
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b.detach()), name
    names = [n for n, _ in pairs]
    assert len(names) == len(set(names)), name
    expected["files"][name] = {"tensors": [tensor_entry(n, t) for n, t in pairs], "metadata": {}}


def refuse(name, reason, torch_refuses):
    """Records a file our reader refuses; `torch_refuses` says whether torch.load(weights_only=True) does too."""
    path = os.path.join(OUT, name)
    try:
        torch.load(path, weights_only=True)
    except Exception:
        assert torch_refuses, f"torch.load(weights_only=True) refused {name}"
    else:
        assert not torch_refuses, f"torch.load(weights_only=True) accepted {name}"
    expected["refused"][name] = reason


def make_state_dict():
    torch.manual_seed(1)
    save("state_dict.pt", nn.RNN(3, 4, num_layers=2, bidirectional=True).state_dict())


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 4)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out)


def make_nested():
    torch.manual_seed(2)
    model = Net()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    loss = model(torch.randn(5, 2, 3)).square().mean()
    loss.backward()
    optimizer.step()
    save("nested.pt", {"epoch": 3, "model": model.state_dict(), "optimizer": optimizer.state_dict(), "best": 0.5})


def make_dtypes_of_models():
    torch.manual_seed(3)
    save("half.pt", nn.GRU(3, 4).half().state_dict())
    torch.manual_seed(4)
    save("bf16.pt", nn.GRU(3, 4).to(torch.bfloat16).state_dict())
    torch.manual_seed(5)
    save("float64.pt", nn.LSTM(2, 3).double().state_dict())


def make_views():
    w = torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.5 - 1
    cube = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    save("views.pt", {
        "w": w,
        "wt": w.t(),                          # strides (1, 4)
        "tail": w[1:],                        # storage offset 4
        "cube": cube,
        "cube_view": cube.permute(2, 0, 1)[1:, :, ::2],  # offset 1, strides (1, 12, 8)
        "steps": torch.tensor([[1, -2, 3], [2**40, -(2**62), 0]], dtype=torch.int64),
        "mask": torch.tensor([True, False, False, True, True]),
    })


def make_dtypes():
    torch.manual_seed(6)
    ints = torch.tensor([0, 1, 2, 100, 127, 5])
    save("dtypes.pt", {
        "i8": torch.tensor([-128, -1, 0, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 1, 200, 255], dtype=torch.uint8),
        "i16": torch.tensor([[-32768, 300], [0, 32767]], dtype=torch.int16),
        "i32": torch.tensor([-(2**31), 7, 2**31 - 1], dtype=torch.int32),
        "u16": torch.tensor([0, 1, 65535], dtype=torch.uint16),
        "u32": ints.to(torch.uint32).reshape(2, 3).t(),  # a v3 tensor that is a view
        "u64": torch.tensor([0, 2**63 + 5], dtype=torch.uint64),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
        "param": nn.Parameter(torch.tensor([1.0, -1.0])),
        "layers": [torch.tensor([1.0]), {"bias": torch.tensor([2.0, 3.0])}, "not a tensor"],
        "pair": (torch.tensor([4], dtype=torch.int16), 9),
        "note": "text is ignored",
        "numbers": [1, 2.5, None, True],
        7: torch.tensor([7.0], dtype=torch.float64),
    })


def canonical_legacy(data):
    """The legacy file `data` with its storages renamed 0, 1, … in order of first use.

    The legacy format names storages by their memory addresses and writes them sorted by name, so
    each run gives other bytes. Layout: five pickles (magic number, protocol version, system info,
    the object, the sorted storage names), then per storage an 8-byte little-endian element count
    and the data. The names are zero-padded to their old length, so the object pickle keeps its size.
    """
    stream = io.BytesIO(data)
    ends = []
    for _ in range(5):
        for opcode, _, _ in pickletools.genops(stream):
            if opcode.name == "STOP":
                break
        ends.append(stream.tell())
    old_keys = pickle.loads(data[ends[3]:ends[4]])
    assert old_keys == sorted(old_keys) and len({len(k) for k in old_keys}) == 1
    blocks, at = {}, ends[4]
    for key in old_keys:
        count = int.from_bytes(data[at:at + 8], "little")
        blocks[key] = data[at:at + 8 + 4 * count]  # float32 storages only
        at += 8 + 4 * count
    assert at == len(data)
    obj = data[ends[2]:ends[3]]
    order = sorted(old_keys, key=lambda k: obj.index(k.encode()))
    renamed = {key: str(rank).zfill(len(key)) for rank, key in enumerate(order)}
    for key, new in renamed.items():
        assert obj.count(key.encode()) == 1, key
        obj = obj.replace(key.encode(), new.encode())
    new_keys = pickle.dumps(sorted(renamed.values()), protocol=2)
    return data[:ends[2]] + obj + new_keys + b"".join(blocks[k] for k in order)


def make_protocol4():
    torch.manual_seed(7)
    state = nn.RNN(2, 3).state_dict()
    # torch.load(weights_only=True) refuses FRAME (a protocol 4 opcode that only groups bytes); we read it.
    save("protocol4.pt", {"rnn": state, "shape": torch.Size([2, 3])}, pickle_protocol=4, weights_only=False)
    save("tensor.pt", torch.arange(6, dtype=torch.float32).reshape(2, 3))


def make_legacy():
    torch.manual_seed(1)
    path = os.path.join(OUT, "legacy.pt")
    state_dict = nn.RNN(3, 4, num_layers=2, bidirectional=True).state_dict()
    buffer = io.BytesIO()
    torch.save(state_dict, buffer, _use_new_zipfile_serialization=False)
    data = canonical_legacy(buffer.getvalue())
    with open(path, "wb") as f:
        f.write(data)
    reloaded = torch.load(path, weights_only=True)
    assert all(torch.equal(reloaded[k], v) for k, v in state_dict.items())
    refuse("legacy.pt", "legacy_format", torch_refuses=False)  # torch reads it; we do not


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def make_malicious():
    data = pickle.dumps({"weight": Evil()}, protocol=2)
    global_name = f"{os.system.__module__}.{os.system.__name__}"  # posix.system on Linux
    assert (os.system.__module__ + "\n" + os.system.__name__).encode() in data
    path = os.path.join(OUT, "malicious.pt")
    writer = torch._C.PyTorchFileWriter(path)
    writer.write_record("data.pkl", data, len(data))
    writer.write_record("byteorder", b"little", 6)
    writer.write_record("version", b"3\n", 2)
    writer.write_end_of_file()
    del writer
    refuse("malicious.pt", f"global {global_name}", torch_refuses=True)


def main():
    torch.set_num_threads(1)
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    make_state_dict()
    make_nested()
    make_dtypes_of_models()
    make_views()
    make_dtypes()
    make_protocol4()
    make_legacy()
    make_malicious()
    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, sort_keys=True, indent=1, ensure_ascii=False)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"checkpoints: {len(expected['files'])} files + {len(expected['refused'])} refused, "
          f"{total} bytes in {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    main()
