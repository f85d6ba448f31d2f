// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "swift-rnn-toolkit",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "TensorIO", targets: ["TensorIO"]),
        .library(name: "RNNKit", targets: ["RNNKit"]),
        .executable(name: "rnn-convert", targets: ["rnn-convert"]),
        .executable(name: "rnn-verify", targets: ["rnn-verify"]),
        .executable(name: "rnn-run", targets: ["rnn-run"]),
        .executable(name: "rnn-inspect", targets: ["rnn-inspect"]),
        .executable(name: "rnn-bench", targets: ["rnn-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
    ],
    targets: [
        // libhdf5 (Debian: libhdf5-dev), found through pkg-config; shim.h turns its C macros into functions.
        .systemLibrary(
            name: "CHDF5",
            pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"])]
        ),
        // zlib (Debian: zlib1g-dev): deflate, inflate and CRC-32 for NPZ archives.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // libdeflate (Debian: libdeflate-dev): fast CRC-32 and whole-buffer inflate for loading NPZ at memory speed.
        .systemLibrary(
            name: "CLibDeflate",
            pkgConfig: "libdeflate",
            providers: [.apt(["libdeflate-dev"])]
        ),
        // OpenBLAS (Debian: libopenblas-dev), for the tests only: they play a host app that uses OpenBLAS and check that
        // the library leaves its settings alone (the forward pass computes with its own kernels, RNNKit links no BLAS).
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        // Linux system calls Swift's Glibc module does not show (renameat2, memfd_create, prctl) and posix_spawn
        // with descriptor remapping for the HDF5 worker.
        .target(name: "CPlatform"),
        // The forward pass's recurrent kernels in C: AVX-512, AVX2 and baseline versions, chosen at run time.
        .target(name: "CRecurrentKernels"),
        .target(
            name: "TensorIO",
            dependencies: [
                "CHDF5", "CZlib", "CLibDeflate", "CPlatform",
                .product(name: "OrderedCollections", package: "swift-collections"),
            ]
        ),
        .target(
            name: "RNNKit",
            dependencies: [
                "TensorIO", "CRecurrentKernels",
                .product(name: "OrderedCollections", package: "swift-collections"),
            ]
        ),
        .target(
            name: "RNNCommands",
            dependencies: [
                "RNNKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "rnn-convert", dependencies: ["RNNCommands"]),
        .executableTarget(name: "rnn-verify", dependencies: ["RNNCommands"]),
        .executableTarget(name: "rnn-run", dependencies: ["RNNCommands"]),
        .executableTarget(name: "rnn-inspect", dependencies: ["RNNCommands"]),
        .executableTarget(name: "rnn-bench", dependencies: ["RNNCommands"]),
        // Fuzz targets (tools/fuzz.sh): arbitrary bytes through one parser each, via TensorIO's FuzzEntryPoints;
        // a plain build replays the files given as arguments (the committed corpora and crash regressions).
        // FuzzMain is their shared main; CLibFuzzer only declares libFuzzer's driver, which it calls when built
        // with -sanitize=fuzzer.
        .systemLibrary(name: "CLibFuzzer", path: "Fuzz/CLibFuzzer"),
        .target(name: "FuzzMain", dependencies: ["TensorIO", "CLibFuzzer"], path: "Fuzz/Main"),
        .executableTarget(name: "fuzz-npy", dependencies: ["FuzzMain", "TensorIO"], path: "Fuzz/NPY"),
        .executableTarget(name: "fuzz-zip", dependencies: ["FuzzMain", "TensorIO"], path: "Fuzz/Zip"),
        .executableTarget(name: "fuzz-safetensors", dependencies: ["FuzzMain", "TensorIO"], path: "Fuzz/SafeTensors"),
        .executableTarget(name: "fuzz-pickle", dependencies: ["FuzzMain", "TensorIO"], path: "Fuzz/Pickle"),
        .executableTarget(name: "fuzz-onnx", dependencies: ["FuzzMain", "TensorIO"], path: "Fuzz/ONNX"),
        // Shared by the test targets: running the Python interop checks in tools/.
        .target(name: "TestSupport", dependencies: ["TensorIO"], path: "Tests/TestSupport"),
        .testTarget(
            name: "TensorIOTests",
            // rnn-inspect serves as the HDF5 worker of the isolation tests (every command is its own worker).
            dependencies: ["TensorIO", "TestSupport", "rnn-inspect"]
        ),
        // Counts the calling thread's heap allocations, for the test that a stream's step allocates nothing.
        .target(name: "CAllocationCounter", path: "Tests/CAllocationCounter"),
        .testTarget(
            name: "RNNKitTests",
            dependencies: ["RNNKit", "TestSupport", "COpenBLAS", "CAllocationCounter"]
        ),
        .testTarget(
            name: "RNNCommandsTests",
            // The executables are dependencies so that `swift test` builds them for the end-to-end tests.
            dependencies: ["RNNCommands", "rnn-convert", "rnn-verify", "rnn-run", "rnn-inspect", "rnn-bench", "TestSupport"]
        ),
    ]
)
