#!/usr/bin/env bash
# Runs the whole test suite with the address sanitizer (heap, stack and global overflows, use after free, leaks
# at exit), including the Python-driven checks, which then drive ASan-built commands.
#
# Usage: tools/asan.sh [swift test options...]   e.g. tools/asan.sh --filter MalformedFileTests
#
# The build goes to $ASAN_SCRATCH (default .build-asan/), apart from the ordinary build. The HDF5 worker is the
# one exception: it runs without ASan, because ASan reserves terabytes of shadow address space and the worker
# runs under an address-space limit (RLIMIT_AS) that makes such a process fail at start; libhdf5 is not ours to
# instrument anyway. Every command is its own worker, so the worker here is a plainly built rnn-inspect:
# $RNN_HDF5_WORKER when set, else built in $ASAN_WORKER_SCRATCH (default .build/, which CI has already built).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scratch="${ASAN_SCRATCH:-$root/.build-asan}"

if [[ -z "${RNN_HDF5_WORKER:-}" ]]; then
    worker_scratch="${ASAN_WORKER_SCRATCH:-$root/.build}"
    echo "asan: building the plain HDF5 worker in $worker_scratch" >&2
    swift build --product rnn-inspect --scratch-path "$worker_scratch" >&2
    export RNN_HDF5_WORKER="$worker_scratch/debug/rnn-inspect"
fi

# LeakSanitizer runs at the exit of every process (the test runners and each command the tests start). It
# reports objects of other libraries that it cannot see referenced (Swift on Linux packs bits into pointers,
# llvm/llvm-project#56751): XCTest's own suite objects (swift-corelibs-xctest#342), Foundation's Process with
# its pipes and the semaphore its termination handler signals (swift-corelibs-foundation#3260), Data's buffers
# (FoundationEssentials: a few of the 132 `Data(contentsOf:)` reads of BytesReadingTests, never the same ones), and
# swift-argument-parser's strings on its usage-error exit. Those are suppressed by library; a leak whose stack
# holds none of them, such as anything allocated by TensorIO's parsers alone, still fails the run.
suppressions="$(mktemp "${TMPDIR:-/tmp}/lsan-suppressions.XXXXXX")"
trap 'rm -f "$suppressions"' EXIT
printf '%s\n' "leak:libXCTest.so" "leak:libFoundation.so" "leak:libFoundationEssentials.so" "leak:libswiftDispatch.so" "leak:ArgumentParser" > "$suppressions"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$suppressions:print_suppressions=0}"
# halt_on_error: the first report ends the process, so the test that caused it fails with ASan's report.
# handle_sigill and no Swift backtracer: a Swift trap (SIGILL) gets ASan's stack trace; the backtracer itself
# reads memory in ways ASan reports as overflows.
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1:handle_sigill=1}"
export SWIFT_BACKTRACE="${SWIFT_BACKTRACE:-enable=no}"
# --sanitize=address instruments the C targets as well as the Swift ones: the kernels and the platform shim are
# checked too, and the tests' allocation counter (Tests/CAllocationCounter) sees the sanitizer and stands aside
# (interposing malloc over ASan's would break its runtime: built with -Xswiftc alone, the test binary died at start).
echo "asan: swift test with --sanitize=address (ASAN_OPTIONS=$ASAN_OPTIONS)" >&2
swift test --scratch-path "$scratch" --sanitize=address "$@"
