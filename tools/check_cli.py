#!/usr/bin/env python3
"""End-to-end check of the command-line tools with the tools users already have (numpy, h5py).

Usage: check_cli.py BIN_DIR   (the folder holding rnn-convert, rnn-run, rnn-verify, rnn-inspect)

For every case in Fixtures/torch: rnn-convert NPZ -> HDF5 -> NPZ -> safetensors, each output read with h5py /
numpy / the safetensors package and compared with the module's tensors in the source exactly (the same set of
names, dtypes, bytes) plus the configuration metadata; rnn-run's outputs compared with torch's expected outputs
(numpy.allclose, the README's tolerances); rnn-verify exits 0; nothing but the outputs is left in the folder.
Then the contract: overwrite without --force exits 2 and leaves the old file byte-identical, and every exit
code (0, 1, 2, 64) occurs where it should. Prints one line per problem; exits 1 if any.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from safetensors import safe_open

from tensor_files import read_h5, read_npz  # same folder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH = os.path.join(ROOT, "Fixtures", "torch")
problems = []


def problem(text):
    problems.append(text)
    print("FAIL: " + text)


def run(bin_dir, tool, *args):
    return subprocess.run([os.path.join(bin_dir, tool), *args], capture_output=True, text=True, timeout=120)


def read_safetensors(path):
    """The safetensors package's own reading: every tensor (numpy) and the __metadata__ strings."""
    with safe_open(path, framework="numpy") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})


def module_tensors(source, prefix):
    """The tensors of the RNN module at `prefix` in `source`, by their full names, as rnn-convert writes them
    without --strip-prefix: those under "prefix." (for "" the bare keys, which have no dot). Other modules' tensors
    (fc, an embedding, a second RNN) are not written."""
    return {k: v for k, v in source.items() if (k.startswith(prefix + ".") if prefix else "." not in k)}


def same_tensors(label, got, expected):
    """Checks both ways: every tensor written is one of `expected`, identical, and every one of `expected` was
    written."""
    for name, arr in got.items():
        if name not in expected:
            problem(f"{label}: tensor {name} is not one of the module's tensors in the source")
        elif arr.dtype != expected[name].dtype or arr.shape != expected[name].shape or arr.tobytes() != expected[name].tobytes():
            problem(f"{label}: tensor {name} differs from the source")
    missing = sorted(set(expected) - set(got))
    if missing:
        problem(f"{label}: the module's tensors {missing} were not written")
    if not expected:
        problem(f"{label}: the source has no tensors for this module")


def expect_only_files(label, folder, names):
    """Every file in `folder` is one of `names` (whatever a temporary file's name, none may be left)."""
    unexpected = sorted(set(os.listdir(folder)) - set(names))
    if unexpected:
        problem(f"{label}: unexpected files left in the output folder: {unexpected}")


