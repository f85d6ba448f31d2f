#!/usr/bin/env python3
"""Regenerates Fixtures/malformed/: broken NPY, NPZ, HDF5, safetensors and PyTorch checkpoint files, each with
the exact error the reader must give, plus valid containers that hold a broken RNN state_dict.

Usage (from anywhere):  tools/.venv/bin/python tools/make_malformed.py

Files are built byte by byte (zip archives and pickles by hand, so that every field can be made wrong on
purpose; HDF5 with h5py, then patched), from small valid bases, and cover: truncation at several offsets, byte
flips at chosen places whose outcome is certain, header abuse (huge header lengths, negative or overflowing
shapes, bad or object dtypes, bad magic), zip bombs (a declared size beyond deflate's ratio, an entry that
inflates past its declared size), path tricks (.., absolute, NUL, duplicate names), CRC mismatches, and hostile
pickles. The expected error of each is stated here, from the format's rules and the reader's documented
checks, not recorded from a run.

manifest.json (sorted keys, indent 1):
  {"files":  {"<path under Fixtures/malformed>": {"kind": "<TensorFileError.Problem.kind>",
                                                  "tensor": "<name>" or null, "why": "<what is broken>"}},
   "models": {"models/<file>": {"error": "<RNNLoadError case>", "description": "<substring of its description>",
                                "why": "<what is wrong>"}}}
"tensor" is the name the error carries: an NPY file's stem, an NPZ member's array name (the NPY inside
`weight.npy` is "weight") or a zip entry's full name when the zip directory itself is at fault.

Deterministic: no timestamps anywhere (zip dates are 1980-01-01, HDF5 datasets untracked), fixed values;
running it again gives byte-identical files.
"""
import io
import json
import os
import shutil
import struct
import zlib

import h5py
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Fixtures", "malformed")

manifest = {"files": {}, "models": {}}


def write(rel, data):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(bytes(data))
    return path


def expect(rel, data, kind, tensor, why):
    """Writes `data` (bytes, or None when the file is already written) and records the expected error."""
    assert rel not in manifest["files"], rel
    if data is not None:
        write(rel, data)
    manifest["files"][rel] = {"kind": kind, "tensor": tensor, "why": why}


def stem(rel):
    return os.path.splitext(os.path.basename(rel))[0]


def flip(data, offset, new):
    """`data` with the byte at `offset` replaced by `new` (which must differ)."""
    data = bytearray(data)
    assert data[offset] != new, (offset, new)
    data[offset] = new
    return bytes(data)


# --------------------------------------------------------------------------- NPY

def npy(arr, version=(1, 0)):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(arr), version=version, allow_pickle=False)
    return buffer.getvalue()


def npy_with_header(text, data=b"", version=(1, 0), length=None):
    """An NPY file with the header dict `text` (padded as numpy pads it), then `data`."""
    body = text.encode("latin-1" if version < (3, 0) else "utf-8")
    prefix = 10 if version == (1, 0) else 12
    padded = body + b" " * ((64 - (prefix + len(body) + 1) % 64) % 64) + b"\n"
    n = len(padded) if length is None else length
    size = struct.pack("<H", n) if version == (1, 0) else struct.pack("<I", n)
    return b"\x93NUMPY" + bytes(version) + size + padded + data


WEIGHT = np.arange(6, dtype="<f4").reshape(2, 3)  # first data byte 0x00: 0.0
BIAS = np.array([0.5, -1.0, 2.0], dtype="<f4")


def make_npy():
    base = npy(WEIGHT)
    assert len(base) == 128 + 24 and base[128] == 0
    header_end = 128
    for cut in (8, 50, 127, 140):
        kind_why = "the file ends inside the " + ("magic and version" if cut < 10 else "header" if cut < header_end else "data")
        rel = f"npy/truncated_at_{cut}.npy"
        expect(rel, base[:cut], "truncated", stem(rel), kind_why)
    expect("npy/truncated_at_3.npy", base[:3], "unknownFormat", None, "3 bytes: not even the NPY magic")
    expect("npy/empty.npy", b"", "truncated", None, "an empty file")
    expect("npy/trailing_bytes.npy", base + b"\0\0\0\0", "trailingBytes", "trailing_bytes", "4 bytes after the data")
    expect("npy/bad_magic.npy", flip(base, 5, ord("Z")), "unknownFormat", None, "magic \\x93NUMPZ")
    expect("npy/flip_version.npy", flip(base, 6, 9), "unsupportedFeature", "flip_version", "version 9.0")
    # Header length one larger: the header then takes in the first data byte (0x00), which is no Python literal.
    expect("npy/flip_header_length.npy", flip(base, 8, base[8] + 1), "malformed", "flip_header_length",
           "header length byte +1: the dict is followed by a NUL")
    descr_at = base.index(b"<f4")
    expect("npy/flip_descr_size.npy", flip(base, descr_at + 2, ord("3")), "unsupportedDType", "flip_descr_size",
           "descr <f3")
    shape_at = base.index(b"(2, 3)")
    expect("npy/flip_shape_digit.npy", flip(base, shape_at + 1, ord("9")), "truncated", "flip_shape_digit",
           "shape (9, 3) needs 108 bytes of data, 24 follow")
    expect("npy/huge_header_length_v2.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + b"{}",
           "tooLarge", "huge_header_length_v2", "version 2.0 header of 4 GiB")
    expect("npy/header_length_past_end.npy", npy_with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
                                                              length=65535), "truncated", "header_length_past_end",
           "a 65535-byte header in a 64-byte file")
    def header(rel, text, kind, why, data=b"", version=(1, 0)):
        expect(rel, npy_with_header(text, data, version), kind, stem(rel), why)
    header("npy/negative_shape.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }", "invalidShape",
           "shape (-1, 3)")
    header("npy/overflowing_shape.npy", f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({2**62}, {2**62}), }}",
           "invalidShape", "shape (2^62, 2^62): the element count overflows")
    header("npy/shape_beyond_int64.npy", f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({2**70},), }}",
           "malformed", "a dimension of 2^70 is no 64-bit integer")
    header("npy/terabyte_shape.npy", f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({2**40},), }}",
           "truncated", "4 TiB declared, nothing follows: refused before allocating")
    header("npy/object_dtype.npy", "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", "unsupportedDType",
           "object array (would need pickle)", data=b"\0" * 8)
    header("npy/structured_dtype.npy", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
           "unsupportedDType", "structured dtype", data=b"\0" * 4)
    header("npy/no_byte_order.npy", "{'descr': 'f4', 'fortran_order': False, 'shape': (1,), }", "unsupportedDType",
           "descr without a byte-order mark", data=b"\0" * 4)
    header("npy/fortran_order_not_bool.npy", "{'descr': '<f4', 'fortran_order': 'yes', 'shape': (1,), }",
           "malformed", "fortran_order 'yes'", data=b"\0" * 4)
    header("npy/missing_shape.npy", "{'descr': '<f4', 'fortran_order': False, }", "malformed", "no shape key")
    header("npy/unknown_key.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1, }", "malformed",
           "an extra key", data=b"\0" * 4)
    header("npy/header_not_dict.npy", "['descr', '<f4']", "malformed", "the header is a list")
    header("npy/header_call.npy", "{'descr': __import__('os'), 'fortran_order': False, 'shape': (1,), }", "malformed",
           "the header holds a call, which is never evaluated")
    header("npy/v3_invalid_utf8.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'é': 1}", "malformed",
           "version 3.0 header that is not UTF-8", data=b"\0" * 4, version=(3, 0))
    # Patch the v3 header's é (UTF-8 C3 A9) into a lone continuation byte.
    rel = "npy/v3_invalid_utf8.npy"
    path = os.path.join(OUT, rel)
    raw = open(path, "rb").read()
    write(rel, raw.replace("é".encode(), b"\xa9\xa9"))
    header("npy/bool_byte_2.npy", "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", "malformed",
           "a bool element holds 2", data=b"\x00\x01\x02")
    header("npy/two_strings.npy", "{'descr': '<U2', 'fortran_order': False, 'shape': (2,), }", "unsupportedDType",
           "an array of two strings", data=b"\0" * 16)
    header("npy/bad_code_point.npy", "{'descr': '<U1', 'fortran_order': False, 'shape': (), }", "malformed",
           "a string holding U+110000", data=struct.pack("<I", 0x110000))


