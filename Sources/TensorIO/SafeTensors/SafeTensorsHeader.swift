/// The header of a safetensors file: where each tensor's bytes lie in the buffer after it, plus string metadata.
///
/// The layout (huggingface/safetensors): an 8-byte little-endian length N, N bytes of UTF-8 JSON mapping each
/// tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to the buffer) with an
/// optional `"__metadata__"` object of strings, then the buffer. Reading validates the whole header against the
/// file in one pass (as the reference's `Metadata::validate`) before any tensor data is touched.
struct SafeTensorsHeader {
    /// One tensor's place in the buffer.
    struct Entry: Equatable {
        let name: String
        let dtype: DType
        let shape: [Int]
        /// The tensor's bytes are `begin..<end` of the buffer.
        let begin: Int
        let end: Int
    }

    /// The reference implementation refuses longer headers (`MAX_HEADER_SIZE`, 100 MB); so do we.
    static let maximumLength = 100_000_000
    /// The key under which the header keeps the metadata.
    static let metadataKey = "__metadata__"

    /// The tensors in the order of their data (by begin, then end, then name for zero-sized tensors).
    var entries: [Entry]
    /// The `__metadata__` pairs in the header's order.
    var metadata: StateDict.Metadata
    /// Where the buffer starts in the file: 8 plus the header's length.
    var dataOffset: Int

    private init(entries: [Entry], metadata: StateDict.Metadata, dataOffset: Int) {
        self.entries = entries
        self.metadata = metadata
        self.dataOffset = dataOffset
    }

    // MARK: - Reading

    /// Reads the header of `file` and checks it against the file: every entry well formed, the data of the
    /// tensors contiguous from offset 0, each span exactly its shape's size, and the buffer ending at the file's end.
    static func read(from file: InputFile) throws -> SafeTensorsHeader {
        let path = file.path
        func failure(_ problem: TensorFileError.Problem, _ tensor: String? = nil) -> TensorFileError {
            TensorFileError(path: path, tensor: tensor, problem: problem)
        }
        guard file.size >= 8 else { throw failure(.truncated(expected: 8, found: file.size)) }
        let lengthBytes = try file.bytes(at: 0, count: 8)
        let declared = lengthBytes.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard declared <= UInt64(maximumLength) else {
            throw failure(.tooLarge("header length \(declared) is larger than the \(maximumLength) bytes safetensors accepts"))
        }
        let length = Int(declared)
        guard length <= file.size - 8 else { throw failure(.truncated(expected: 8 + length, found: file.size)) }

        guard case .object(let members)? = SafeTensorsJSON.parse(try file.bytes(at: 8, count: length)) else {
            throw failure(.malformed("the header is not a JSON object (or not valid UTF-8)"))
        }
        var entries: [Entry] = []
        var metadata: StateDict.Metadata?
        var names = Set<String>()
        for member in members {
            let (name, value) = (member.key, member.value)
            if name == metadataKey {
                guard metadata == nil else { throw failure(.malformed("the header has two \(metadataKey) objects")) }
                metadata = try parseMetadata(value, failure: failure)
                continue
            }
            guard names.insert(name).inserted else { throw failure(.duplicateName(name)) }
            entries.append(try parseEntry(name: name, value, failure: failure))
        }

        // Zero-sized tensors share their begin with the next one: the end orders them first, as the reference does.
        entries.sort { a, b in
            if a.begin != b.begin { return a.begin < b.begin }
            if a.end != b.end { return a.end < b.end }
            return Array(a.name.utf8).lexicographicallyPrecedes(Array(b.name.utf8))
        }
        var bufferEnd = 0
        for entry in entries {
            if entry.begin > bufferEnd {
                throw failure(.malformed("data_offsets [\(entry.begin), \(entry.end)] leave a gap after byte \(bufferEnd) of the buffer"), entry.name)
            }
            if entry.begin < bufferEnd {
                throw failure(.malformed("data_offsets [\(entry.begin), \(entry.end)] overlap another tensor's data, which ends at \(bufferEnd)"), entry.name)
            }
            bufferEnd = entry.end
        }
        let (fileEnd, overflow) = (8 + length).addingReportingOverflow(bufferEnd)
        guard !overflow else { throw failure(.tooLarge("the tensors declare \(bufferEnd) bytes, more than a file can hold")) }
        if fileEnd > file.size { throw failure(.truncated(expected: fileEnd, found: file.size)) }
        if fileEnd < file.size { throw failure(.trailingBytes(file.size - fileEnd)) }
        return SafeTensorsHeader(entries: entries, metadata: metadata ?? [:], dataOffset: 8 + length)
    }

