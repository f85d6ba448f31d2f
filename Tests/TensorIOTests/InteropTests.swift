import Foundation
import Testing
import TestSupport
@testable import TensorIO

/// Our writers' output, read back by numpy and h5py themselves (tools/check_interop.py).
///
/// Needs the Python environment that `tools/setup.sh` creates (or `RNN_PYTHON` naming a Python with numpy and
/// h5py). Without it the test fails rather than skips: interop is a promise, not an option.
struct InteropTests {
    @Test func numpyAndH5pyReadWhatWeWrite() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        var manifest: [String: Any] = [:]
        func record(_ name: String, _ dict: StateDict) {
            manifest[name] = [
                "tensors": dict.tensors.map { name, tensor in
                    ["name": name, "dtype": tensor.dtype.rawValue, "shape": tensor.shape,
                     "hex": tensor.withUnsafeBytes { $0.map { String(format: "%02x", $0) }.joined() }] as [String: Any]
                },
                "metadata": Dictionary(uniqueKeysWithValues: dict.metadata.elements.map { ($0.key, $0.value) }),
            ]
        }
        // Everything numpy and h5py wrote, written again by us, in every layout.
        var everything = StateDict()
        for (relative, file) in Manifest.formats.files.sorted(by: { $0.key < $1.key }) {
            let dict = try file.stateDict()
            for (name, tensor) in dict.tensors {
                everything.tensors["\(relative.replacingOccurrences(of: "/", with: "_")).\(name)"] = tensor
            }
        }
        everything.metadata = try sampleStateDict().metadata
        let npzSafe = StateDict(tensors: everything.tensors.filter { $0.value.dtype != .bfloat16 }, metadata: everything.metadata)

        try NPZFormat.write(npzSafe, to: folder.file("stored.npz"))
        record("stored.npz", npzSafe)
        try NPZFormat.write(npzSafe, to: folder.file("deflated.npz"), options: WriteOptions(compress: true))
        record("deflated.npz", npzSafe)
        try NPZFormat.write(npzSafe, to: folder.file("zip64.npz"), options: WriteOptions(), forceZip64: true)
        record("zip64.npz", npzSafe)
        try HDF5Format.write(everything, to: folder.file("flat.h5"))
        record("flat.h5", everything)
        try HDF5Format.write(everything, to: folder.file("gzip.h5"), options: WriteOptions(compress: true))
        record("gzip.h5", everything)
        for (index, (_, tensor)) in npzSafe.tensors.enumerated() where index % 3 == 0 {
            let single = StateDict(tensors: ["t\(index)": tensor])
            try NPYFormat.write(single, to: folder.file("t\(index).npy"))
            record("t\(index).npy", single)
        }
        let manifestURL = folder.file("manifest.json")
        try JSONSerialization.data(withJSONObject: ["files": manifest], options: [.sortedKeys]).write(to: manifestURL)

        let (status, text) = try PythonTool.run("check_interop.py", [manifestURL.path])
        #expect(status == 0, "\(text)")
        #expect(text.contains("interop: \(manifest.count) files OK"), "\(text)")
    }
}
