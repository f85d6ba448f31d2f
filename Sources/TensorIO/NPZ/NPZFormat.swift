import Foundation

/// NPZ, numpy's zip of NPY arrays (`numpy.savez`, `numpy.savez_compressed`).
///
/// Reading: every member must be an NPY array; its name without `.npy` is the tensor's name. Metadata is the
/// member `__metadata__`, a single unicode string holding a JSON object of strings (the convention our writer
/// uses); any other member holding a single string becomes one metadata entry. Writing: one stored member per
/// tensor (deflated with `compress`), then `__metadata__` when there is metadata.
public enum NPZFormat: TensorFormat {
    public static let name = "NPZ"
    public static let fileExtensions = ["npz"]
    /// The member that carries the state_dict's metadata as a JSON object.
    public static let metadataEntry = "__metadata__"

    public static func read(contentsOf url: URL) throws -> StateDict {
        try read(InputFile(path: url.filePath))
    }

    /// Reads an open file (a path's, or bytes held in memory); errors name `file.path`.
    static func read(_ file: InputFile) throws -> StateDict {
        let path = file.path
        let directory = try ZipDirectory(file: file)
        // Deflated arrays are inflated first, all cores at once; the loop below then decodes every member in
        // order, so the result and the first error are those of reading one member after another.
        let deflated = directory.entries.indices.filter {
            directory.entries[$0].method == .deflated && directory.entries[$0].name.hasSuffix(".npy")
        }
        var inflated = [InflatedEntry?](repeating: nil, count: directory.entries.count)
        for (index, entry) in zip(deflated, InflatedEntry.inflateAll(deflated.map { directory.entries[$0] }, from: file)) {
            inflated[index] = entry
        }
        var result = StateDict()
        for (index, entry) in directory.entries.enumerated() {
            if entry.name.hasSuffix("/"), entry.uncompressedSize == 0 { continue }  // a folder
            guard entry.name.hasSuffix(".npy") else {
                throw TensorFileError(path: path, tensor: entry.name, problem: .unsupportedFeature(
                    "archive member is not an .npy array"))
            }
            let name = String(entry.name.dropLast(4))
            var source = ZipEntrySource(file: file, entry: entry, displayName: name, inflated: inflated[index].take())
            let array = try NPYArray.read(from: &source, path: path, name: name)
            try source.finish()
            switch array {
            case .tensor(let tensor):
                guard result.tensors.updateValue(tensor, forKey: name) == nil else {
                    throw TensorFileError(path: path, problem: .duplicateName(name))
                }
            case .string(let text) where name == metadataEntry:
                for (key, value) in try decodeMetadata(text, path: path) { result.metadata[key] = value }
            case .string(let text):
                result.metadata[name] = text
            }
        }
        return result
    }

    public static func write(_ stateDict: StateDict, to url: URL, options: WriteOptions = WriteOptions()) throws {
        try write(stateDict, to: url, options: options, forceZip64: false)
    }

    /// `write(_:to:options:)`, optionally with ZIP64 records even for small archives (for tests).
    static func write(_ stateDict: StateDict, to url: URL, options: WriteOptions, forceZip64: Bool) throws {
        let path = url.filePath
        if stateDict.tensors[metadataEntry] != nil {
            throw TensorFileError(path: path, tensor: metadataEntry, problem: .cannotStore(
                "the name \(metadataEntry) is reserved for metadata in NPZ"))
        }
        // Headers first: a bfloat16 tensor fails here, before the file is created.
        let headers = try stateDict.tensors.map { name, tensor in try NPYArray.header(for: tensor, path: path, name: name) }
        let metadata = stateDict.metadata.isEmpty ? nil : try encodeMetadata(stateDict.metadata)
        try AtomicOutput.write(to: path, replacing: options.replaceExisting) { file in
            var archive = ZipWriter(file: file, forceZip64: forceZip64)
            for ((name, tensor), header) in zip(stateDict.tensors, headers) {
                try header.withUnsafeBytes { headerBytes in
                    try tensor.withUnsafeBytes { data in
                        try archive.add(name: name + ".npy", parts: [headerBytes, data], compress: options.compress)
                    }
                }
            }
            if let metadata {
                try metadata.withUnsafeBytes { bytes in
                    try archive.add(name: metadataEntry + ".npy", parts: [bytes], compress: options.compress)
                }
            }
            try archive.finish()
        }
    }

    /// The JSON object in a `__metadata__` string, as ordered string pairs; non-string values are refused.
    private static func decodeMetadata(_ text: String, path: String) throws -> [(String, String)] {
        guard let pairs = JSONStringObject.parse(text) else {
            throw TensorFileError(path: path, tensor: metadataEntry, problem: .malformed("metadata is not a JSON object of strings"))
        }
        return pairs
    }

    /// The NPY bytes of a 0-d `<U` array holding `metadata` as a JSON object (keys in order).
    private static func encodeMetadata(_ metadata: StateDict.Metadata) throws -> [UInt8] {
        let scalars = Array(JSONStringObject.encode(metadata.elements).unicodeScalars)
        var bytes = NPYHeader.encode(descr: "<U\(scalars.count)", shape: [])
        for scalar in scalars { bytes.appendLittleEndian(scalar.value) }
        return bytes
    }
}
