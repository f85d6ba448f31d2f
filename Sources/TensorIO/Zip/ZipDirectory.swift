/// One member of a zip archive, as its central directory and local header describe it.
struct ZipEntry: Equatable {
    enum Method: Equatable { case stored, deflated }
    var name: String
    var method: Method
    var crc: UInt32
    var compressedSize: Int
    var uncompressedSize: Int
    var localHeaderOffset: Int
    /// Where the entry's (possibly compressed) bytes start, after its local header.
    var dataOffset: Int
}

/// The central directory of a zip archive (PKWARE APPNOTE 6.3), validated before any entry is read.
///
/// Written by hand over zlib rather than with a zip library: the reader has to stream each entry straight into
/// a preallocated tensor, stop inflating at the declared size, and refuse archives that a general-purpose
/// library accepts (overlapping entries, path tricks, sizes beyond the file). The format parts used are small:
/// the end-of-central-directory record, its ZIP64 variant, the central directory and local headers.
struct ZipDirectory {
    var entries: [ZipEntry]

    static let localHeaderSignature = 0x0403_4B50
    static let centralHeaderSignature = 0x0201_4B50
    static let endSignature = 0x0605_4B50
    static let zip64EndSignature = 0x0606_4B50
    static let zip64LocatorSignature = 0x0706_4B50
    /// Deflate cannot expand data more than 1032:1; a larger declared ratio is a lie (or a bomb).
    static let maximumDeflateRatio = 1032

