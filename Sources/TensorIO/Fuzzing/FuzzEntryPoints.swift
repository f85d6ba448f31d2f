import Foundation

/// Entry points for the fuzz targets in `Fuzz/` (`fuzz-npy`, `fuzz-zip`, `fuzz-safetensors`, `fuzz-pickle`, `fuzz-onnx`),
/// not part of the library's API (package access only).
///
/// Each feeds arbitrary bytes to one parser. A `TensorFileError` is the expected outcome of a bad input and is
/// swallowed; any other error, a broken invariant (an NPY error that names no tensor, a tensor that does not
/// survive being written and read back) or a trap ends the process, which the fuzzer reports as a crash. The
/// same functions replay committed crash files in the targets' plain (non-fuzzing) builds.
package enum FuzzEntryPoints {
    /// Inputs that start with the NPY magic are decoded as a whole `.npy` array from memory (`NPYArray.read`),
    /// and a decoded tensor must come back identical after being encoded and decoded again; any other input is
    /// parsed as the text of an NPY header dict (`NPYHeader.parse`).
    package static func npy(_ data: UnsafeRawBufferPointer) {
        guard data.starts(with: NPYHeader.magic) else {
            do { _ = try NPYHeader.parse(String(decoding: data, as: UTF8.self)) } catch {
                if case .source(let inner) = error { unexpected(inner) }
            }
            return
        }
        let name = "fuzz"
        var source = MemorySource(data)
        let array: NPYArray
        do { array = try NPYArray.read(from: &source, path: "fuzz.npy", name: name) } catch let error as TensorFileError {
            if error.tensor != name { fatalError("an NPY error names no tensor: \(error)") }
            return
        } catch {
            unexpected(error)
        }
        guard case .tensor(let tensor) = array else { return }
        do {
            var bytes = try NPYArray.header(for: tensor, path: "fuzz.npy", name: name)
            tensor.withUnsafeBytes { bytes += $0 }
            let again = try bytes.withUnsafeBytes { encoded in
                var source = MemorySource(encoded, pieceSize: 4096)
                return try NPYArray.read(from: &source, path: "again.npy", name: name)
            }
            guard case .tensor(let reread) = again, reread == tensor else {
                fatalError("\(tensor) changed when written as NPY and read back")
            }
        } catch {
            fatalError("\(tensor) could not be written as NPY and read back: \(error)")
        }
    }

    /// The input as a file: its zip directory (`ZipDirectory`), every entry inflated and CRC-checked in pieces
    /// (`ZipEntrySource`), then the whole file read as whatever format its first bytes say (NPZ, a PyTorch
    /// checkpoint, a .keras model's configuration, …; HDF5, read by libhdf5 in a child process in practice, is
    /// skipped).
    package static func zip(_ data: UnsafeRawBufferPointer) {
        let scratch = zipScratch
        guard scratch.write(data), let file = try? InputFile(path: scratch.path) else { return }
        expectFileError {
            let directory = try ZipDirectory(file: file)
            var piece = [UInt8](repeating: 0, count: 1 << 16)
            for entry in directory.entries where entry.uncompressedSize <= 1 << 24 {
                var source = ZipEntrySource(file: file, entry: entry)
                while try piece.withUnsafeMutableBytes({ try source.read(into: $0) }) > 0 {}
                try source.finish()
            }
        }
        expectFileError {
            let url = URL(fileURLWithPath: scratch.path)
            let format = try TensorFile.format(of: url)
            if format == KerasFormat.self {
                // A .keras: its configuration through the Keras reader's checks; its model.weights.h5 is libhdf5's.
                _ = try KerasFormat.configuredLayers(of: file)
            } else if format != HDF5Format.self {
                _ = try format.read(contentsOf: url)
            }
        }
    }

    /// The input as a safetensors file: format detection, the header check (`SafeTensorsHeader.read`), the whole
    /// read, and, for a file that reads, the same tensors written by our writer must read back identical.
    package static func safeTensors(_ data: UnsafeRawBufferPointer) {
        let scratch = safeTensorsScratch
        guard scratch.write(data), let file = try? InputFile(path: scratch.path) else { return }
        _ = SafeTensorsFormat.matches(file)
        var stateDict: StateDict?
        expectFileError {
            _ = try SafeTensorsHeader.read(from: file)
            stateDict = try SafeTensorsFormat.read(contentsOf: URL(fileURLWithPath: scratch.path))
        }
        guard let stateDict else { return }
        do {
            let header = try SafeTensorsHeader(layingOut: stateDict, path: "again.safetensors")
            var bytes = header.encoded()
            for entry in header.entries { stateDict.tensors[entry.name]!.withUnsafeBytes { bytes += $0 } }
            let again = FuzzScratchFile(label: "safetensors-again")
            defer { again.remove() }
            guard bytes.withUnsafeBytes({ again.write($0) }) else { return }
            let reread = try SafeTensorsFormat.read(contentsOf: URL(fileURLWithPath: again.path))
            guard reread.metadata == stateDict.metadata, reread.tensors.count == stateDict.tensors.count,
                  stateDict.tensors.allSatisfy({ reread.tensors[$0.key] == $0.value })
            else { fatalError("the tensors changed when written as safetensors and read back") }
        } catch {
            fatalError("a safetensors file that reads could not be written and read back: \(error)")
        }
    }

    /// The input as a checkpoint's `data.pkl`: the restricted unpickler (`PickleMachine`), the naming of its
    /// tensors (`CheckpointFlattener`), and for each tensor whose storage is small, the view check
    /// (`StorageView`) and the gather of its elements from a storage of exactly the declared size.
    /// Both as a checkpoint's and as a TorchScript archive's (`__torch__` classes, NEWOBJ and BUILD of them).
    package static func pickle(_ data: UnsafeRawBufferPointer) {
        let path = "fuzz.pt"
        for torchScript in [false, true] {
            expectFileError {
                try PickleMachine.load([UInt8](data), path: path, record: "fuzz/data.pkl", torchScript: torchScript) { root in
                    try checkViews(try CheckpointFlattener.flatten(root, bareTensorName: "fuzz", path: path).tensors, path: path)
                }
            }
        }
    }

    /// The input as an ONNX model held in memory: the protobuf decoding, the search for recurrent nodes, the
    /// evaluation of their constant inputs and the conversion to PyTorch's tensors (`ONNXFormat`); external data
    /// is refused from memory, so nothing outside the input is read.
    package static func onnx(_ data: UnsafeRawBufferPointer) {
        expectFileError {
            let file = try InputFile(bytes: data, name: "fuzz.onnx")
            _ = try ONNXFormat.read(file)
        }
    }

    private static func checkViews(_ tensors: [(name: String, tensor: TensorReference)], path: String) throws {
        for (name, reference) in tensors {
            let storage = reference.storage
            let (storageBytes, overflow) = storage.elementCount.multipliedReportingOverflow(by: storage.type.dtype.byteSize)
            guard !overflow, storageBytes <= 1 << 20 else { continue }
            let view = try StorageView(reference, storageBytes: storageBytes, path: path, name: name)
            guard view.byteCount <= 1 << 22 else { continue }
            // Exactly the declared sizes, so that the address sanitizer sees any access past them.
            let source = UnsafeMutableRawBufferPointer.allocate(byteCount: storageBytes, alignment: 16)
            let target = UnsafeMutableRawBufferPointer.allocate(byteCount: view.byteCount, alignment: 16)
            defer { source.deallocate(); target.deallocate() }
            source.initializeMemory(as: UInt8.self, repeating: 0xA5)
            view.gather(from: UnsafeRawBufferPointer(source), into: target)
        }
    }

    /// Runs `entry` over every file named in `paths` (folders: every file in them, recursively), the way a fuzz
    /// target built without `-sanitize=fuzzer` replays its corpus and crash files; prints a count, returns 0.
    /// An unreadable path is reported and makes the result 1; a crash is a crash.
    package static func replay(_ paths: [String], through entry: (UnsafeRawBufferPointer) -> Void) -> Int32 {
        var files: [String] = []
        var status: Int32 = 0
        for path in paths {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                FileHandle.standardError.write(Data("no such file: \(path)\n".utf8))
                status = 1
                continue
            }
            guard isFolder.boolValue else { files.append(path); continue }
            let walker = FileManager.default.enumerator(atPath: path)
            while let relative = walker?.nextObject() as? String {
                var isSub: ObjCBool = false
                let full = path + "/" + relative
                if FileManager.default.fileExists(atPath: full, isDirectory: &isSub), !isSub.boolValue { files.append(full) }
            }
        }
        for file in files.sorted() {
            guard let data = FileManager.default.contents(atPath: file) else {
                FileHandle.standardError.write(Data("cannot read \(file)\n".utf8))
                status = 1
                continue
            }
            data.withUnsafeBytes { entry($0) }
        }
        removeScratchFile()
        print("replayed \(files.count) inputs")
        return status
    }

    /// Removes the files that `zip` and `safeTensors` write each input to (call once, after the last input).
    package static func removeScratchFile() {
        zipScratch.remove()
        safeTensorsScratch.remove()
    }

    /// One file per entry point, so that they can run at the same time (the tests replay the corpora in parallel).
    private static let zipScratch = FuzzScratchFile(label: "zip")
    private static let safeTensorsScratch = FuzzScratchFile(label: "safetensors")

    private static func expectFileError(_ body: () throws -> Void) {
        do { try body() } catch is TensorFileError {} catch { unexpected(error) }
    }

    private static func unexpected(_ error: any Error) -> Never {
        fatalError("a parser threw \(type(of: error)) instead of a TensorFileError: \(error)")
    }
}
