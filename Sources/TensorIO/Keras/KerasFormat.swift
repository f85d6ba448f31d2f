import Foundation

/// Keras 3's own files that are not plain HDF5, read as PyTorch state_dicts (`KerasFile` says how):
/// - `.keras`: a zip of `metadata.json`, `config.json` (the model's configuration) and `model.weights.h5`;
/// - sharded weights (`save_weights("m.weights.json", max_shard_size=…)`): a JSON `weight_map` naming
///   `.weights.h5` shards in the same folder, read together as one `.weights.h5`.
///
/// Legacy `.h5` and `.weights.h5` files are HDF5 and go through `HDF5Format` first. Writing Keras files needs a
/// model's configuration: `RNN.writeKeras` (RNNKit) writes them.
public enum KerasFormat: TensorFormat {
    public static let name = "Keras"
    public static let fileExtensions = ["keras"]

    /// `config.json` and `metadata.json` are read up to this size; `model.weights.h5` up to the file's own.
    static let maximumConfigBytes = 64 << 20
    /// Shards a `.weights.json` may name.
    static let maximumShards = 10_000

    public static func read(contentsOf url: URL) throws -> StateDict {
        try read(InputFile(path: url.filePath), isolatingHDF5: false)
    }

    /// Always refuses: a Keras file is a model, written from one (`RNN.writeKeras`), not from tensors alone.
    public static func write(_ stateDict: StateDict, to url: URL, options: WriteOptions) throws {
        throw TensorFileError(path: url.filePath, problem: .cannotStore(
            "a Keras file holds a model: write it from an RNN (rnn-convert, RNN.writeKeras), not from tensors"))
    }

    /// True for a zip holding `config.json` and `model.weights.h5`.
    static func isArchive(_ directory: ZipDirectory) -> Bool {
        let names = Set(directory.entries.map(\.name))
        return names.contains("config.json") && names.contains("model.weights.h5")
    }