# --------------------------------------------------------------------------- zip archives

DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01


def member(name, raw, deflate=False):
    """A zip entry: name (str or bytes), the bytes stored in the file, and its header fields."""
    if deflate:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        payload = c.compress(raw) + c.flush()
    else:
        payload = raw
    return {"name": name.encode() if isinstance(name, str) else name, "payload": payload,
            "method": 8 if deflate else 0, "crc": zlib.crc32(raw), "csize": len(payload), "usize": len(raw),
            "flags": 0}


def archive(entries, eocd=None, before_eocd=b""):
    """The zip archive of `entries`. An entry may override central-directory fields with "central_*" keys,
    local-header fields with "local_*" keys, or its local header offset with "offset"; `eocd` overrides fields
    of the end record (count, size, offset, disk)."""
    out = bytearray()
    central = bytearray()
    for e in entries:
        offset = len(out)
        local_name = e.get("local_name", e["name"])
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, e["flags"], e.get("local_method", e["method"]), 0, DOS_DATE,
                           e.get("local_crc", e["crc"]), e["csize"], e["usize"], len(local_name), 0)
        out += local_name + e["payload"]
        name = e.get("central_name", e["name"])
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, e.get("central_flags", e["flags"]), e["method"],
                               0, DOS_DATE, e.get("central_crc", e["crc"]), e.get("central_csize", e["csize"]),
                               e.get("central_usize", e["usize"]), len(name), 0, 0, 0, 0, 0, e.get("offset", offset))
        central += name
    eocd = eocd or {}
    cd_offset = len(out)
    out += central + before_eocd
    count = eocd.get("count", len(entries))
    out += struct.pack("<IHHHHIIH", 0x06054B50, eocd.get("disk", 0), 0, count, count,
                       eocd.get("size", len(central)), eocd.get("offset", cd_offset), 0)
    return bytes(out)


def npz_members(deflate=False):
    return [member("weight.npy", npy(WEIGHT), deflate), member("bias.npy", npy(BIAS), deflate)]


