import Foundation

/// PyTorch checkpoints (`.pt`, `.pth`) as `torch.save` writes them since PyTorch 1.6: a zip archive holding a
/// pickle (`data.pkl`) that describes the object and one record per tensor storage. Read only.
///
/// Reading keeps the promise of `torch.load(weights_only=True)`: the pickle is run by a restricted unpickler
/// (`PickleMachine`) that knows plain data, `OrderedDict`, torch's tensor rebuild functions, storage types
/// and dtypes, and refuses any other global or opcode with an error naming it — nothing is imported or
/// executed. Then every tensor's view is checked against its storage before any data is read, and the
/// storages are read (straight into the tensor when it is its whole storage), gathered into row-major order
/// when the tensor is a strided view, and byte-swapped if the archive's `byteorder` says "big".
///
/// The object may be a state_dict or any nesting of dicts, lists and tuples (`{"epoch": 3, "model":
/// state_dict, "optimizer": …}`): its tensors are named by their path, joined with dots
/// (`model.rnn.weight_ih_l0`, `optimizer.state.0.exp_avg`, `layers.0`); values that are not tensors are
/// left out (see `CheckpointFlattener`). A checkpoint that is a single tensor gives one tensor named after
/// the file. A checkpoint has no metadata.
///
/// TorchScript archives (`torch.jit.save`: the same zip plus `constants.pkl` and `code/`, under a folder
/// named after the model) are read the same way, their `__torch__` module classes taken as inert bags of
/// attributes and their code never read: the parameters and buffers come out as `module.state_dict()` names
/// them, with each torch.nn RNN module's constructor arguments as metadata under its name, and metadata
/// `torchscript` naming the archive's folder.
///
/// Refused with a clear error: the legacy format (`_use_new_zipfile_serialization=False`, before 1.6),
/// complex and quantized tensors, tensor subclasses.
///
/// Limits against hostile files: the output tensors together may hold at most
/// `maximumExpansion` × the storages' bytes plus 1 GiB (views that repeat elements, such as `expand`, are
/// the only way past the storages' size), besides the unpickler's and the flattener's own bounds.
public enum TorchCheckpointFormat: TensorFormat {
    public static let name = "PyTorch checkpoint"
    public static let fileExtensions = ["pt", "pth"]

    /// How many times the storages' bytes the tensors may hold together (plus 1 GiB), see the type's comment.
    static let maximumExpansion = 4

    /// The first 14 bytes of a legacy (pre-1.6) `torch.save` file after the protocol byte: a pickled
    /// LONG1 holding torch's magic number 0x1950a86a20f9469cfc6c.
    static let legacyMagic: [UInt8] = [0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]

    /// True when `head` (a file's first bytes, at least 14) starts like a legacy `torch.save` file:
    /// PROTO, a protocol number, then the magic number.
    package static func isLegacyCheckpoint(_ head: [UInt8]) -> Bool {
        head.count >= 2 + legacyMagic.count && head[0] == 0x80 && head[2..<(2 + legacyMagic.count)].elementsEqual(legacyMagic)
    }

    /// True when the zip archive `directory` is a `torch.save` checkpoint (it has a `data.pkl` record at its
    /// root or in a top-level folder) rather than an NPZ.
    static func isCheckpoint(_ directory: ZipDirectory) -> Bool {
        !TorchArchive.pickleEntries(of: directory).isEmpty
    }

    /// Reads every tensor of the checkpoint at `url`, named by its path through the checkpoint's containers;
    /// throws `TensorFileError` (a refused global or opcode is `unsupportedFeature` naming it).
    public static func read(contentsOf url: URL) throws -> StateDict {
        try read(InputFile(path: url.filePath))
    }

    /// Reads an open file (a path's, or bytes held in memory); errors name `file.path`.
    static func read(_ file: InputFile) throws -> StateDict {
        let path = file.path
        if isLegacyCheckpoint(try file.bytes(at: 0, count: min(file.size, 2 + legacyMagic.count))) {
            throw TensorFileError(path: path, problem: .unsupportedFeature(
                "legacy (pre-1.6) torch.save format; re-save with torch.save(..., _use_new_zipfile_serialization=True)"))
        }
        let archive = try TorchArchive(file: file, directory: try ZipDirectory(file: file))
        let (named, metadata) = try PickleMachine.load(try archive.pickleBytes(), path: path, record: archive.pickle.name,
                                                       torchScript: archive.isTorchScript) { root in
            try CheckpointFlattener.flatten(root, bareTensorName: file.stem, path: path)
        }
        let tensors = try materialize(named, from: archive, path: path)
        var result = StateDict()
        for (key, value) in metadata { result.metadata[key] = value }
        if archive.isTorchScript { result.metadata["torchscript"] = String(archive.folder.dropLast()) }
        for ((name, _), tensor) in zip(named, tensors) {
            guard result.tensors.updateValue(tensor, forKey: name) == nil else {
                throw TensorFileError(path: path, problem: .duplicateName(name))
            }
        }
        return result
    }

