#!/usr/bin/env bash
# Has real PyTorch load every model this library exports: for each case in Fixtures/torch, the tests export the
# loaded RNN to NPZ and (nested-group) HDF5; check_torch_export.py rebuilds torch.nn.RNN from the metadata,
# load_state_dict(strict=True), runs it on the case's inputs and compares with torch's expected outputs.
# Needs tools/.venv-torch (python3 -m venv tools/.venv-torch && tools/.venv-torch/bin/pip install -r tools/requirements-torch.txt).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
RNN_EXPORT_DIR="$out" swift test --filter ExportTests >/dev/null
failed=0
for folder in "$out"/*/; do
    case_name="$(basename "$folder")"
    if [[ "$case_name" == seed_rnncell ]]; then continue; fi  # an RNNCell: not an nn.RNN state_dict
    for model in "$folder"model.npz "$folder"model.h5; do
        tools/.venv-torch/bin/python tools/check_torch_export.py "$model" \
            "Fixtures/torch/$case_name/inputs.npz" "Fixtures/torch/$case_name/expected.npz" || failed=1
    done
done
exit $failed
