import Foundation
import Testing
import TestSupport
import TensorIO

/// Replays the committed fuzzing corpora (Fixtures/fuzz/<target>/: seeds, merged finds and, under regressions/,
/// the minimized inputs that once crashed a parser) through the same entry points the fuzz targets use.
///
/// A regression crashes the test process, which is the point; a run under `tools/asan.sh` replays them with
/// the address sanitizer too. One target at a time: the file-based entry points reuse one scratch file each.
@Suite(.serialized)
struct FuzzRegressionTests {
    static func entryPoint(_ target: String) -> ((UnsafeRawBufferPointer) -> Void)? {
        switch target {
        case "npy": FuzzEntryPoints.npy
        case "zip": FuzzEntryPoints.zip
        case "safetensors": FuzzEntryPoints.safeTensors
        case "pickle": FuzzEntryPoints.pickle
        case "onnx": FuzzEntryPoints.onnx
        default: nil
        }
    }

    @Test(arguments: ["npy", "zip", "safetensors", "pickle", "onnx"])
    func committedFuzzInputsRunWithoutCrashing(_ target: String) throws {
        let entry = try #require(Self.entryPoint(target))
        defer { FuzzEntryPoints.removeScratchFile() }
        let folder = Repository.fixture("fuzz/" + target)
        let walker = try #require(FileManager.default.enumerator(atPath: folder.path))
        var count = 0
        while let relative = walker.nextObject() as? String {
            let url = folder.appending(path: relative)
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), !isFolder.boolValue else { continue }
            try Data(contentsOf: url).withUnsafeBytes { entry($0) }
            count += 1
        }
        #expect(count > 0, "no inputs in Fixtures/fuzz/\(target)")
    }
}
