import Foundation

/// Reading and writing tensor files without naming the format: by content when reading, by extension when writing.
public enum TensorFile {
    /// Every format the library reads and writes.
    public static var formats: [any TensorFormat.Type] { [NPYFormat.self, NPZFormat.self, HDF5Format.self, SafeTensorsFormat.self, TorchCheckpointFormat.self, ONNXFormat.self] }

    /// The format of the file at `url`, judged by its first bytes; throws `unknownFormat` when none matches.
    public static func format(of url: URL) throws -> any TensorFormat.Type {
        try format(of: InputFile(path: url.filePath))
    }

    /// The format of an open file, judged by its first bytes (and, for safetensors, which has no magic number,
    /// by the extension of its path or name).
    static func format(of file: InputFile) throws -> any InputFileReading.Type {
        let path = file.path
        let head = try file.bytes(at: 0, count: min(file.size, 16))  // the legacy torch magic needs 14
        if head.starts(with: NPYHeader.magic) { return NPYFormat.self }
        if TorchCheckpointFormat.isLegacyCheckpoint(head) { return TorchCheckpointFormat.self }  // read() explains
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06]) {
            // Both NPZ and torch.save write zip archives; torch's holds `<archive>/data.pkl`.
            if let directory = try? ZipDirectory(file: file) {
                if TorchCheckpointFormat.isCheckpoint(directory) { return TorchCheckpointFormat.self }
                if KerasFormat.isArchive(directory) { return KerasFormat.self }  // .keras: config.json + weights
            }
            return NPZFormat.self
        }
        // An HDF5 superblock may follow a user block of 512, 1024, 2048… bytes.
        var offset = 0
        while offset + 8 <= file.size, offset <= 1 << 20 {
            if try file.bytes(at: offset, count: 8) == HDF5Format.signature { return HDF5Format.self }
            offset = offset == 0 ? 512 : offset * 2
        }
        // safetensors: a little-endian u64 header length N (2 ≤ N ≤ size − 8), then a JSON object.
        if SafeTensorsFormat.matches(file) { return SafeTensorsFormat.self }
        if try ONNXFormat.matches(file) { return ONNXFormat.self }
        if file.size == 0 { throw TensorFileError(path: path, problem: .truncated(expected: 8, found: 0)) }
        if try KerasFormat.isShardMap(file) { return KerasFormat.self }  // Keras's sharded weights
        // safetensors has no magic number: a file named .safetensors whose start does not look like one (cut in its
        // header, a header length past the end, a broken JSON object) goes to its reader, which says what is wrong.
        if URL(fileURLWithPath: path).pathExtension.lowercased() == "safetensors" { return SafeTensorsFormat.self }
        // Likewise a .onnx file that does not start as ONNX models do goes to the ONNX reader, which says why.
        if URL(fileURLWithPath: path).pathExtension.lowercased() == "onnx" { return ONNXFormat.self }
        throw TensorFileError(path: path, problem: .unknownFormat)
    }

    /// The format chosen by `url`'s extension for writing, or nil when the extension is not one of ours.
    public static func format(forExtension url: URL) -> (any TensorFormat.Type)? {
        let ext = url.pathExtension.lowercased()
        return formats.first { $0.fileExtensions.contains(ext) }
    }

    /// Reads the tensors and metadata of the file at `url`, whatever its format.
    ///
    /// With `isolatingHDF5`, an HDF5 file is read in a child process (`HDF5Format.readIsolated`), so that a
    /// hostile file that crashes or hangs libhdf5 gives an error instead of taking this process down.
    public static func read(contentsOf url: URL, isolatingHDF5: Bool = false) throws -> StateDict {
        try read(InputFile(path: url.filePath), isolatingHDF5: isolatingHDF5)
    }

    /// Reads the tensors and metadata of a file's bytes held in memory (a file bundled with an app, downloaded,
    /// or taken from an archive), whatever the format, as `read(contentsOf:)` reads a file. `name` stands for the
    /// file in errors; its extension is what a path's would be (an NPY array's tensor is named after it, and a
    /// `.safetensors` name sends bytes that do not look like any format to that reader, which says why).
    ///
    /// Every format reads from bytes, HDF5 included (libhdf5 opens them as a file image, which it copies). The
    /// bytes are copied once into an anonymous in-memory file (memfd_create) while they are read.
    public static func read(_ data: Data, name: String = "bytes", isolatingHDF5: Bool = false) throws -> StateDict {
        let file = try data.withUnsafeBytes { try InputFile(bytes: $0, name: name) }
        return try read(file, isolatingHDF5: isolatingHDF5)
    }

    static func read(_ file: InputFile, isolatingHDF5: Bool) throws -> StateDict {
        let format = try format(of: file)
        if format == KerasFormat.self { return try KerasFormat.read(file, isolatingHDF5: isolatingHDF5) }
        guard format == HDF5Format.self else { return try format.read(file) }
        let dict = isolatingHDF5 ? try HDF5Format.readIsolated(file) : try HDF5Format.read(file)
        // A Keras .h5 or .weights.h5 becomes the PyTorch state_dict it holds (KerasFile).
        return try KerasFile.convertIfKeras(dict, path: file.path) ?? KerasFile.withoutAttributes(dict)
    }

    /// Writes `stateDict` to `url` in the format its extension names, atomically.
    public static func write(_ stateDict: StateDict, to url: URL, options: WriteOptions = WriteOptions()) throws {
        guard let format = format(forExtension: url) else {
            throw TensorFileError(path: url.filePath, problem: .cannotStore(
                "unknown extension \".\(url.pathExtension)\" (use .npy, .npz, .h5, .hdf5 or .safetensors; .pt is read only)"))
        }
        try format.write(stateDict, to: url, options: options)
    }
}

/// A format that reads from an open `InputFile` (a path's, or bytes held in memory), errors naming `file.path`:
/// every format TensorFile detects, so that `read(contentsOf:)` and `read(_ data:)` share one reader each.
protocol InputFileReading: TensorFormat {
    static func read(_ file: InputFile) throws -> StateDict
}

extension NPYFormat: InputFileReading {}
extension NPZFormat: InputFileReading {}
extension HDF5Format: InputFileReading {}
extension SafeTensorsFormat: InputFileReading {}
extension TorchCheckpointFormat: InputFileReading {}
