#!/usr/bin/env bash
# Installs what the build and the tests need, only where it is missing (safe to run again):
#   - Debian packages: libhdf5-dev (HDF5), zlib1g-dev (deflate), libdeflate-dev (fast CRC-32/inflate),
#     libopenblas-dev (the tests play a host app that uses it), pkg-config (finds them), python3-venv;
#   - tools/.venv: numpy, h5py, safetensors, onnx, onnxruntime, and Keras 3 with jax (CPU), which the tests use to
#     read back what we write (tools/requirements-ci.txt).
# Run as root on Debian/Ubuntu, or with sudo available.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

packages=(libhdf5-dev zlib1g-dev libdeflate-dev libopenblas-dev pkg-config python3-venv)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
    echo "setup: installing ${missing[*]}" >&2
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
fi

venv="$here/.venv"
if ! KERAS_BACKEND=jax "$venv/bin/python" -c "import numpy, h5py, safetensors, onnx, onnxruntime, jax, keras" 2>/dev/null; then
    echo "setup: preparing $venv (numpy, h5py, safetensors, onnx, onnxruntime, keras, jax)" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements-ci.txt" >&2
fi