    /// One tensor's entry: a known dtype, a valid shape, and offsets whose span is exactly the shape's size.
    private static func parseEntry(name: String, _ value: SafeTensorsJSON,
                                   failure: (TensorFileError.Problem, String?) -> TensorFileError) throws -> Entry {
        guard case .object(let fields) = value else { throw failure(.malformed("the entry is not a JSON object"), name) }
        func field(_ key: String) throws -> SafeTensorsJSON {
            let found = fields.filter { $0.key == key }
            guard found.count == 1 else {
                throw failure(.malformed(found.isEmpty ? "the entry has no \"\(key)\"" : "the entry has \"\(key)\" twice"), name)
            }
            return found[0].value
        }
        guard case .string(let code) = try field("dtype") else { throw failure(.malformed("\"dtype\" is not a string"), name) }
        guard case .array(let dimensions) = try field("shape") else { throw failure(.malformed("\"shape\" is not a list"), name) }
        let shape = dimensions.compactMap(\.integer)
        guard shape.count == dimensions.count else {
            throw failure(.malformed("\"shape\" is not a list of integers that fit in 64 bits"), name)
        }
        guard case .array(let offsets) = try field("data_offsets"), offsets.count == 2,
              let begin = offsets[0].integer, let end = offsets[1].integer, begin >= 0, end >= 0 else {
            throw failure(.malformed("\"data_offsets\" is not a pair of non-negative integers"), name)
        }
        guard let dtype = DType(safeTensorsCode: code) else { throw failure(.unsupportedDType("safetensors dtype \"\(code)\""), name) }
        guard let byteCount = Tensor.byteCount(of: shape, dtype: dtype) else { throw failure(.invalidShape(shape), name) }
        guard begin <= end else { throw failure(.malformed("data_offsets [\(begin), \(end)] end before they begin"), name) }
        guard end - begin == byteCount else {
            throw failure(.malformed("data_offsets [\(begin), \(end)] hold \(end - begin) bytes, but \(code) \(shape) needs \(byteCount)"), name)
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    /// The `__metadata__` object: string keys to string values, in order.
    private static func parseMetadata(_ value: SafeTensorsJSON,
                                      failure: (TensorFileError.Problem, String?) -> TensorFileError) throws -> StateDict.Metadata {
        guard case .object(let members) = value else { throw failure(.malformed("\(metadataKey) is not a JSON object"), nil) }
        var metadata = StateDict.Metadata()
        for member in members {
            let (key, value) = (member.key, member.value)
            guard case .string(let text) = value else {
                throw failure(.malformed("\(metadataKey) value of \"\(key)\" is not a string"), nil)
            }
            guard metadata.updateValue(text, forKey: key) == nil else {
                throw failure(.malformed("\(metadataKey) has the key \"\(key)\" twice"), nil)
            }
        }
        return metadata
    }

    // MARK: - Writing

    /// The layout the safetensors package itself writes for `stateDict`: tensors sorted by the dtype's rank in
    /// its `Dtype` enum (largest first, so each tensor starts aligned to its element size), then by name.
    init(layingOut stateDict: StateDict, path: String) throws {
        if stateDict.tensors[Self.metadataKey] != nil {
            throw TensorFileError(path: path, tensor: Self.metadataKey, problem: .cannotStore(
                "the name \(Self.metadataKey) is reserved for metadata in safetensors"))
        }
        let ordered = stateDict.tensors.elements.sorted { a, b in
            let (rankA, rankB) = (a.value.dtype.safeTensorsWriteRank, b.value.dtype.safeTensorsWriteRank)
            return rankA != rankB ? rankA > rankB : Array(a.key.utf8).lexicographicallyPrecedes(Array(b.key.utf8))
        }
        var offset = 0
        entries = ordered.map { name, tensor in
            defer { offset += tensor.byteCount }
            return Entry(name: name, dtype: tensor.dtype, shape: tensor.shape, begin: offset, end: offset + tensor.byteCount)
        }
        metadata = stateDict.metadata
        dataOffset = 8 + Self.json(entries: entries, metadata: metadata).count
    }

    /// The 8-byte length and the header JSON as serde_json writes it (no spaces), padded with spaces to a
    /// multiple of 8 bytes so that the buffer starts 8-byte aligned.
    func encoded() -> [UInt8] {
        let json = Self.json(entries: entries, metadata: metadata)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + json.count)
        bytes.appendLittleEndian(UInt64(json.count))
        return bytes + json
    }

    private static func json(entries: [Entry], metadata: StateDict.Metadata) -> [UInt8] {
        var members: [[UInt8]] = []
        if !metadata.isEmpty {
            let pairs = metadata.map { SafeTensorsJSON.quoted($0.key) + [UInt8(ascii: ":")] + SafeTensorsJSON.quoted($0.value) }
            members.append(SafeTensorsJSON.quoted(metadataKey) + Array(":{".utf8) + Array(pairs.joined(separator: [UInt8(ascii: ",")])) + [UInt8(ascii: "}")])
        }
        for entry in entries {
            let shape = entry.shape.map(String.init).joined(separator: ",")
            members.append(SafeTensorsJSON.quoted(entry.name)
                + Array(":{\"dtype\":\"\(entry.dtype.safeTensorsCode)\",\"shape\":[\(shape)],\"data_offsets\":[\(entry.begin),\(entry.end)]}".utf8))
        }
        var json = [UInt8(ascii: "{")] + Array(members.joined(separator: [UInt8(ascii: ",")])) + [UInt8(ascii: "}")]
        json += [UInt8](repeating: UInt8(ascii: " "), count: (8 - json.count % 8) % 8)
        return json
    }
}
