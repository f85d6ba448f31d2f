import CZlib

/// A raw-deflate decompressor (zip's method 8) owning its zlib stream.
final class Inflater {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)

    init() {
        stream.initialize(to: z_stream())
        // Only fails when out of memory; the first inflate() call would then report it.
        _ = rnn_inflate_init_raw(stream)
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    enum Step { case progressed, ended, needsInput }

    /// Inflates from `input` into `output`; returns bytes consumed and produced and whether the stream ended.
    /// Throws a message for corrupt data.
    func inflate(input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) throws(InflateError)
        -> (consumed: Int, produced: Int, ended: Bool)
    {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = UInt32(min(input.count, Int(UInt32.max)))
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_out = UInt32(min(output.count, Int(UInt32.max)))
        let inBefore = Int(stream.pointee.avail_in), outBefore = Int(stream.pointee.avail_out)
        let status = CZlib.inflate(stream, Z_NO_FLUSH)
        let consumed = inBefore - Int(stream.pointee.avail_in)
        let produced = outBefore - Int(stream.pointee.avail_out)
        switch status {
        case Z_OK: return (consumed, produced, false)
        case Z_STREAM_END: return (consumed, produced, true)
        case Z_BUF_ERROR: return (consumed, produced, false)  // no progress possible: the caller decides
        default:
            let message = stream.pointee.msg.map { String(cString: $0) } ?? "error \(status)"
            throw InflateError(message: message)
        }
    }
}

/// Corrupt deflate data, with zlib's message.
struct InflateError: Error { let message: String }

/// A raw-deflate compressor (zip's method 8) writing to an `OutputFile`.
final class Deflater {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var buffer = [UInt8](repeating: 0, count: 1 << 18)
    private let output: OutputFile
    /// Compressed bytes written so far.
    private(set) var written = 0

    /// zlib's default level (6), the one `numpy.savez_compressed` uses through Python's zipfile.
    init(output: OutputFile, level: Int32 = 6) {
        self.output = output
        stream.initialize(to: z_stream())
        _ = rnn_deflate_init_raw(stream, level)
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// Compresses `bytes` (the final call passes `finish: true`, possibly with no bytes).
    func write(_ bytes: UnsafeRawBufferPointer, finish: Bool = false) throws {
        var offset = 0
        repeat {
            let chunk = min(bytes.count - offset, 1 << 30)
            stream.pointee.next_in = UnsafeMutablePointer(
                mutating: bytes.baseAddress.map { ($0 + offset).assumingMemoryBound(to: UInt8.self) })
            stream.pointee.avail_in = UInt32(chunk)
            let last = finish && offset + chunk == bytes.count
            var status: Int32
            repeat {
                status = buffer.withUnsafeMutableBytes { out in
                    stream.pointee.next_out = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
                    stream.pointee.avail_out = UInt32(out.count)
                    return deflate(stream, last ? Z_FINISH : Z_NO_FLUSH)
                }
                let produced = buffer.count - Int(stream.pointee.avail_out)
                if produced > 0 {
                    try buffer.withUnsafeBytes { try output.write(UnsafeRawBufferPointer(rebasing: $0[..<produced])) }
                    written += produced
                }
                guard status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR else {
                    throw TensorFileError(path: output.path, problem: .io("deflate failed (zlib error \(status))"))
                }
            } while stream.pointee.avail_out == 0 || (last && status != Z_STREAM_END)
            offset += chunk
        } while offset < bytes.count
    }
}