def check_case(bin_dir, case, work):
    name = case["name"]
    folder = os.path.join(TORCH, name)
    work = os.path.join(work, name)  # a folder per case, so that a file left behind is seen and named
    os.makedirs(work)
    flags = []
    if case["prefix"]:
        flags += ["--prefix", case["prefix"]]
    if case["no_metadata"] and case["nonlinearity"]:
        flags += ["--nonlinearity", case["nonlinearity"]]
    if case["batch_first"] and not case["unbatched"]:
        flags += ["--batch-first"]
    source, _ = read_npz(os.path.join(folder, "model.npz"))
    source = module_tensors(source, case["prefix"])
    h5 = os.path.join(work, name + ".h5")
    back = os.path.join(work, name + ".npz")
    r = run(bin_dir, "rnn-convert", os.path.join(folder, "model.npz"), "-o", h5, *flags)
    if r.returncode != 0:
        return problem(f"{name}: rnn-convert to HDF5 exited {r.returncode}: {r.stderr.strip()}")
    r = run(bin_dir, "rnn-convert", h5, "-o", back)  # no flags: the HDF5 file carries its configuration
    if r.returncode != 0:
        return problem(f"{name}: rnn-convert back to NPZ exited {r.returncode}: {r.stderr.strip()}")
    st = os.path.join(work, name + ".safetensors")
    r = run(bin_dir, "rnn-convert", back, "-o", st)
    if r.returncode != 0:
        return problem(f"{name}: rnn-convert to safetensors exited {r.returncode}: {r.stderr.strip()}")
    for label, (tensors, meta) in [("h5", read_h5(h5)), ("npz", read_npz(back)), ("safetensors", read_safetensors(st))]:
        same_tensors(f"{name} {label}", tensors, source)
        expected_meta = [("mode", case.get("mode", "rnn") + ("_cell" if case["cell"] else "")),
                         ("hidden_size", str(case["hidden_size"])), ("num_layers", str(case["num_layers"])),
                         ("prefix", case["prefix"])]
        if case.get("mode", "rnn") == "rnn":
            expected_meta.append(("nonlinearity", case["nonlinearity"]))
        if case.get("mode") == "lstm":
            expected_meta.append(("proj_size", str(case.get("proj_size", 0))))
        for key, want in expected_meta:
            if meta.get(key) != want:
                problem(f"{name} {label}: metadata {key} = {meta.get(key)!r}, expected {want!r}")
    out = os.path.join(work, name + ".out.npz")
    r = run(bin_dir, "rnn-run", back, os.path.join(folder, "inputs.npz"), "-o", out)
    if r.returncode != 0:
        return problem(f"{name}: rnn-run exited {r.returncode}: {r.stderr.strip()}")
    got, _ = read_npz(out)
    want, _ = read_npz(os.path.join(folder, "expected.npz"))
    rtol, atol = (1e-12, 1e-14) if case["dtype"] == "float64" else (1e-5, 1e-6)
    for key in [k for k in ("output", "h_n", "c_n") if k in want]:
        if key not in got:
            problem(f"{name}: rnn-run wrote no {key}")
            continue
        if got[key].dtype != want[key].dtype or got[key].shape != want[key].shape \
                or not np.allclose(got[key], want[key], rtol=rtol, atol=atol):
            problem(f"{name}: rnn-run's {key} differs from torch's")
    r = run(bin_dir, "rnn-verify", back, os.path.join(folder, "inputs.npz"), os.path.join(folder, "expected.npz"))
    if r.returncode != 0 or "VERIFIED" not in r.stdout:
        problem(f"{name}: rnn-verify exited {r.returncode}: {r.stdout.strip()} {r.stderr.strip()}")
    expect_only_files(name, work, [os.path.basename(p) for p in (h5, back, st, out)])


def expect_exit(label, result, code, stderr_start=None):
    if result.returncode != code:
        problem(f"{label}: exit {result.returncode}, expected {code} ({result.stderr.strip()[:200]})")
    if stderr_start is not None and code == 2:
        lines = result.stderr.strip().splitlines()
        if len(lines) != 1 or not lines[0].startswith("error: " + stderr_start):
            problem(f"{label}: stderr is not one line starting with 'error: {stderr_start}': {result.stderr!r}")