    /// True for a JSON object whose first 64 KiB mention `weight_map`: Keras's map of weight shards.
    static func isShardMap(_ file: InputFile) throws -> Bool {
        let head = try file.bytes(at: 0, count: min(file.size, 1 << 16))
        guard let first = head.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }), first == UInt8(ascii: "{") else { return false }
        return String(decoding: head, as: UTF8.self).contains("\"weight_map\"")
    }

    static func read(_ file: InputFile, isolatingHDF5: Bool) throws -> StateDict {
        let head = try file.bytes(at: 0, count: min(file.size, 4))
        if head.starts(with: [0x50, 0x4B]) { return try readArchive(file, isolatingHDF5: isolatingHDF5) }
        return try readShards(file, isolatingHDF5: isolatingHDF5)
    }

    /// The bytes of one member of `directory`, at most `limit`.
    static func contents(of name: String, in directory: ZipDirectory, file: InputFile, limit: Int) throws -> [UInt8] {
        guard let entry = directory.entries.first(where: { $0.name == name }) else {
            throw TensorFileError(path: file.path, tensor: name, problem: .malformed("the .keras archive has no \(name)"))
        }
        guard entry.uncompressedSize <= limit else {
            throw TensorFileError(path: file.path, tensor: name, problem: .tooLarge("\(entry.uncompressedSize) bytes (at most \(limit))"))
        }
        var source = ZipEntrySource(file: file, entry: entry)
        var bytes = [UInt8](repeating: 0, count: entry.uncompressedSize)
        let count = try bytes.withUnsafeMutableBytes { try source.readFully(into: $0) }
        guard count == entry.uncompressedSize else {
            throw TensorFileError(path: file.path, tensor: name, problem: .truncated(expected: entry.uncompressedSize, found: count))
        }
        try source.finish()
        return bytes
    }

    static func readArchive(_ file: InputFile, isolatingHDF5: Bool) throws -> StateDict {
        let directory = try ZipDirectory(file: file)
        let configBytes = try contents(of: "config.json", in: directory, file: file, limit: maximumConfigBytes)
        guard let json = SafeTensorsJSON.parse(configBytes) else {
            throw TensorFileError(path: file.path, tensor: "config.json", problem: .malformed("not a JSON value"))
        }
        let config = try KerasConfig(json, path: file.path)
        var global: StateDict.Metadata = [:]
        if directory.entries.contains(where: { $0.name == "metadata.json" }),
           let metadata = SafeTensorsJSON.parse(try contents(of: "metadata.json", in: directory, file: file, limit: maximumConfigBytes)),
           let version = metadata["keras_version"]?.text
        {
            global["keras_version"] = version
        }
        let weightBytes = try contents(of: "model.weights.h5", in: directory, file: file, limit: file.size)
        guard weightBytes.starts(with: HDF5Format.signature) else {
            throw TensorFileError(path: file.path, tensor: "model.weights.h5", problem: .unknownFormat)
        }
        let weights: StateDict
        do {
            let inner = try weightBytes.withUnsafeBytes { try InputFile(bytes: $0, name: file.path) }
            weights = isolatingHDF5 ? try HDF5Format.readIsolated(inner) : try HDF5Format.read(inner)
        } catch var error as TensorFileError {
            // The archive is the file the user named; the member is where it went wrong.
            error.path = file.path
            if error.tensor == nil { error.tensor = "model.weights.h5" }
            throw error
        }
        return try KerasFile.convert(weights: weights, config: config, kind: .archive, global: global, path: file.path)
    }

    /// The recurrent layers a `.keras` archive's `config.json` describes, checked as reading checks them, without
    /// its weights (for the fuzz target: the weights are libhdf5's to parse).
    static func configuredLayers(of file: InputFile) throws -> [KerasFile.Layer] {
        let directory = try ZipDirectory(file: file)
        let configBytes = try contents(of: "config.json", in: directory, file: file, limit: maximumConfigBytes)
        guard let json = SafeTensorsJSON.parse(configBytes) else {
            throw TensorFileError(path: file.path, tensor: "config.json", problem: .malformed("not a JSON value"))
        }
        let config = try KerasConfig(json, path: file.path)
        try KerasFile.checkMasking(config, path: file.path)
        return try config.layers.compactMap { try KerasFile.configured($0, in: config, path: file.path) }
    }

    static func readShards(_ file: InputFile, isolatingHDF5: Bool) throws -> StateDict {
        func fail(_ detail: String) -> TensorFileError {
            TensorFileError(path: file.path, problem: .malformed(detail))
        }
        guard file.size <= maximumConfigBytes else { throw TensorFileError(path: file.path, problem: .tooLarge("\(file.size) bytes of JSON")) }
        guard let json = SafeTensorsJSON.parse(try file.bytes(at: 0, count: file.size)), case .object(let map)? = json["weight_map"] else {
            throw fail("not a Keras weight map (a JSON object with a weight_map object)")
        }
        var shards: [String] = []
        for member in map {
            for shard in member.value.items ?? [member.value] {
                guard let name = shard.text else { throw fail("weight_map entry \"\(member.key)\" does not name a shard file") }
                guard !name.isEmpty, !name.contains("/"), !name.contains("\\"), name != ".", name != "..", !name.contains("\0") else {
                    throw TensorFileError(path: file.path, tensor: name, problem: .unsafeName("a shard must be a file beside the map, named without a folder"))
                }
                if !shards.contains(name) { shards.append(name) }
            }
        }
        guard !shards.isEmpty else { throw fail("weight_map names no shard") }
        guard shards.count <= maximumShards else { throw fail("weight_map names \(shards.count) shards (at most \(maximumShards))") }
        guard !file.isInMemory else {
            throw TensorFileError(path: file.path, problem: .unsupportedFeature("sharded weights are read from their folder: read the .weights.json file by its path"))
        }
        let folder = URL(fileURLWithPath: file.path).deletingLastPathComponent()
        var merged = StateDict()
        for shard in shards {
            let part: StateDict
            do {
                let shardFile = try InputFile(path: folder.appendingPathComponent(shard).filePath)
                part = isolatingHDF5 ? try HDF5Format.readIsolated(shardFile) : try HDF5Format.read(shardFile)
            } catch var error as TensorFileError {
                // Named as the map (the file the user gave) and the shard at fault.
                error.path = file.path
                error.tensor = error.tensor.map { "\(shard): \($0)" } ?? shard
                throw error
            }
            for (name, tensor) in part.tensors {
                guard merged.tensors.updateValue(tensor, forKey: name) == nil else {
                    throw TensorFileError(path: file.path, tensor: shard, problem: .duplicateName(name))
                }
            }
            for (key, value) in part.metadata where merged.metadata[key] == nil { merged.metadata[key] = value }
        }
        return try KerasFile.convert(weights: merged, config: nil, kind: .weights, path: file.path)
    }
}

extension KerasFormat: InputFileReading {
    static func read(_ file: InputFile) throws -> StateDict { try read(file, isolatingHDF5: false) }
}