def make_npz():
    base = archive(npz_members())
    weight_data = base.index(npy(WEIGHT)) + 128  # the stored data of weight.npy
    for cut in (2, 100, 400, len(base) - 1):
        rel = f"npz/truncated_at_{cut}.npz"
        if cut == 2:
            expect(rel, base[:cut], "unknownFormat", None, "2 bytes: not even a zip signature")
        else:
            expect(rel, base[:cut], "malformed", None, "no end-of-central-directory record")
    expect("npz/crc_mismatch.npz", flip(base, weight_data + 5, base[weight_data + 5] ^ 0x40), "checksumMismatch",
           "weight", "a flipped bit in weight.npy's stored data")
    # The same, for a deflated entry: its recorded CRC-32 is wrong (a flip in compressed data has no certain outcome).
    entries = npz_members(deflate=True)
    entries[0]["crc"] ^= 1
    expect("npz/crc_mismatch_deflated.npz", archive(entries), "checksumMismatch", "weight",
           "the directory's CRC-32 of a deflated member is off by one bit")
    # Zip bombs.
    entries = npz_members(deflate=True)
    entries[0]["central_usize"] = entries[0]["csize"] * 1032 + 65
    expect("npz/bomb_declared_ratio.npz", archive(entries), "tooLarge", "weight.npy",
           "declares more bytes than deflate can produce from its compressed size")
    raw = npy(WEIGHT)
    entries = npz_members(deflate=True)
    entries[0] = member("weight.npy", raw + b"\0" * 4096, deflate=True)
    entries[0]["usize"] = len(raw)
    entries[0]["crc"] = zlib.crc32(raw)
    expect("npz/inflates_past_declared.npz", archive(entries), "malformed", "weight",
           "the deflate stream goes on 4096 bytes past the declared size")
    entries = npz_members(deflate=True)
    entries[0]["usize"] += 64
    expect("npz/declared_past_stream.npz", archive(entries), "trailingBytes", "weight",
           "declares 64 bytes more than the NPY inside needs")
    entries = npz_members(deflate=True)
    entries[0]["payload"] = entries[0]["payload"][: len(entries[0]["payload"]) // 3]
    entries[0]["csize"] = len(entries[0]["payload"])
    assert len(zlib.decompressobj(-15).decompress(entries[0]["payload"])) < 128  # less than the NPY header
    expect("npz/deflate_cut.npz", archive(entries), "truncated", "weight",
           "the deflate stream is cut to a third: it ends before the NPY header does")
    # Path tricks.
    for rel, name, why in [("npz/name_dotdot.npz", "../weight.npy", "a name climbing out with .."),
                           ("npz/name_absolute.npz", "/tmp/weight.npy", "an absolute name"),
                           ("npz/name_backslash.npz", "..\\weight.npy", "a Windows path"),
                           ("npz/name_drive.npz", "C:weight.npy", "a Windows drive"),
                           ("npz/name_nul.npz", "weight\0.npy", "a NUL inside the name")]:
        entries = npz_members()
        entries[0]["name"] = name.encode()
        expect(rel, archive(entries), "unsafeName", name, why)
    entries = npz_members()
    entries[0]["name"] = b"\xffweight.npy"
    expect("npz/name_not_utf8.npz", archive(entries), "unsafeName", None, "a name that is not UTF-8")
    entries = npz_members() + [member("weight.npy", npy(BIAS))]
    expect("npz/duplicate_name.npz", archive(entries), "unsafeName", "weight.npy", "weight.npy twice")
    # A line break in a name is legal in zip; the error that names it must still be one line.
    entries = npz_members()
    entries[0] = member("weight\nw.npy", npy_with_header("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
                                                          b"\0" * 8))
    expect("npz/name_newline.npz", archive(entries), "unsupportedDType", "weight\nw",
           "a member named with a line break, holding an object array")
    # Directory abuse.
    entries = npz_members()
    entries[0]["flags"] = 1
    expect("npz/encrypted.npz", archive(entries), "unsupportedFeature", "weight.npy", "the encryption flag")
    entries = npz_members()
    entries[0]["method"] = 14
    expect("npz/method_lzma.npz", archive(entries), "unsupportedFeature", "weight.npy", "compression method 14")
    entries = npz_members()
    entries[0]["central_csize"] = entries[0]["csize"] - 1
    expect("npz/stored_sizes_differ.npz", archive(entries), "malformed", "weight.npy",
           "a stored entry whose compressed and uncompressed sizes differ")
    entries = npz_members()
    entries[0]["central_csize"] = entries[0]["central_usize"] = entries[0]["csize"] + 1000
    expect("npz/entry_past_directory.npz", archive(entries), "truncated", "weight.npy",
           "a stored entry 1000 bytes longer than the space before the directory")
    entries = npz_members()
    entries[0]["offset"] = 100000
    expect("npz/local_header_outside.npz", archive(entries), "malformed", "weight.npy",
           "the local header offset lies past the directory")
    entries = npz_members()
    entries[1]["local_name"] = b"other.npy"
    expect("npz/local_name_differs.npz", archive(entries), "malformed", "bias.npy",
           "the local header names another entry")
    # weight.npy's stored bytes end with a complete copy of bias.npy's local header and data, and the directory
    # points bias.npy there (archive() also writes an unused local header for it after weight.npy).
    bias = npz_members()[1]
    bias_local = archive([bias])[: 30 + len(b"bias.npy") + bias["csize"]]
    outer = member("weight.npy", npy(WEIGHT) + bias_local)
    bias["offset"] = 30 + len(b"weight.npy") + len(npy(WEIGHT))
    expect("npz/overlapping_entries.npz", archive([outer, bias]), "malformed", "bias.npy",
           "bias.npy's local header lies inside weight.npy's data")
    expect("npz/count_too_large.npz", archive(npz_members(), eocd={"count": 60000}), "malformed", None,
           "the end record counts 60000 entries in a directory of two")
    expect("npz/directory_outside.npz", archive(npz_members(), eocd={"offset": 0x7FFFFFF0}), "malformed", None,
           "the central directory offset lies past the end of the file")
    expect("npz/multi_disk.npz", archive(npz_members(), eocd={"disk": 1}), "unsupportedFeature", None,
           "a multi-disk archive")
    locator = struct.pack("<IIQI", 0x07064B50, 0, 0xFFFFFFF0, 1)
    expect("npz/zip64_locator_outside.npz", archive(npz_members(), before_eocd=locator), "malformed", None,
           "a ZIP64 locator pointing past the file")
    # Valid zip, bad contents.
    entries = npz_members() + [member("notes.txt", b"hello")]
    expect("npz/member_not_npy.npz", archive(entries), "unsupportedFeature", "notes.txt", "a member that is not .npy")
    meta = member("__metadata__.npy", npy(np.array("not json")))
    expect("npz/metadata_not_json.npz", archive(npz_members() + [meta]), "malformed", "__metadata__",
           "__metadata__ is not a JSON object")
    entries = npz_members()
    entries[0] = member("weight.npy", npy_with_header("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", b"\0" * 8))
    expect("npz/object_member.npz", archive(entries), "unsupportedDType", "weight", "an object array inside")
    entries = npz_members()
    entries[1] = member("bias.npy", npy(BIAS)[:134])
    expect("npz/member_truncated_npy.npz", archive(entries), "truncated", "bias",
           "a consistent zip whose bias.npy ends inside its data")


# --------------------------------------------------------------------------- safetensors

def safetensors(header, data, pad=True):
    """A safetensors file: `header` (a dict, serialised compactly, or raw bytes), space-padded to 8 bytes."""
    text = header if isinstance(header, bytes) else json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


ST_DATA = BIAS.tobytes() + WEIGHT.tobytes()


def st_header(**changes):
    header = {"__metadata__": {"nonlinearity": "tanh"},
              "bias": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]},
              "weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [12, 36]}}
    for name, fields in changes.items():
        if fields is None:
            del header[name]
        else:
            header[name] = dict(header.get(name, {}), **fields)
    return header


def make_safetensors():
    base = safetensors(st_header(), ST_DATA)
    data_at = len(base) - len(ST_DATA)
    assert base[data_at] == 0  # bias[0] = 0.5 starts with a 0x00 byte
    expect("safetensors/empty.safetensors", b"", "truncated", None, "an empty file")
    # safetensors has no magic number: files named .safetensors that do not look like one go to its reader.
    expect("safetensors/truncated_at_5.safetensors", base[:5], "truncated", None,
           "5 bytes: not even the header length")
    expect("safetensors/truncated_in_header.safetensors", base[:40], "truncated", None,
           "the header length points past the end")
    expect("safetensors/truncated_in_data.safetensors", base[:-5], "truncated", None, "the data ends 5 bytes early")
    expect("safetensors/trailing_bytes.safetensors", base + b"\0" * 8, "trailingBytes", None, "8 bytes after the data")
    expect("safetensors/flip_header_length.safetensors", flip(base, 0, base[0] + 1), "malformed", None,
           "header length +1: the JSON is followed by a NUL")
    expect("safetensors/flip_brace.safetensors", flip(base, 8, ord("[")), "malformed", None,
           "the header starts with [ instead of {")
    at = base.index(b'"F32"', base.index(b'"weight"'))
    expect("safetensors/flip_dtype.safetensors", flip(base, at + 3, ord("3")), "unsupportedDType", "weight",
           "dtype F33")
    expect("safetensors/huge_header_length.safetensors", struct.pack("<Q", 2**63) + base[8:], "tooLarge", None,
           "a header length of 2^63")
    big = safetensors(st_header(weight={"shape": [2**40], "data_offsets": [12, 12 + 4 * 2**40]}), ST_DATA)
    expect("safetensors/terabyte_tensor.safetensors", big, "truncated", None,
           "a 4 TiB tensor declared in a small file: refused before allocating")
    def header_case(rel, header, kind, tensor, why, data=ST_DATA):
        expect(rel, safetensors(header, data), kind, tensor, why)
    header_case("safetensors/negative_shape.safetensors", st_header(weight={"shape": [-2, 3]}), "invalidShape",
                "weight", "shape [-2, 3]")
    header_case("safetensors/overflowing_shape.safetensors", st_header(weight={"shape": [2**62, 2**62]}),
                "invalidShape", "weight", "shape [2^62, 2^62]")
    header_case("safetensors/shape_beyond_int64.safetensors", st_header(weight={"shape": [2**64, 1]}), "malformed",
                "weight", "a dimension of 2^64")
    header_case("safetensors/fp8_dtype.safetensors", st_header(bias={"dtype": "F8_E4M3", "shape": [12]}),
                "unsupportedDType", "bias", "float8, which the library has not")
    header_case("safetensors/offsets_wrong_size.safetensors", st_header(weight={"data_offsets": [12, 35]}),
                "malformed", "weight", "data_offsets hold 23 bytes for a [2, 3] F32")
    header_case("safetensors/offsets_reversed.safetensors", st_header(weight={"data_offsets": [36, 12]}),
                "malformed", "weight", "data_offsets end before they begin")
    header_case("safetensors/offsets_negative.safetensors", st_header(weight={"data_offsets": [-12, 12]}),
                "malformed", "weight", "a negative data offset")
    header_case("safetensors/offsets_gap.safetensors", st_header(weight={"data_offsets": [16, 40]}), "malformed",
                "weight", "four unused bytes between the tensors", data=ST_DATA + b"\0" * 4)
    header_case("safetensors/offsets_overlap.safetensors", st_header(weight={"data_offsets": [8, 32]}), "malformed",
                "weight", "weight starts inside bias")
    header_case("safetensors/entry_not_object.safetensors", {"weight": 5}, "malformed", "weight",
                "an entry that is a number", data=b"")
    header_case("safetensors/missing_dtype.safetensors", {"w": {"shape": [1], "data_offsets": [0, 4]}}, "malformed",
                "w", "an entry without dtype", data=b"\0" * 4)
    header_case("safetensors/metadata_not_string.safetensors", {"__metadata__": {"epochs": 3}}, "malformed", None,
                "a metadata value that is a number", data=b"")
    header_case("safetensors/bool_byte_2.safetensors", {"b": {"dtype": "BOOL", "shape": [3], "data_offsets": [0, 3]}},
                "malformed", "b", "a BOOL element holding 2", data=b"\x00\x01\x02")
    dup = b'{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}'
    header_case("safetensors/duplicate_name.safetensors", dup, "duplicateName", None, "the tensor w twice",
                data=b"\0\0")
    header_case("safetensors/key_not_utf8.safetensors", b'{"\xff":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}',
                "malformed", None, "a key that is not UTF-8", data=b"\0")
    header_case("safetensors/not_json.safetensors", b'{"w":{"dtype":"U8",', "malformed", None, "JSON cut short",
                data=b"")
    deep = b'{"__metadata__":' + b"[" * 100 + b"]" * 100 + b"}"
    header_case("safetensors/nested_too_deep.safetensors", deep, "malformed", None,
                "arrays nested 100 deep (refused, not recursed into)", data=b"")