def check_contract(bin_dir, work):
    case = os.path.join(TORCH, "l2_bi_relu_f32")
    model, inputs, expected = (os.path.join(case, f) for f in ("model.npz", "inputs.npz", "expected.npz"))
    # Overwrite without --force: exit 2 and the old file untouched; with --force it is replaced.
    target = os.path.join(work, "existing.h5")
    with open(target, "wb") as f:
        f.write(b"old contents")
    expect_exit("overwrite without --force", run(bin_dir, "rnn-convert", model, "-o", target), 2, target)
    if open(target, "rb").read() != b"old contents":
        problem("overwrite without --force changed the existing file")
    expect_exit("overwrite with --force", run(bin_dir, "rnn-convert", model, "-o", target, "--force"), 0)
    run_target = os.path.join(work, "existing.npz")
    shutil.copy(target, run_target)
    before = open(run_target, "rb").read()
    expect_exit("rnn-run over an existing file", run(bin_dir, "rnn-run", model, inputs, "-o", run_target), 2, run_target)
    if open(run_target, "rb").read() != before:
        problem("rnn-run without --force changed the existing file")
    expect_only_files("overwriting", work, ["existing.h5", "existing.npz"])

    # Exit 1: a verification mismatch (another case's expected outputs).
    other = os.path.join(TORCH, "l2_bi_tanh_bf_h0_f32", "expected.npz")
    expect_exit("rnn-verify mismatch", run(bin_dir, "rnn-verify", model, inputs, other), 1)
    # Exit 2: unreadable, malformed, not a model, shapes that do not fit, missing output.
    truncated = os.path.join(work, "truncated.npz")
    with open(model, "rb") as f:
        data = f.read()
    with open(truncated, "wb") as f:
        f.write(data[: len(data) // 2])
    expect_exit("missing model", run(bin_dir, "rnn-verify", os.path.join(work, "nope.npz"), inputs, expected), 2, os.path.join(work, "nope.npz"))
    expect_exit("truncated model", run(bin_dir, "rnn-convert", truncated, "-o", os.path.join(work, "t.h5")), 2, truncated)
    not_model = os.path.join(ROOT, "Fixtures", "formats", "npz", "stored.npz")
    expect_exit("not a model", run(bin_dir, "rnn-convert", not_model, "-o", os.path.join(work, "n.h5")), 2, not_model)
    wrong_inputs = os.path.join(TORCH, "l1_uni_tanh_h0_f32", "inputs.npz")
    expect_exit("inputs that do not fit", run(bin_dir, "rnn-run", model, wrong_inputs, "-o", os.path.join(work, "w.npz")), 2, wrong_inputs)
    expect_exit("expected without output", run(bin_dir, "rnn-verify", model, inputs, inputs), 2, inputs)
    two = os.path.join(TORCH, "two_rnns", "model.npz")
    expect_exit("several modules without --prefix", run(bin_dir, "rnn-convert", two, "-o", os.path.join(work, "two.h5")), 2, two)
    expect_exit("bfloat16 to NPZ", run(bin_dir, "rnn-convert", model, "--dtype", "bfloat16", "-o", os.path.join(work, "bf.npz")), 2)
    # PyTorch checkpoints: read (nested, with a prefix), never written; a pickle that calls a function is refused.
    checkpoints = os.path.join(ROOT, "Fixtures", "checkpoints")
    from_pt = os.path.join(work, "from_pt.npz")
    expect_exit("rnn-convert .pt", run(bin_dir, "rnn-convert", os.path.join(checkpoints, "nested.pt"), "--prefix", "model.rnn", "-o", from_pt), 0)
    tensors, meta = read_npz(from_pt)
    # nested.pt (tools/make_checkpoint_fixtures.py) holds an LSTM(3, 4) at model.rnn beside model.fc and an optimizer.
    lstm = {f"model.rnn.{kind}_{matrix}_l0" for kind in ("weight", "bias") for matrix in ("ih", "hh")}
    if meta.get("mode") != "lstm" or set(tensors) != lstm:
        problem(f"rnn-convert .pt wrote {sorted(tensors)} with {meta}, expected {sorted(lstm)}")
    malicious = os.path.join(checkpoints, "malicious.pt")
    r = run(bin_dir, "rnn-inspect", malicious)
    expect_exit("malicious pickle", r, 2, malicious)
    if "system" not in r.stderr:
        problem(f"the malicious pickle's error does not name the refused global: {r.stderr!r}")
    # An output format no command writes is a usage error (64), the same rule for rnn-run and rnn-convert.
    pt_run = run(bin_dir, "rnn-run", model, inputs, "-o", os.path.join(work, "out.pt"))
    expect_exit("writing .pt", pt_run, 64)
    if "unknown extension \".pt\"" not in pt_run.stderr:
        problem(f"writing .pt: the usage error does not name the extension: {pt_run.stderr!r}")
    if os.path.exists(os.path.join(work, "out.pt")):
        problem("a refused .pt write left a file")
    # Fixtures/malformed (tools/make_malformed.py): every broken file makes rnn-inspect exit 2 with one stderr line
    # naming it. A valid container holding a broken RNN is a file rnn-inspect can list (exit 0, the reason in its
    # report); converting it is what fails, with exit 2 and one line.
    malformed = os.path.join(ROOT, "Fixtures", "malformed")
    with open(os.path.join(malformed, "manifest.json")) as f:
        broken = json.load(f)
    for rel in sorted(broken["files"]):
        bad = os.path.join(malformed, rel)
        expect_exit(f"rnn-inspect malformed/{rel}", run(bin_dir, "rnn-inspect", bad), 2, bad)
    for rel, want in sorted(broken["models"].items()):
        bad = os.path.join(malformed, rel)
        out = os.path.join(work, "broken.h5")
        expect_exit(f"rnn-convert malformed/{rel}", run(bin_dir, "rnn-convert", bad, "-o", out), 2, bad)
        if os.path.exists(out):
            problem(f"rnn-convert malformed/{rel} left {out}")
        r = run(bin_dir, "rnn-inspect", bad)
        # Several modules are not an error for rnn-inspect, which lists each; the others explain the problem.
        shown = want["description"] if want["error"] != "ambiguous" else "RNN modules:"
        if r.returncode != 0 or shown not in r.stdout:
            problem(f"rnn-inspect malformed/{rel}: exit {r.returncode}, report lacks {shown!r}: {r.stdout[-300:]!r}")
    # Exit 64: usage errors keep swift-argument-parser's behaviour.
    expect_exit("missing argument", run(bin_dir, "rnn-verify", model), 64)
    expect_exit("bad nonlinearity", run(bin_dir, "rnn-run", model, inputs, "-o", os.path.join(work, "x.npz"), "--nonlinearity", "sigmoid"), 64)
    # JSON outputs: exit 0, then the output parses.
    for tool, args in [("rnn-inspect", [model, "--json"]), ("rnn-verify", [model, inputs, expected, "--json"])]:
        r = run(bin_dir, tool, *args)
        if r.returncode != 0:
            problem(f"{tool} --json exited {r.returncode}: {r.stderr.strip()[:200]}")
            continue
        try:
            json.loads(r.stdout)
        except ValueError:
            problem(f"{tool} --json did not print one JSON object: {r.stdout[:200]!r}")
    # --dtype float16 to HDF5: h5py reads float16 values equal to numpy's own rounding.
    half = os.path.join(work, "half.h5")
    expect_exit("--dtype float16", run(bin_dir, "rnn-convert", model, "--dtype", "float16", "-o", half), 0)
    tensors, _ = read_h5(half)
    source, _ = read_npz(model)
    same_tensors("--dtype float16", tensors, {k: v.astype(np.float16) for k, v in module_tensors(source, "").items()})
    # Everything the contract wrote that should be there; a failed or refused write leaves nothing.
    expect_only_files("the exit-code contract", work, ["existing.h5", "existing.npz", "truncated.npz", "from_pt.npz", "half.h5"])


def main():
    bin_dir = sys.argv[1]
    with open(os.path.join(TORCH, "cases.json")) as f:
        cases = json.load(f)["cases"]
    work = tempfile.mkdtemp(prefix="rnn-cli-")
    try:
        for case in cases:
            check_case(bin_dir, case, work)
        contract = os.path.join(work, "contract")
        os.makedirs(contract)
        check_contract(bin_dir, contract)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if problems:
        print(f"cli: {len(problems)} problems")
        sys.exit(1)
    print(f"cli: {len(cases)} cases and the exit-code contract OK")


if __name__ == "__main__":
    main()