    /// Always throws `cannotStore`: checkpoints are read only.
    public static func write(_ stateDict: StateDict, to url: URL, options: WriteOptions = WriteOptions()) throws {
        throw TensorFileError(path: url.filePath, problem: .cannotStore(
            "PyTorch checkpoints are read only; write NPZ, HDF5 or safetensors"))
    }

    /// The tensors of `named`, in order: every view checked, then each storage read once.
    private static func materialize(
        _ named: [(name: String, tensor: TensorReference)], from archive: TorchArchive, path: String
    ) throws -> [Tensor] {
        // One tensor object may appear under several names (tied weights): it is read once.
        var slots: [ObjectIdentifier: Int] = [:]
        var references: [(name: String, tensor: TensorReference)] = []
        let slotOfName = named.map { name, tensor in
            let id = ObjectIdentifier(tensor)
            if let slot = slots[id] { return slot }
            slots[id] = references.count
            references.append((name, tensor))
            return references.count - 1
        }

        // Check every storage record and every view before reading anything.
        var records: [String: (entry: ZipEntry, bytes: Int)] = [:]
        var views: [StorageView] = []
        var storageTotal = 0
        var outputTotal = 0
        for (name, tensor) in references {
            let storage = tensor.storage
            if records[storage.key] == nil {
                guard let entry = archive.storage(storage.key) else {
                    throw TensorFileError(path: path, tensor: name, problem: .malformed(
                        "its storage record \(archive.folder)data/\(storage.key) is missing"))
                }
                let (bytes, overflow) = storage.elementCount.multipliedReportingOverflow(by: storage.type.dtype.byteSize)
                guard !overflow, bytes == entry.uncompressedSize else {
                    throw TensorFileError(path: path, tensor: name, problem: .malformed(
                        "storage record \(entry.name) holds \(entry.uncompressedSize) bytes, but its persistent id declares \(storage.elementCount) × \(storage.type.qualifiedName)"))
                }
                records[storage.key] = (entry, bytes)
                storageTotal += bytes  // each record lies inside the file: no overflow
            }
            let view = try StorageView(tensor, storageBytes: records[storage.key]!.bytes, path: path, name: name)
            views.append(view)
            outputTotal = outputTotal.addingReportingOverflow(view.byteCount).overflow ? .max : outputTotal + view.byteCount
        }
        let allowed = storageTotal.multipliedReportingOverflow(by: maximumExpansion).partialValue + (1 << 30)
        guard outputTotal <= allowed else {
            throw TensorFileError(path: path, problem: .tooLarge(
                "the tensors' views would make \(outputTotal) bytes from \(storageTotal) bytes of storage"))
        }

        let swap = try archive.isBigEndian()
        var tensors = [Tensor?](repeating: nil, count: references.count)
        var byStorage: [String: [Int]] = [:]
        var storageOrder: [String] = []
        for (index, (_, tensor)) in references.enumerated() {
            if byStorage[tensor.storage.key] == nil { storageOrder.append(tensor.storage.key) }
            byStorage[tensor.storage.key, default: []].append(index)
        }
        for key in storageOrder {
            let users = byStorage[key]!
            let record = records[key]!
            let firstName = references[users[0]].name
            func makeTensor(_ index: Int) throws -> Tensor {
                do { return try Tensor(zeros: views[index].dtype, shape: views[index].shape) } catch {
                    throw TensorFileError(path: path, tensor: references[index].name, problem: .invalidShape(views[index].shape))
                }
            }
            // A tensor that is its whole storage receives the record directly; the others are gathered from it,
            // or from a temporary copy of the record when no tensor is the whole storage.
            if let whole = users.first(where: { views[$0].isWholeStorage }) {
                var tensor = try makeTensor(whole)
                try tensor.withUnsafeMutableBytes { try archive.readStorage(record.entry, into: $0, tensor: references[whole].name) }
                for index in users where index != whole {
                    if views[index].isWholeStorage, views[index].dtype == views[whole].dtype {
                        tensors[index] = tensor  // shares the bytes until one is written to
                        continue
                    }
                    var gathered = try makeTensor(index)
                    tensor.withUnsafeBytes { source in gathered.withUnsafeMutableBytes { views[index].gather(from: source, into: $0) } }
                    tensors[index] = gathered
                }
                tensors[whole] = tensor
            } else {
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(record.bytes, 1), alignment: TensorStorage.alignment)
                defer { buffer.deallocate() }
                let data = UnsafeMutableRawBufferPointer(rebasing: buffer[..<record.bytes])
                try archive.readStorage(record.entry, into: data, tensor: firstName)
                for index in users {
                    var gathered = try makeTensor(index)
                    gathered.withUnsafeMutableBytes { views[index].gather(from: UnsafeRawBufferPointer(data), into: $0) }
                    tensors[index] = gathered
                }
            }
            for index in users {
                if swap { tensors[index]!.withUnsafeMutableBytes { ByteOrder.swap($0, elementSize: views[index].dtype.byteSize) } }
                if views[index].dtype == .bool, tensors[index]!.withUnsafeBytes({ $0.contains { $0 > 1 } }) {
                    throw TensorFileError(path: path, tensor: references[index].name, problem: .malformed("bool data holds a byte other than 0 or 1"))
                }
            }
        }
        return slotOfName.map { tensors[$0]! }
    }
}