# --------------------------------------------------------------------------- HDF5

def h5(rel, build):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with h5py.File(path, "w") as f:
        build(f)
    return path


def dataset(f, name, arr, **kw):
    return f.create_dataset(name, data=arr, track_times=False, **kw)


def make_hdf5():
    def valid(f):
        dataset(f, "weight", WEIGHT)
        dataset(f, "bias", BIAS)
    base_path = h5("hdf5/_base.h5", valid)
    base = open(base_path, "rb").read()
    os.remove(base_path)
    expect("hdf5/empty.h5", b"", "truncated", None, "an empty file")
    expect("hdf5/truncated_at_4.h5", base[:4], "unknownFormat", None, "4 bytes: half the signature")
    for cut in (96, len(base) // 2, len(base) - 1):
        rel = f"hdf5/truncated_at_{cut}.h5"
        expect(rel, base[:cut], "hdf5", None, "libhdf5: the file is shorter than its superblock's end address")
    expect("hdf5/bad_signature.h5", flip(base, 1, ord("h")), "unknownFormat", None, "signature \\x89hDF")
    h5("hdf5/soft_link.h5", lambda f: (dataset(f, "w", WEIGHT), f.__setitem__("alias", h5py.SoftLink("/w"))))
    expect("hdf5/soft_link.h5", None, "refusedLink", "alias", "a soft link")
    h5("hdf5/external_link.h5",
       lambda f: (dataset(f, "w", WEIGHT), f.__setitem__("elsewhere", h5py.ExternalLink("/etc/passwd", "/x"))))
    expect("hdf5/external_link.h5", None, "refusedLink", "elsewhere", "an external link to another file")
    h5("hdf5/compound.h5", lambda f: dataset(f, "records", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")])))
    expect("hdf5/compound.h5", None, "unsupportedDType", "records", "a compound (structured) dataset")
    h5("hdf5/huge_shape.h5", lambda f: f.create_dataset("huge", shape=(2**40,), dtype="<f4", chunks=(1024,),
                                                        track_times=False))
    expect("hdf5/huge_shape.h5", None, "invalidShape", "huge", "a 4 TiB chunked dataset that was never written")

    def patched(rel, build, name, new_bytes, chunked=False):
        path = h5(rel, build)
        with h5py.File(path, "r") as f:
            ds = f[name]
            offset = ds.id.get_chunk_info(0).byte_offset if chunked else ds.id.get_offset()
        raw = bytearray(open(path, "rb").read())
        raw[offset:offset + len(new_bytes)] = new_bytes
        write(rel, raw)

    patched("hdf5/bool_byte_2.h5", lambda f: dataset(f, "b", np.array([False, True, False])), "b", b"\x02")
    expect("hdf5/bool_byte_2.h5", None, "malformed", "b", "a bool element holding 2")
    patched("hdf5/fletcher32_flip.h5", lambda f: dataset(f, "w", WEIGHT, chunks=(2, 3), fletcher32=True), "w",
            b"\xff", chunked=True)
    expect("hdf5/fletcher32_flip.h5", None, "hdf5", "w", "a flipped data byte under a Fletcher-32 checksum")


# --------------------------------------------------------------------------- PyTorch checkpoints

def p_global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def p_str(text):
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def p_int(n):
    if 0 <= n < 256:
        return b"K" + bytes([n])
    if -2**31 <= n < 2**31:
        return b"J" + struct.pack("<i", n)
    raw = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw


def p_tuple(*items):
    return b"(" + b"".join(items) + b"t"


def p_ordered_dict(items):
    """An OrderedDict built as torch's pickles build it: collections.OrderedDict() then SETITEMS."""
    return p_global("collections", "OrderedDict") + b")R" + b"(" + b"".join(k + v for k, v in items) + b"u"


def p_tensor(key, shape, stride, numel, storage="FloatStorage", offset=0):
    pid = p_tuple(p_str("storage"), p_global("torch", storage), p_str(key), p_str("cpu"), p_int(numel)) + b"Q"
    args = pid + p_int(offset) + p_tuple(*map(p_int, shape)) + p_tuple(*map(p_int, stride)) + b"\x89" \
        + p_global("collections", "OrderedDict") + b")R"
    return p_global("torch._utils", "_rebuild_tensor_v2") + b"(" + args + b"tR"


def p_pickle(body):
    return b"\x80\x02" + body + b"."


def checkpoint(pickle_bytes, storages, folder="archive", extra=(), byteorder=b"little", deflate_storage=False):
    """torch.save's zip layout: data.pkl, byteorder, data/<key> for each storage, version."""
    entries = [member(f"{folder}/data.pkl", pickle_bytes), member(f"{folder}/byteorder", byteorder)]
    entries += [member(f"{folder}/data/{key}", raw, deflate_storage) for key, raw in storages]
    entries += [member(f"{folder}/version", b"3\n")] + list(extra)
    return entries


def weight_pickle(**tensor):
    args = dict(key="0", shape=(2, 3), stride=(3, 1), numel=6)
    args.update(tensor)
    return p_pickle(p_ordered_dict([(p_str("weight"), p_tensor(**args))]))


def make_pt():
    storage = [("0", WEIGHT.tobytes())]
    base_entries = checkpoint(weight_pickle(), storage)
    base = archive(base_entries)
    for cut in (30, len(base) // 2):
        expect(f"pt/truncated_at_{cut}.pt", base[:cut], "malformed", None, "no end-of-central-directory record")
    data_at = base.index(WEIGHT.tobytes())
    expect("pt/crc_mismatch_storage.pt", flip(base, data_at + 7, base[data_at + 7] ^ 0x01), "checksumMismatch",
           "weight", "a flipped bit in the storage record")
    pkl_at = 30 + len(b"archive/data.pkl")
    assert base[pkl_at:pkl_at + 2] == b"\x80\x02"
    expect("pt/crc_mismatch_pickle.pt", flip(base, pkl_at + 1, 3), "checksumMismatch", "archive/data.pkl",
           "a changed byte in data.pkl (protocol 2 → 3)")
    legacy = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little") + b".\x80\x02K\x03."
    expect("pt/legacy.pt", legacy, "unsupportedFeature", None, "the pre-1.6 torch.save format")
    def pt(rel, entries, kind, tensor, why):
        expect(rel, archive(entries), kind, tensor, why)
    pt("pt/missing_storage.pt", checkpoint(weight_pickle(key="7"), storage), "malformed", "weight",
       "the persistent id names data/7, which is absent")
    pt("pt/storage_size_mismatch.pt", checkpoint(weight_pickle(numel=7), storage), "malformed", "weight",
       "numel 7 for a 24-byte record")
    pt("pt/view_past_storage.pt", checkpoint(weight_pickle(stride=(4, 1)), storage), "malformed", "weight",
       "strides (4, 1) reach element 6 of a 6-element storage")
    pt("pt/view_offset_past_storage.pt", checkpoint(weight_pickle(offset=1), storage), "malformed", "weight",
       "storage offset 1 pushes the last element out")
    pt("pt/negative_stride.pt", checkpoint(weight_pickle(stride=(-3, 1)), storage), "malformed", "weight",
       "a negative stride")
    pt("pt/negative_shape.pt", checkpoint(weight_pickle(shape=(-2, 3)), storage), "invalidShape", "weight",
       "shape (-2, 3)")
    pt("pt/overflowing_shape.pt", checkpoint(weight_pickle(shape=(2**62, 2**62), stride=(0, 0)), storage),
       "invalidShape", "weight", "shape (2^62, 2^62)")
    pt("pt/complex_storage.pt", checkpoint(weight_pickle(storage="ComplexFloatStorage"), storage),
       "unsupportedDType", None, "a complex storage")
    pt("pt/bool_byte_2.pt",
       checkpoint(weight_pickle(storage="BoolStorage", shape=(3,), stride=(1,), numel=3), [("0", b"\x00\x01\x02")]),
       "malformed", "weight", "a bool element holding 2")
    pt("pt/byteorder_middle.pt", checkpoint(weight_pickle(), storage, byteorder=b"middle"), "malformed",
       "archive/byteorder", "byteorder \"middle\"")
    pt("pt/two_pickles.pt", checkpoint(weight_pickle(), storage) + [member("other/data.pkl", weight_pickle())],
       "malformed", None, "two data.pkl records")
    # TorchScript archives (constants.pkl and code/ beside data.pkl): __torch__ classes are inert bags of
    # attributes; every other trick is refused.
    def torchscript(body):
        return checkpoint(p_pickle(body), storage, extra=[member("archive/constants.pkl", p_pickle(b")")),
                                                            member("archive/code/__torch__.py", b"# never read\n")])
    def ts_module(attributes):
        """NEWOBJ of __torch__.Model with no arguments, then BUILD with a dict of attributes."""
        return p_global("__torch__", "Model") + b")\x81" + b"}(" + b"".join(k + v for k, v in attributes) + b"ub"
    pt("pt/torchscript_reduce_os_system.pt",
       torchscript(ts_module([(p_str("weight"), p_tensor(key="0", shape=(2, 3), stride=(3, 1), numel=6)),
                              (p_str("hook"), p_global("os", "system") + p_tuple(p_str("touch /tmp/pwned")) + b"R")])),
       "unsupportedFeature", None, "a module attribute built by calling os.system (a __reduce__ in a module class)")
    pt("pt/torchscript_newobj_ordereddict.pt", torchscript(p_global("collections", "OrderedDict") + b")\x81"),
       "unsupportedFeature", None, "NEWOBJ of collections.OrderedDict, not a __torch__ class")
    pt("pt/torchscript_newobj_builtins.pt", torchscript(p_global("builtins", "object") + b")\x81"),
       "unsupportedFeature", None, "NEWOBJ of builtins.object, a global not allowed")
    pt("pt/torchscript_newobj_arguments.pt", torchscript(p_global("__torch__", "Model") + p_tuple(p_str("x")) + b"\x81"),
       "malformed", None, "NEWOBJ of a __torch__ class with arguments")
    pt("pt/torchscript_build_tuple.pt", torchscript(p_global("__torch__", "Model") + b")\x81" + p_tuple(p_int(1)) + b"b"),
       "unsupportedFeature", None, "BUILD of a module with a tuple state (a __setstate__ of its own)")
    pt("pt/torchscript_class_in_checkpoint.pt", checkpoint(p_pickle(ts_module([])), storage),
       "unsupportedFeature", None, "a __torch__ class in a plain checkpoint (no constants.pkl or code/)")
    pt("pt/torchscript_jit_helper_other.pt", torchscript(p_global("torch.jit._pickle", "build_tensor_from_id") + p_tuple(p_int(0)) + b"R"),
       "unsupportedFeature", None, "torch.jit._pickle.build_tensor_from_id, not a list builder")
    storage_bomb = checkpoint(weight_pickle(), storage, deflate_storage=True)
    storage_bomb[2]["central_usize"] = 1 << 30
    pt("pt/bomb_declared_ratio.pt", storage_bomb, "tooLarge", "archive/data/0",
       "a storage record declaring 1 GiB from a few compressed bytes")
    # Hostile or broken pickles.
    def pkl(rel, pickle_bytes, kind, why, storages=storage):
        pt(rel, checkpoint(pickle_bytes, storages), kind, None, why)
    good = weight_pickle()
    pkl("pt/pickle_truncated.pt", good[: len(good) // 2], "malformed", "data.pkl cut in half (no STOP)")
    pkl("pt/pickle_after_stop.pt", good + b"N.", "malformed", "bytes after STOP")
    pkl("pt/pickle_bad_opcode.pt", b"\x80\x02\xff.", "malformed", "0xFF, which is no opcode")
    pkl("pt/pickle_global_eval.pt", p_pickle(p_global("builtins", "eval") + p_tuple(p_str("1")) + b"R"),
        "unsupportedFeature", "builtins.eval")
    pkl("pt/pickle_inst.pt", b"\x80\x02(ios\nsystem\n.", "unsupportedFeature", "the INST opcode")
    pkl("pt/pickle_call_string.pt", p_pickle(p_str("os.system") + p_tuple() + b"R"), "unsupportedFeature",
        "REDUCE of a string")
    pkl("pt/pickle_build_list.pt", p_pickle(b"]" + b"}" + b"b"), "unsupportedFeature", "BUILD of a list")
    pkl("pt/pickle_memo_unset.pt", p_pickle(b"h\x05"), "malformed", "BINGET of a memo entry never set")
    pkl("pt/pickle_empty_stack.pt", p_pickle(b"0"), "malformed", "POP of an empty stack")
    pkl("pt/pickle_nested_too_deep.pt", p_pickle(b"]" * 1100 + b"a" * 1099), "tooLarge", "lists nested 1100 deep")
    tied = p_tensor("0", (2, 3), (3, 1), 6)
    pkl("pt/duplicate_names.pt",
        p_pickle(p_ordered_dict([(p_str("a"), p_ordered_dict([(p_str("b"), tied)])), (p_str("a.b"), tied)])),
        "duplicateName", "a.b named twice (a → b, and a.b)")
    pkl("pt/float_key.pt", p_pickle(p_ordered_dict([(b"G" + struct.pack(">d", 1.5), tied)])), "unsupportedFeature",
        "a tensor under the dict key 1.5")


# --------------------------------------------------------------------------- broken RNN state_dicts

def rnn_params(layers=1, bidirectional=False, input_size=3, hidden=4, seed=7):
    rng = np.random.default_rng(seed)
    params = {}
    for layer in range(layers):
        for suffix in ["", "_reverse"] if bidirectional else [""]:
            width = input_size if layer == 0 else hidden * (2 if bidirectional else 1)
            for name, shape in [("weight_ih", (hidden, width)), ("weight_hh", (hidden, hidden)),
                                ("bias_ih", (hidden,)), ("bias_hh", (hidden,))]:
                params[f"{name}_l{layer}{suffix}"] = rng.standard_normal(shape).astype("<f4")
    return params


def npz_of(tensors, metadata=None):
    entries = [member(name + ".npy", npy(arr)) for name, arr in tensors.items()]
    if metadata:
        entries.append(member("__metadata__.npy", npy(np.array(json.dumps(metadata)))))
    return archive(entries)


def safetensors_of(tensors, metadata=None):
    header, data = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, arr in tensors.items():
        code = {"float32": "F32", "float64": "F64", "int32": "I32"}[arr.dtype.name]
        raw = np.ascontiguousarray(arr).tobytes()
        header[name] = {"dtype": code, "shape": list(arr.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    return safetensors(header, data)


def pt_of(tensors):
    storages, items = [], []
    for index, (name, arr) in enumerate(tensors.items()):
        storage = {"float32": "FloatStorage", "float64": "DoubleStorage"}[arr.dtype.name]
        strides = [int(s // arr.itemsize) for s in arr.strides]
        items.append((p_str(name), p_tensor(str(index), arr.shape, strides, arr.size, storage)))
        storages.append((str(index), arr.tobytes()))
    return archive(checkpoint(p_pickle(p_ordered_dict(items)), storages))


def h5_of(rel, tensors):
    def build(f):
        for name, arr in tensors.items():
            dataset(f, name, arr)
    h5(rel, build)


def model(rel, data, error, description, why):
    if data is not None:
        write(rel, data)
    manifest["models"][rel] = {"error": error, "description": description, "why": why}


def make_models():
    p = rnn_params()
    del p["bias_hh_l0"]
    model("models/missing_tensor.npz", npz_of(p), "missingTensor", 'tensor "bias_hh_l0" is missing',
          "bias_hh_l0 is absent")
    p = rnn_params()
    p["bias_ih_l0"] = np.zeros(5, "<f4")
    model("models/wrong_shape.safetensors", safetensors_of(p), "wrongShape",
          'tensor "bias_ih_l0" has shape [5], expected [4]', "bias_ih_l0 has 5 elements for hidden size 4")
    p = {k.replace("_l1", "_l2"): v for k, v in rnn_params(layers=2).items()}
    model("models/layer_gap.pt", pt_of({"rnn." + k: v for k, v in p.items()}), "layerGap",
          'layers of "rnn" are numbered [0, 2]', "layers 0 and 2, no layer 1")
    p = {k: (v * 10).astype("<i4") for k, v in rnn_params().items()}
    h5_of("models/integer_weights.h5", p)
    model("models/integer_weights.h5", None, "notFloat", 'tensor "weight_ih_l0" is int32', "int32 weights")
    p = rnn_params()
    p["bias_hh_l0"] = p["bias_hh_l0"].astype("<f8")
    model("models/mixed_dtypes.npz", npz_of(p), "mixedDTypes",
          'tensor "bias_hh_l0" is float64 but the module\'s other weights are float32', "one float64 bias")
    p = rnn_params()
    p["bias_ih_l0"] = p["bias_ih_l0"].reshape(4, 1)
    model("models/wrong_rank.npz", npz_of(p), "wrongRank", 'tensor "bias_ih_l0" has rank 2, expected 1',
          "a bias of shape [4, 1]")
    model("models/bad_nonlinearity.npz", npz_of(rnn_params(), {"nonlinearity": "sigmoid"}), "badMetadata",
          'metadata nonlinearity = "sigmoid" is not understood', "nonlinearity sigmoid")
    model("models/no_rnn.safetensors",
          safetensors_of({"fc.weight": np.zeros((2, 4), "<f4"), "fc.bias": np.zeros(2, "<f4")}), "noRNN",
          "no RNN module found", "only a linear layer")
    p = {f"{prefix}.{k}": v for prefix in ("encoder.rnn", "decoder.rnn") for k, v in rnn_params().items()}
    model("models/ambiguous.npz", npz_of(p), "ambiguous", 'several RNN modules found ("encoder.rnn", "decoder.rnn")',
          "two RNN modules and no prefix chosen")
    p = rnn_params(bidirectional=True)
    del p["weight_hh_l0_reverse"]
    model("models/missing_reverse.pt", pt_of(p), "missingTensor", 'tensor "weight_hh_l0_reverse" is missing',
          "a bidirectional layer without one reverse weight")
    p = {"rnn." + k: v for k, v in rnn_params().items()}
    p["rnn.extra"] = np.zeros(3, "<f4")
    model("models/unexpected_tensor.npz", npz_of(p), "unexpectedTensor", 'tensor "rnn.extra" does not belong',
          "a tensor under the module's prefix that no RNN has")
    p = rnn_params()
    p["weight_ih_l0"] = np.zeros((5, 3), "<f4")
    model("models/gate_count.safetensors", safetensors_of(p), "wrongShape",
          'tensor "weight_ih_l0" has shape [5, 3], expected [16, 3]', "5 rows is no whole number of gates of 4")


# --- Keras files (legacy .h5, .weights.h5, .keras, sharded .weights.json), built with h5py and by hand -------

def keras_lstm_config(units=4, **changes):
    layer = {"units": units, "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True,
             "return_sequences": True, "name": "lstm"}
    layer.update(changes)
    return json.dumps({"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, None, 3], "name": "input_layer"}},
        {"class_name": "LSTM", "config": layer}]}})


def keras_lstm_weights(units=4, inputs=3):
    rng = np.random.default_rng(11)
    return [rng.standard_normal(shape).astype("<f4") for shape in
            [(inputs, 4 * units), (units, 4 * units), (4 * units,)]]


def keras_legacy(rel, config, weight_names=None, weights=None, layer_names=(b"lstm",), libver=None):
    """A legacy model.save() .h5: root model_config, /model_weights/<layer>/… in weight_names' order."""
    weights = keras_lstm_weights() if weights is None else weights
    names = ["sequential/lstm/lstm_cell/kernel", "sequential/lstm/lstm_cell/recurrent_kernel",
             "sequential/lstm/lstm_cell/bias"] if weight_names is None else weight_names
    def build(f):
        f.attrs["model_config"] = config
        f.attrs["keras_version"] = "3.15.1"
        group = f.create_group("model_weights")
        if layer_names is not None:
            group.attrs["layer_names"] = np.array(layer_names, dtype="S")
        layer = group.create_group("lstm")
        if isinstance(names, np.ndarray):
            layer.attrs["weight_names"] = names
        else:
            layer.attrs["weight_names"] = np.array([n.encode() for n in names], dtype="S")
        for name, arr in zip(["kernel", "recurrent_kernel", "bias"], weights):
            dataset(layer, f"sequential/lstm/lstm_cell/{name}", arr)
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with h5py.File(path, "w", libver=libver or "earliest") as f:
        build(f)


def keras_weights_h5(weights=None, target=None):
    """A Keras 3 .weights.h5 of one LSTM: /layers/lstm/cell/vars/0..2; bytes unless `target` is a path."""
    weights = keras_lstm_weights() if weights is None else weights
    buffer = io.BytesIO() if target is None else target
    with h5py.File(buffer, "w") as f:
        f.create_group("layers/lstm/vars").attrs["name"] = "lstm"
        cell = f.create_group("layers/lstm/cell/vars")
        cell.attrs["name"] = "lstm_cell"
        for index, arr in enumerate(weights):
            dataset(cell, str(index), arr)
        f.create_group("vars").attrs["name"] = "sequential"
    return buffer.getvalue() if target is None else None


def make_keras():
    keras_legacy("keras/lying_units.h5", keras_lstm_config(units=5))
    expect("keras/lying_units.h5", None, "malformed", "model_weights.lstm.sequential.lstm.lstm_cell.recurrent_kernel",
           "model_config says units=5, the weights hold 4")
    keras_legacy("keras/weight_names_nowhere.h5", keras_lstm_config(),
                 weight_names=["sequential/lstm/lstm_cell/kernel", "sequential/lstm/lstm_cell/nowhere",
                               "sequential/lstm/lstm_cell/bias"])
    expect("keras/weight_names_nowhere.h5", None, "malformed", None, "weight_names names a dataset that is not there")
    keras_legacy("keras/no_layer_names.h5", keras_lstm_config(), layer_names=None)
    expect("keras/no_layer_names.h5", None, "malformed", None, "model_config has an LSTM, model_weights no layer_names")
    keras_legacy("keras/huge_weight_names.h5", keras_lstm_config(),
                 weight_names=np.array([b"x"] * 150_000, dtype="S1"), libver="latest")
    expect("keras/huge_weight_names.h5", None, "tooLarge", "model_weights.lstm@weight_names",
           "weight_names holds 150000 strings")
    keras_legacy("keras/hard_sigmoid.h5", keras_lstm_config(recurrent_activation="hard_sigmoid"))
    expect("keras/hard_sigmoid.h5", None, "unsupportedFeature", None, "an LSTM with hard_sigmoid, refused by name")
    keras_legacy("keras/stateful.h5", keras_lstm_config(stateful=True))
    expect("keras/stateful.h5", None, "unsupportedFeature", None, "a stateful LSTM, refused by name")
    keras_legacy("keras/config_not_json.h5", "{\"class_name\": \"Sequential\", ")
    expect("keras/config_not_json.h5", None, "malformed", None, "model_config is cut in the middle")
    bad = keras_lstm_weights()
    bad[2] = bad[2][:15]
    keras_weights_h5(bad, os.path.join(OUT, "keras/bias_shape.weights.h5"))
    expect("keras/bias_shape.weights.h5", None, "malformed", "layers.lstm.cell.vars.2", "an LSTM bias of 15, not 16")
    config = keras_lstm_config().encode()
    weights = keras_weights_h5()
    expect("keras/path_trick.keras", archive([member("config.json", config), member("model.weights.h5", weights),
                                              member("../escape.txt", b"x")]),
           "unsafeName", "../escape.txt", "a member climbing out of the archive with ..")
    expect("keras/config_garbage.keras", archive([member("config.json", b"{not json"), member("model.weights.h5", weights)]),
           "malformed", "config.json", "config.json is not JSON")
    expect("keras/weights_not_hdf5.keras", archive([member("config.json", config), member("model.weights.h5", b"\x00" * 64)]),
           "unknownFormat", "model.weights.h5", "model.weights.h5 is not HDF5")
    expect("keras/shard_escape.weights.json",
           json.dumps({"metadata": {}, "weight_map": {"/layers/lstm/cell/vars": ["../outside.weights.h5"]}}).encode(),
           "unsafeName", "../outside.weights.h5", "a shard outside the map's folder")
    expect("keras/shard_missing.weights.json",
           json.dumps({"metadata": {}, "weight_map": {"/layers/lstm/cell/vars": ["absent_00000.weights.h5"]}}).encode(),
           "io", "absent_00000.weights.h5", "a shard that does not exist")


# --------------------------------------------------------------------------- ONNX

def make_onnx():
    """Hostile and broken ONNX models around one small LSTM node (hidden 2, input 3)."""
    from onnx import TensorProto, helper

    rng = np.random.default_rng(17)
    hidden, inputs = 2, 3

    def weights():
        return {"W": rng.uniform(-0.5, 0.5, (1, 4 * hidden, inputs)).astype(np.float32),
                "R": rng.uniform(-0.5, 0.5, (1, 4 * hidden, hidden)).astype(np.float32),
                "B": rng.uniform(-0.5, 0.5, (1, 8 * hidden)).astype(np.float32)}

    def init(name, array):
        return helper.make_tensor(name, TensorProto.FLOAT, array.shape, array.tobytes(), raw=True)

    def lstm_model(initializers=None, nodes=(), inputs_=(), w="W", r="R", b="B"):
        values = weights()
        if initializers is None:
            initializers = [init(n, a) for n, a in values.items()]
        node = helper.make_node("LSTM", ["X", w, r, b], ["Y"], name="lstm", hidden_size=hidden)
        graph = helper.make_graph(list(nodes) + [node], "g",
                                  [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["T", "B", inputs])] + list(inputs_),
                                  [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)], initializers)
        return helper.make_model(graph, producer_name="make_malformed", opset_imports=[helper.make_opsetid("", 17)], ir_version=8)

    good = lstm_model().SerializeToString()
    for cut in (3, len(good) // 2, len(good) - 1):
        expect(f"onnx/truncated_at_{cut}.onnx", good[:cut], "malformed", None, f"a valid model cut after {cut} bytes")

    def varint(n):
        out = b""
        while n >= 0x80:
            out += bytes([(n & 0x7F) | 0x80])
            n >>= 7
        return out + bytes([n])
    # ir_version 8, then a graph field (7) declaring 2**40 bytes.
    expect("onnx/huge_field_length.onnx", b"\x08\x08" + b"\x3a" + varint(1 << 40) + b"\x00" * 16, "malformed", None,
           "the graph declares 2^40 bytes")
    expect("onnx/group_wire_type.onnx", b"\x08\x08" + b"\x3b" + b"\x00" * 8, "malformed", None,
           "a field of wire type 3 (a group)")
    expect("onnx/varint_too_long.onnx", b"\x08\x08\x28" + b"\xff" * 11, "malformed", None, "a varint of eleven bytes")
    expect("onnx/no_graph.onnx", helper.make_model(helper.make_graph([], "g", [], []), ir_version=8).SerializeToString()[:2]
           + b"\x42\x02\x10\x11", "malformed", None, "a model without a graph")

    values = weights()
    huge = init("W", values["W"])
    del huge.dims[:]
    huge.dims.extend([2**31 - 1, 2**31 - 1, 2**31 - 1])
    expect("onnx/huge_dims.onnx", lstm_model([huge, init("R", values["R"]), init("B", values["B"])]).SerializeToString(),
           "invalidShape", "W", "W declares 2^31-1 × 2^31-1 × 2^31-1 elements")
    short = init("W", values["W"])
    short.raw_data = values["W"].tobytes()[:-4]
    expect("onnx/raw_data_short.onnx", lstm_model([short, init("R", values["R"]), init("B", values["B"])]).SerializeToString(),
           "malformed", "W", "W's raw_data 4 bytes short")
    text = helper.make_tensor("W", TensorProto.STRING, [1], [b"weights"])
    expect("onnx/string_weights.onnx", lstm_model([text, init("R", values["R"]), init("B", values["B"])]).SerializeToString(),
           "unsupportedDType", "W", "W is a STRING tensor")

    # Graphs nested 40 deep: an If whose branch holds an If whose branch … (encoded by hand: protobuf's Python
    # runtime refuses to build messages this deep).
    def field(number, payload):
        return varint(number << 3 | 2) + varint(len(payload)) + payload
    graph = b""
    for depth in range(40):
        attribute = field(1, b"then_branch") + b"\xa0\x01\x05" + field(6, graph)  # type (20) GRAPH, g (6)
        graph = field(1, field(4, b"If") + field(5, attribute))
    expect("onnx/nested_40_deep.onnx", b"\x08\x08" + field(7, graph) + field(8, b"\x10\x11"), "malformed", None,
           "If branches nested 40 deep")

    # Constants that would grow to 2^40 elements by doubling: Concat(x, x) forty times.
    chain, previous = [], "seed"
    chain.append(helper.make_node("Constant", [], ["seed"], value=init("seed_value", values["W"])))
    for step in range(40):
        chain.append(helper.make_node("Concat", [previous, previous], [f"double{step}"], axis=1))
        previous = f"double{step}"
    bomb = lstm_model([init("R", values["R"]), init("B", values["B"])], nodes=chain, w=previous)
    expect("onnx/constant_doubling.onnx", bomb.SerializeToString(), "tooLarge", "double18",
           "W made by doubling a constant forty times (2^40 × its size)")
    loop = lstm_model([init("R", values["R"]), init("B", values["B"])],
                      nodes=[helper.make_node("Identity", ["W"], ["W"], name="self_loop")])
    expect("onnx/constant_cycle.onnx", loop.SerializeToString(), "tooLarge", "W", "W is the Identity of itself")
    not_constant = lstm_model([init("R", values["R"]), init("B", values["B"])],
                              inputs_=[helper.make_tensor_value_info("W", TensorProto.FLOAT, [1, 8, 3])])
    expect("onnx/weights_as_input.onnx", not_constant.SerializeToString(), "unsupportedFeature", "lstm",
           "W is a graph input, known only when the model runs")
    unrolled = helper.make_model(helper.make_graph(
        [helper.make_node("Gemm", ["X", "W"], ["Z"]), helper.make_node("Tanh", ["Z"], ["Y"])], "cell",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 3])], [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
        [init("W", rng.uniform(-1, 1, (3, 2)).astype(np.float32))]), opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    expect("onnx/unrolled_cell.onnx", unrolled.SerializeToString(), "unsupportedFeature", None,
           "a cell written out as Gemm and Tanh: no recurrent node")

    # External data: outside the folder, absolute, missing, and a range past the data file's end.
    def external(location, offset=0, length=None):
        tensor = helper.make_tensor("W", TensorProto.FLOAT, [0], [])
        del tensor.dims[:]
        tensor.dims.extend(values["W"].shape)
        tensor.data_location = TensorProto.EXTERNAL
        entries = {"location": location, "offset": str(offset)}
        if length is not None:
            entries["length"] = str(length)
        for key, value in entries.items():
            tensor.external_data.add(key=key, value=value)
        return lstm_model([tensor, init("R", values["R"]), init("B", values["B"])]).SerializeToString()
    expect("onnx/external_parent.onnx", external("../npy/truncated_header.npy"), "unsafeName", "W",
           "external data in the folder above the model's")
    expect("onnx/external_absolute.onnx", external("/etc/passwd"), "unsafeName", "W", "external data at an absolute path")
    expect("onnx/external_missing.onnx", external("absent.onnx.data"), "io", "W", "external data in a file that does not exist")
    expect("onnx/external_range.onnx", external("external_range.onnx.data", offset=64, length=values["W"].nbytes),
           "truncated", "W", "external data running past its file's end")
    expect("onnx/external_range.onnx.data", values["W"].tobytes(), "unknownFormat", None,
           "the raw data file of external_range.onnx, read on its own")

    # A learned initial state: initial_h a constant that is not zero, which a PyTorch module takes as an input.
    state = np.full((1, 1, hidden), 0.25, dtype=np.float32)
    learned = lstm_model()
    learned.graph.initializer.append(init("H0", state))
    learned.graph.node[-1].input.extend(["", "H0"])
    expect("onnx/learned_initial_state.onnx", learned.SerializeToString(), "unsupportedFeature", "lstm",
           "initial_h is a non-zero constant (a learned initial state)")


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    make_npy()
    make_npz()
    make_safetensors()
    make_hdf5()
    make_pt()
    make_keras()
    make_onnx()
    make_models()
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True, ensure_ascii=True)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, names in os.walk(OUT) for n in names)
    print(f"{len(manifest['files'])} malformed files, {len(manifest['models'])} broken models, {total} bytes")


if __name__ == "__main__":
    main()
