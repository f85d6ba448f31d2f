#!/usr/bin/env bash
# Fuzzes the hand-written parsers with libFuzzer and the address sanitizer:
#   fuzz-npy          NPY arrays from memory and NPY header dicts (NPYArray.read, NPYHeader.parse)
#   fuzz-zip          zip directories, entry inflation and CRC checks, then the whole file (NPZ, .pt, ...)
#   fuzz-safetensors  safetensors headers and files, plus a write-and-read-back check
#   fuzz-pickle       checkpoint and TorchScript pickles (PickleMachine), tensor naming, storage views and their gather
#   fuzz-onnx         ONNX models from memory: protobuf decoding, recurrent nodes, constant folding (ONNXFormat)
#
# Usage: tools/fuzz.sh [SECONDS] [TARGET...]   run each target (all five by default) for SECONDS (default 30)
#        tools/fuzz.sh --merge [SECONDS] [TARGET...]   the same, then add the new finds of at most 512 bytes that
#                                              reach new code to Fixtures/fuzz/<target>/ (named by their SHA-1)
#        tools/fuzz.sh --seed                  rewrite the seed inputs Fixtures/fuzz/<target>/seed-* from the fixtures
#
# Each target starts from its committed corpus Fixtures/fuzz/<target>/ (seeds, merged finds and regressions/),
# with the dictionary Fixtures/fuzz/<target>.dict (format keywords and magic numbers);
# new corpus entries go to a temporary folder, never into the repository. Exits 1 if any target crashes, leaks,
# times out (-timeout=10 per input), runs out of memory (-rss_limit_mb=2048) or leaves an artifact; the
# artifacts, and a minimized copy of each crash, are kept in $FUZZ_ARTIFACTS (default .build-fuzz/artifacts/).
# A crash is reproduced without libFuzzer by the plain build: `swift run fuzz-npy FILE`. After the fix, commit
# the minimized file as Fixtures/fuzz/<target>/regressions/<what-it-was>, which the test suite replays.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
all_targets=(npy zip safetensors pickle onnx)

if [[ "${1:-}" == "--seed" ]]; then
    for t in "${all_targets[@]}"; do
        mkdir -p "Fixtures/fuzz/$t"
        rm -f "Fixtures/fuzz/$t"/seed-*
    done
    for f in Fixtures/formats/npy/*.npy Fixtures/formats/npy_bad/*.npy; do cp "$f" "Fixtures/fuzz/npy/seed-$(basename "$f")"; done
    printf '%s' "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" > Fixtures/fuzz/npy/seed-header.txt
    printf '%s' "{'descr': '>U7', 'fortran_order': True, 'shape': (), 'x': [1L, None, '\\x41\\u00e9']}" \
        > Fixtures/fuzz/npy/seed-header-literals.txt
    for f in Fixtures/formats/npz/*.npz Fixtures/formats/model/rnn_tanh.npz Fixtures/torch/seed_rnncell/model.npz \
             Fixtures/checkpoints/{tensor,views,protocol4,half,bf16,state_dict}.pt \
             Fixtures/keras/{stacked_bidirectional_gru,encoder_decoder,gru_reset_before}/model.keras; do
        seed="$(basename "$f")"
        [[ "$seed" == model.keras ]] && seed="$(basename "$(dirname "$f")").keras"
        cp "$f" "Fixtures/fuzz/zip/seed-$seed"
    done
    for f in Fixtures/safetensors/*.safetensors; do cp "$f" "Fixtures/fuzz/safetensors/seed-$(basename "$f")"; done
    for f in Fixtures/onnx/*/model.onnx Fixtures/malformed/onnx/*.onnx; do
        cp "$f" "Fixtures/fuzz/onnx/seed-$(basename "$(dirname "$f")")-$(basename "$f")"
    done
    # The pickles inside the checkpoints (and the legacy format's pickle stream as it is).
    python3 - <<'EOF'
import glob, os, zipfile
paths = [(p, os.path.basename(p)[:-3]) for p in sorted(glob.glob("Fixtures/checkpoints/*.pt"))]
# TorchScript archives: their data.pkl builds __torch__ module objects (the pickle target reads both kinds).
paths += [(p, "torchscript-" + p.split("/")[-2]) for p in sorted(glob.glob("Fixtures/torchscript/*/model.pt"))]
for path, stem in paths:
    out = f"Fixtures/fuzz/pickle/seed-{stem}.pkl"
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            name = next(n for n in z.namelist() if n.endswith("data.pkl"))
            data = z.read(name)
    else:
        data = open(path, "rb").read()
    open(out, "wb").write(data)
