/// Writes a zip archive entry by entry into an `OutputFile`: stored or deflated, ZIP64 where sizes need it.
///
/// Timestamps are fixed at 1980-01-01 00:00 (the earliest DOS date) so the same tensors give the same bytes.
struct ZipWriter {
    private let file: OutputFile
    private var central: [UInt8] = []
    private var count = 0
    /// Write ZIP64 records even when sizes fit in 32 bits (tests use it to exercise the ZIP64 reader).
    let forceZip64: Bool

    private static let dosTime: UInt16 = 0
    private static let dosDate: UInt16 = (0 << 9) | (1 << 5) | 1
    private static let marker32: UInt32 = 0xFFFF_FFFF
    private static let limit32 = 0xFFFF_0000  // below 0xFFFFFFFF, leaving room for deflate's worst-case growth

    init(file: OutputFile, forceZip64: Bool = false) {
        self.file = file
        self.forceZip64 = forceZip64
    }

    /// Adds an entry whose bytes are `parts` concatenated (an NPY header and a tensor's data, say).
    mutating func add(name: String, parts: [UnsafeRawBufferPointer], compress: Bool) throws {
        let size = parts.reduce(0) { $0 + $1.count }
        var crc = CRC32()
        for part in parts { crc.append(CRC32.checksum(part), length: part.count) }
        let offset = file.position
        let zip64 = forceZip64 || size > Self.limit32 || offset > Self.limit32
        let nameBytes = Array(name.utf8)
        let flags: UInt16 = nameBytes.allSatisfy { $0 < 0x80 } ? 0 : 1 << 11  // bit 11: the name is UTF-8
        let method: UInt16 = compress ? 8 : 0
        let version: UInt16 = zip64 ? 45 : 20

        var local: [UInt8] = []
        local.appendLittleEndian(UInt32(ZipDirectory.localHeaderSignature))
        local.appendLittleEndian(version)
        local.appendLittleEndian(flags)
        local.appendLittleEndian(method)
        local.appendLittleEndian(Self.dosTime)
        local.appendLittleEndian(Self.dosDate)
        local.appendLittleEndian(crc.value)
        let compressedSizeField = local.count
        local.appendLittleEndian(zip64 ? Self.marker32 : UInt32(size))  // compressed size, patched below
        local.appendLittleEndian(zip64 ? Self.marker32 : UInt32(size))
        local.appendLittleEndian(UInt16(nameBytes.count))
        local.appendLittleEndian(UInt16(zip64 ? 20 : 0))
        local += nameBytes
        var zip64CompressedField: Int?
        if zip64 {
            local.appendLittleEndian(UInt16(1))
            local.appendLittleEndian(UInt16(16))
            local.appendLittleEndian(UInt64(size))
            zip64CompressedField = local.count
            local.appendLittleEndian(UInt64(size))
        }
        try file.write(local)

        var compressed = size
        if compress {
            let deflater = Deflater(output: file)
            for part in parts { try deflater.write(part) }
            try deflater.write(UnsafeRawBufferPointer(start: nil, count: 0), finish: true)
            compressed = deflater.written
            if let field = zip64CompressedField {
                var bytes: [UInt8] = []
                bytes.appendLittleEndian(UInt64(compressed))
                try file.patch(bytes, at: offset + field)
            } else {
                var bytes: [UInt8] = []
                bytes.appendLittleEndian(UInt32(compressed))
                try file.patch(bytes, at: offset + compressedSizeField)
            }
        } else {
            for part in parts { try file.write(part) }
        }

        var extra: [UInt8] = []
        if zip64 {
            extra.appendLittleEndian(UInt16(1))
            extra.appendLittleEndian(UInt16(24))
            extra.appendLittleEndian(UInt64(size))
            extra.appendLittleEndian(UInt64(compressed))
            extra.appendLittleEndian(UInt64(offset))
        }
        central.appendLittleEndian(UInt32(ZipDirectory.centralHeaderSignature))
        central.appendLittleEndian(UInt16(3 << 8) | version)  // made by: Unix
        central.appendLittleEndian(version)
        central.appendLittleEndian(flags)
        central.appendLittleEndian(method)
        central.appendLittleEndian(Self.dosTime)
        central.appendLittleEndian(Self.dosDate)
        central.appendLittleEndian(crc.value)
        central.appendLittleEndian(zip64 ? Self.marker32 : UInt32(compressed))
        central.appendLittleEndian(zip64 ? Self.marker32 : UInt32(size))
        central.appendLittleEndian(UInt16(nameBytes.count))
        central.appendLittleEndian(UInt16(extra.count))
        central.appendLittleEndian(UInt16(0))  // comment
        central.appendLittleEndian(UInt16(0))  // disk
        central.appendLittleEndian(UInt16(0))  // internal attributes
        central.appendLittleEndian(UInt32(0o100644) << 16)  // external: a regular file, rw-r--r--
        central.appendLittleEndian(zip64 ? Self.marker32 : UInt32(offset))
        central += nameBytes
        central += extra
        count += 1
    }

    /// Writes the central directory and the end records.
    mutating func finish() throws {
        let directoryOffset = file.position
        try file.write(central)
        let directorySize = central.count
        let zip64 = forceZip64 || count > 0xFFFE || directoryOffset > Self.limit32 || directorySize > Self.limit32
        var end: [UInt8] = []
        if zip64 {
            let recordOffset = file.position
            end.appendLittleEndian(UInt32(ZipDirectory.zip64EndSignature))
            end.appendLittleEndian(UInt64(44))  // size of the rest of this record
            end.appendLittleEndian(UInt16(3 << 8 | 45))
            end.appendLittleEndian(UInt16(45))
            end.appendLittleEndian(UInt32(0))
            end.appendLittleEndian(UInt32(0))
            end.appendLittleEndian(UInt64(count))
            end.appendLittleEndian(UInt64(count))
            end.appendLittleEndian(UInt64(directorySize))
            end.appendLittleEndian(UInt64(directoryOffset))
            end.appendLittleEndian(UInt32(ZipDirectory.zip64LocatorSignature))
            end.appendLittleEndian(UInt32(0))
            end.appendLittleEndian(UInt64(recordOffset))
            end.appendLittleEndian(UInt32(1))
        }
        end.appendLittleEndian(UInt32(ZipDirectory.endSignature))
        end.appendLittleEndian(UInt16(0))
        end.appendLittleEndian(UInt16(0))
        end.appendLittleEndian(zip64 ? UInt16(0xFFFF) : UInt16(count))
        end.appendLittleEndian(zip64 ? UInt16(0xFFFF) : UInt16(count))
        end.appendLittleEndian(zip64 ? Self.marker32 : UInt32(directorySize))
        end.appendLittleEndian(zip64 ? Self.marker32 : UInt32(directoryOffset))
        end.appendLittleEndian(UInt16(0))  // comment length
        try file.write(end)
    }
}