    /// Reads and checks the directory of `file`.
    init(file: InputFile) throws {
        func fail(_ detail: String) -> TensorFileError { TensorFileError(path: file.path, problem: .malformed(detail)) }

        // The end record is 22 bytes plus a comment of at most 65535 bytes, at the very end of the file.
        let tailLength = min(file.size, 22 + 0xFFFF)
        let tail = LittleEndianBytes(bytes: try file.bytes(at: file.size - tailLength, count: tailLength))
        var endIndex: Int?
        var candidate = tailLength - 22
        while candidate >= 0 {
            if tail.u32(candidate) == Self.endSignature, let commentLength = tail.u16(candidate + 20),
               candidate + 22 + commentLength == tailLength
            {
                endIndex = candidate
                break
            }
            candidate -= 1
        }
        guard let endIndex else { throw fail("no end-of-central-directory record (not a zip archive, or truncated)") }
        let endOffset = file.size - tailLength + endIndex
        guard tail.u16(endIndex + 4) == 0, tail.u16(endIndex + 6) == 0 else {
            throw TensorFileError(path: file.path, problem: .unsupportedFeature("multi-disk zip archives"))
        }
        var count = tail.u16(endIndex + 10)!
        var directorySize = tail.u32(endIndex + 12)!
        var directoryOffset = tail.u32(endIndex + 16)!
        var directoryLimit = endOffset

        // ZIP64: a locator sits just before the end record and points at the ZIP64 end record.
        if endOffset >= 20 {
            let locator = LittleEndianBytes(bytes: try file.bytes(at: endOffset - 20, count: 20))
            if locator.u32(0) == Self.zip64LocatorSignature {
                guard let recordOffset = locator.u64(8), recordOffset <= endOffset - 20 - 56 else {
                    throw fail("ZIP64 locator points outside the file")
                }
                let record = LittleEndianBytes(bytes: try file.bytes(at: recordOffset, count: 56))
                guard record.u32(0) == Self.zip64EndSignature else { throw fail("ZIP64 end record not found where the locator points") }
                guard let total = record.u64(32), let size = record.u64(40), let offset = record.u64(48) else {
                    throw fail("ZIP64 end record holds sizes too large for this machine")
                }
                count = total
                directorySize = size
                directoryOffset = offset
                directoryLimit = recordOffset
            }
        }
        guard directoryOffset <= directoryLimit, directorySize <= directoryLimit - directoryOffset else {
            throw fail("central directory (offset \(directoryOffset), \(directorySize) bytes) lies outside the file")
        }
        guard count <= directorySize / 46 else { throw fail("central directory is too small for its \(count) entries") }

        let directory = LittleEndianBytes(bytes: try file.bytes(at: directoryOffset, count: directorySize))
        var entries: [ZipEntry] = []
        var names = Set<String>()
        var position = 0
        for _ in 0..<count {
            guard directory.u32(position) == Self.centralHeaderSignature,
                  let flags = directory.u16(position + 8), let method = directory.u16(position + 10),
                  let crc = directory.u32(position + 16), var compressed = directory.u32(position + 20),
                  var uncompressed = directory.u32(position + 24), let nameLength = directory.u16(position + 28),
                  let extraLength = directory.u16(position + 30), let commentLength = directory.u16(position + 32),
                  var localOffset = directory.u32(position + 42),
                  let nameBytes = directory[(position + 46)..<(position + 46 + nameLength)],
                  let extra = directory[(position + 46 + nameLength)..<(position + 46 + nameLength + extraLength)]
            else { throw fail("central directory entry \(entries.count) is cut off or has a bad signature") }
            position += 46 + nameLength + extraLength + commentLength
            guard let name = String(validating: nameBytes, as: UTF8.self) else {
                throw TensorFileError(path: file.path, problem: .unsafeName("an entry name is not valid UTF-8"))
            }
            try Self.checkName(name, path: file.path)
            guard names.insert(name).inserted else {
                throw TensorFileError(path: file.path, tensor: name, problem: .unsafeName("\"\(name)\" appears twice"))
            }

            // ZIP64 extra field: the 64-bit values of exactly those fields that hold 0xFFFFFFFF, in this order.
            if compressed == 0xFFFF_FFFF || uncompressed == 0xFFFF_FFFF || localOffset == 0xFFFF_FFFF {
                let fields = LittleEndianBytes(bytes: Array(extra))
                var at = 0
                var found = false
                while let id = fields.u16(at), let size = fields.u16(at + 2) {
                    if id == 1 {
                        var field = at + 4
                        func next() throws -> Int {
                            guard field + 8 <= at + 4 + size, let value = fields.u64(field) else {
                                throw fail("ZIP64 extra field of \"\(name)\" is too short")
                            }
                            field += 8
                            return value
                        }
                        if uncompressed == 0xFFFF_FFFF { uncompressed = try next() }
                        if compressed == 0xFFFF_FFFF { compressed = try next() }
                        if localOffset == 0xFFFF_FFFF { localOffset = try next() }
                        found = true
                        break
                    }
                    at += 4 + size
                }
                guard found else { throw fail("entry \"\(name)\" needs a ZIP64 extra field and has none") }
            }
            guard flags & 1 == 0 else {
                throw TensorFileError(path: file.path, tensor: name, problem: .unsupportedFeature("encrypted zip entries"))
            }
            let entryMethod: ZipEntry.Method
            switch method {
            case 0: entryMethod = .stored
            case 8: entryMethod = .deflated
            default:
                throw TensorFileError(path: file.path, tensor: name, problem: .unsupportedFeature(
                    "zip compression method \(method) (stored and deflate are read)"))
            }
            if entryMethod == .stored, compressed != uncompressed {
                throw TensorFileError(path: file.path, tensor: name, problem: .malformed(
                    "stored entry declares \(compressed) bytes compressed but \(uncompressed) uncompressed"))
            }
            let (largestOutput, overflow) = compressed.multipliedReportingOverflow(by: Self.maximumDeflateRatio)
            if entryMethod == .deflated, !overflow, uncompressed > largestOutput + 64 {
                throw TensorFileError(path: file.path, tensor: name, problem: .tooLarge(
                    "entry declares \(uncompressed) bytes from \(compressed) compressed, more than deflate can produce (a zip bomb?)"))
            }
            entries.append(ZipEntry(
                name: name, method: entryMethod, crc: UInt32(crc), compressedSize: compressed,
                uncompressedSize: uncompressed, localHeaderOffset: localOffset, dataOffset: 0))
        }

        // Local headers: each must match its directory entry, and no two entries' bytes may overlap.
        for index in entries.indices {
            let entry = entries[index]
            guard directoryOffset >= 30, entry.localHeaderOffset <= directoryOffset - 30 else {
                throw TensorFileError(path: file.path, tensor: entry.name, problem: .malformed("local header lies outside the file's data area"))
            }
            let local = LittleEndianBytes(bytes: try file.bytes(at: entry.localHeaderOffset, count: 30))
            guard local.u32(0) == Self.localHeaderSignature, let nameLength = local.u16(26), let extraLength = local.u16(28) else {
                throw TensorFileError(path: file.path, tensor: entry.name, problem: .malformed("local header has a bad signature"))
            }
            let localName = try file.bytes(at: entry.localHeaderOffset + 30, count: nameLength)
            guard localName == Array(entry.name.utf8) else {
                throw TensorFileError(path: file.path, tensor: entry.name, problem: .malformed("local header names another entry"))
            }
            let dataOffset = entry.localHeaderOffset + 30 + nameLength + extraLength
            guard dataOffset <= directoryOffset, entry.compressedSize <= directoryOffset - dataOffset else {
                throw TensorFileError(path: file.path, tensor: entry.name, problem: .truncated(
                    expected: dataOffset &+ entry.compressedSize, found: directoryOffset))
            }
            entries[index].dataOffset = dataOffset
        }
        let byStart = entries.sorted { $0.localHeaderOffset < $1.localHeaderOffset }
        for (a, b) in zip(byStart, byStart.dropFirst()) where a.dataOffset + a.compressedSize > b.localHeaderOffset {
            throw TensorFileError(path: file.path, tensor: b.name, problem: .malformed("entry overlaps \"\(a.name)\""))
        }
        self.entries = entries
    }

    /// Refuses names that could escape a folder if extracted, or that hide a NUL.
    static func checkName(_ name: String, path: String) throws {
        func refuse(_ why: String) -> TensorFileError {
            TensorFileError(path: path, tensor: name, problem: .unsafeName(why))
        }
        if name.isEmpty { throw refuse("an entry has an empty name") }
        if name.contains("\0") { throw refuse("the name holds a NUL byte") }
        if name.hasPrefix("/") || name.contains("\\") || (name.count >= 2 && name.dropFirst().first == ":") {
            throw refuse("\"\(name)\" is an absolute or Windows path")
        }
        if name.split(separator: "/", omittingEmptySubsequences: false).contains("..") {
            throw refuse("\"\(name)\" climbs out of the archive with ..")
        }
    }
}