EOF
    du -sh Fixtures/fuzz
    exit 0
fi

merge=0
if [[ "${1:-}" == "--merge" ]]; then
    merge=1
    shift
fi
seconds="${1:-30}"
shift || true
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")
scratch="${FUZZ_SCRATCH:-$root/.build-fuzz}"
artifacts="${FUZZ_ARTIFACTS:-$scratch/artifacts}"

# No Swift backtracer: a Swift trap (SIGILL) is libFuzzer's to report, with ASan's stack trace, as a crash; the
# backtracer would instead attach to the crashed process, and hang the crash minimization's child runs.
export SWIFT_BACKTRACE=enable=no
work="$(mktemp -d "${TMPDIR:-/tmp}/tensorio-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# One build per product: building everything with -sanitize=fuzzer would also try to link the rnn-* commands
# against libFuzzer. After the first, each build only compiles and links its own small target.
for t in "${targets[@]}"; do
    echo "fuzz: building fuzz-$t" >&2
    if ! swift build -c debug --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING \
            --product "fuzz-$t" > "$work/build.log" 2>&1; then
        grep -v "Cannot export local symbol" "$work/build.log" | tail -40 >&2
        echo "fuzz: fuzz-$t did not build" >&2
        exit 1
    fi
done

failed=()
for t in "${targets[@]}"; do
    mkdir -p "$work/$t/corpus" "$work/$t/artifacts" "$work/$t/tmp"
    echo "fuzz: fuzz-$t for ${seconds}s" >&2
    status=0
    # TMPDIR: the scratch files the file-based entry points write go to the temporary folder too.
    TMPDIR="$work/$t/tmp" ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" "$scratch/debug/fuzz-$t" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -dict="Fixtures/fuzz/$t.dict" -artifact_prefix="$work/$t/artifacts/" "$work/$t/corpus" "Fixtures/fuzz/$t" \
        > "$work/$t/log" 2>&1 || status=$?
    found=("$work/$t/artifacts"/*)
    [[ -e "${found[0]}" ]] || found=()
    runs=$(grep -Eo "stat::number_of_executed_units: *[0-9]+" "$work/$t/log" | grep -Eo "[0-9]+$" || echo "?")
    new=$(find "$work/$t/corpus" -type f | wc -l)
    if ((status != 0 || ${#found[@]} > 0)); then
        failed+=("$t")
        mkdir -p "$artifacts/$t"
        echo "fuzz: fuzz-$t FAILED (exit $status, ${#found[@]} artifacts); the end of its log:" >&2
        grep -v "^#[0-9]" "$work/$t/log" | tail -40 >&2
        for a in "${found[@]}"; do
            cp "$a" "$artifacts/$t/"
            case "$(basename "$a")" in
                crash-*|oom-*|leak-*)
                    TMPDIR="$work/$t/tmp" "$scratch/debug/fuzz-$t" -minimize_crash=1 -max_total_time=60 -timeout=10 \
                        -exact_artifact_path="$artifacts/$t/$(basename "$a").min" "$a" > "$work/$t/minimize.log" 2>&1 || true
                    ;;
            esac
            echo "fuzz: kept $artifacts/$t/$(basename "$a") (replay: swift run fuzz-$t FILE)" >&2
        done
    elif ((merge)); then
        # Only inputs of at most 512 bytes that add coverage: the committed corpus stays small.
        mkdir -p "$work/$t/small"
        find "$work/$t/corpus" -type f -size -513c -exec cp {} "$work/$t/small/" \;
        before=$(find "Fixtures/fuzz/$t" -type f | wc -l)
        TMPDIR="$work/$t/tmp" "$scratch/debug/fuzz-$t" -merge=1 -detect_leaks=0 "Fixtures/fuzz/$t" "$work/$t/small" \
            > "$work/$t/merge.log" 2>&1
        echo "fuzz: fuzz-$t OK: $runs inputs in ${seconds}s; $(( $(find "Fixtures/fuzz/$t" -type f | wc -l) - before )) merged into Fixtures/fuzz/$t" >&2
    else
        echo "fuzz: fuzz-$t OK: $runs inputs in ${seconds}s, $new new corpus entries (discarded)" >&2
    fi
done

if ((${#failed[@]})); then
    echo "fuzz: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no crash, leak or timeout"
