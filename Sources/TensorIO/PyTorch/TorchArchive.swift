/// The records of a `torch.save` zip archive: `<archive>/data.pkl` (the pickled object),
/// `<archive>/data/<key>` (one per storage, raw bytes), `<archive>/byteorder`, `<archive>/version`, ….
///
/// torch names the folder after the file (`model/` for `model.pt`) and stores every record uncompressed and
/// 64-byte aligned; deflated records (an archive re-zipped by hand) are read too.
struct TorchArchive {
    /// The largest `data.pkl` read: the pickle describes tensors, it does not hold their data, so even a large
    /// model's is well under a megabyte.
    static let maximumPickleBytes = 256 << 20

    let file: InputFile
    /// The folder every record is in, with its slash (`"model/"`), or `""` for records at the root.
    let folder: String
    /// The `data.pkl` record.
    let pickle: ZipEntry
    private let entries: [String: ZipEntry]

    /// The `data.pkl` records of `directory`: named `data.pkl`, or `data.pkl` in a top-level folder.
    static func pickleEntries(of directory: ZipDirectory) -> [ZipEntry] {
        directory.entries.filter { entry in
            entry.name == "data.pkl"
                || (entry.name.hasSuffix("/data.pkl") && entry.name.dropLast("/data.pkl".count).allSatisfy { $0 != "/" })
        }
    }

    /// True for a TorchScript archive (`torch.jit.save`): it also holds `constants.pkl` and `code/`, which are
    /// never read; its `data.pkl` builds the module's `__torch__` classes.
    let isTorchScript: Bool

    /// The archive in `directory`; throws when it holds no or several `data.pkl` records.
    init(file: InputFile, directory: ZipDirectory) throws {
        let pickles = Self.pickleEntries(of: directory)
        guard let pickle = pickles.first else {
            throw TensorFileError(path: file.path, problem: .malformed("the zip archive has no data.pkl record (not a torch.save checkpoint)"))
        }
        guard pickles.count == 1 else {
            throw TensorFileError(path: file.path, problem: .malformed(
                "the zip archive has \(pickles.count) data.pkl records (\(pickles.map(\.name).joined(separator: ", ")))"))
        }
        self.file = file
        self.pickle = pickle
        folder = String(pickle.name.dropLast("data.pkl".count))
        entries = Dictionary(directory.entries.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let folder = self.folder
        isTorchScript = entries[folder + "constants.pkl"] != nil || directory.entries.contains(where: { $0.name.hasPrefix(folder + "code/") })
    }

    /// The storage record `data/<key>`, if there is one.
    func storage(_ key: String) -> ZipEntry? { entries[folder + "data/" + key] }

    /// True when the `byteorder` record says "big"; a missing record means little-endian, as torch assumes.
    func isBigEndian() throws -> Bool {
        guard let entry = entries[folder + "byteorder"] else { return false }
        guard entry.uncompressedSize <= 16 else {
            throw TensorFileError(path: file.path, tensor: entry.name, problem: .malformed("the byteorder record is \(entry.uncompressedSize) bytes long"))
        }
        let text = String(decoding: try read(entry), as: UTF8.self)
        switch text {
        case "little": return false
        case "big": return true
        default:
            throw TensorFileError(path: file.path, tensor: entry.name, problem: .malformed("byteorder is \"\(text)\", not \"little\" or \"big\""))
        }
    }

    /// The bytes of `data.pkl`, CRC-checked; throws `tooLarge` beyond `maximumPickleBytes`.
    func pickleBytes() throws -> [UInt8] {
        guard pickle.uncompressedSize <= Self.maximumPickleBytes else {
            throw TensorFileError(path: file.path, tensor: pickle.name, problem: .tooLarge(
                "data.pkl is \(pickle.uncompressedSize) bytes, more than the \(Self.maximumPickleBytes) read"))
        }
        return try read(pickle)
    }

    /// The whole (small) record `entry`, CRC-checked.
    private func read(_ entry: ZipEntry) throws -> [UInt8] {
        var source = ZipEntrySource(file: file, entry: entry)
        var bytes = [UInt8](repeating: 0, count: entry.uncompressedSize)
        let count = try bytes.withUnsafeMutableBytes { try source.readFully(into: $0) }
        guard count == bytes.count else {
            throw TensorFileError(path: file.path, tensor: entry.name, problem: .truncated(expected: bytes.count, found: count))
        }
        try source.finish()
        return bytes
    }

    /// Fills `buffer` with the whole storage record `entry` (exactly `buffer.count` bytes), CRC-checked; errors
    /// name `tensor`.
    func readStorage(_ entry: ZipEntry, into buffer: UnsafeMutableRawBufferPointer, tensor: String) throws {
        var source = ZipEntrySource(file: file, entry: entry, displayName: tensor)
        let count: Int
        do { count = try source.readFully(into: buffer) } catch let error as TensorFileError {
            throw error.inTensor(tensor)
        }
        guard count == buffer.count else {
            throw TensorFileError(path: file.path, tensor: tensor, problem: .truncated(expected: buffer.count, found: count))
        }
        try source.finish()
    }
}
