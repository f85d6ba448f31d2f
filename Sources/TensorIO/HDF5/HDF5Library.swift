import CHDF5
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Serialised access to libhdf5 and translation of its error stack.
///
/// Debian's libhdf5 is built without thread safety, so every call goes through `HDF5Library.locked`. The
/// first use turns off libhdf5's own error printing (nothing of it may reach the terminal) and its loading
/// of filter plugins named by a file (a file must not choose code to run).
enum HDF5Library {
    private static let mutex = Mutex(false)

    /// Runs `body` holding the library lock, after the one-time setup.
    static func locked<R>(_ body: () throws -> R) throws -> R {
        try mutex.withLock { ready in
            if !ready {
                H5open()
                rnn_h5_quiet_and_closed()
                ready = true
            }
            return try body()
        }
    }

    /// The current error stack as one line (innermost cause first), and clears it.
    static func drainErrors() -> String {
        final class Collector { var lines: [String] = [] }
        let collector = Collector()
        let sink: rnn_h5_error_sink = { context, _, _, minor, description in
            let collector = Unmanaged<Collector>.fromOpaque(context!).takeUnretainedValue()
            // libhdf5's own texts are one line each but may end in a line break.
            let text = (description.map { String(cString: $0) } ?? "").split(whereSeparator: \.isNewline).joined(separator: " ")
            let minorText = minor.map { String(cString: $0) } ?? ""
            collector.lines.append(minorText.isEmpty || text.contains(minorText) ? text : "\(text) (\(minorText))")
        }
        withExtendedLifetime(collector) {
            rnn_h5_drain_errors(sink, Unmanaged.passUnretained(collector).toOpaque())
        }
        guard let innermost = collector.lines.first else { return "unknown libhdf5 error" }
        if collector.lines.count > 1, let outermost = collector.lines.last, outermost != innermost {
            return "\(outermost): \(innermost)"
        }
        return innermost
    }

    /// The drained error stack as a problem: a failed system call inside libhdf5 (its file driver records
    /// `errno = 28, error message = 'No space left on device'` among a timestamp, buffer addresses and byte
    /// counts) becomes `io` with the system's words alone; anything else is `hdf5`.
    static func drainedProblem() -> TensorFileError.Problem {
        let message = drainErrors()
        if let range = message.range(of: "errno = "),
           let code = Int32(message[range.upperBound...].prefix(while: \.isNumber)), code > 0 {
            let action = message.contains("write failed") ? "cannot write" : message.contains("read failed") ? "cannot read" : "system error"
            return .io("\(action): \(String(cString: strerror(code)))")
        }
        return .hdf5(message)
    }

    /// Returns `id` when valid, else throws the drained error stack (`drainedProblem`).
    @discardableResult
    static func check(_ id: hid_t, _ path: String, _ tensor: String? = nil) throws -> hid_t {
        guard id >= 0 else { throw TensorFileError(path: path, tensor: tensor, problem: drainedProblem()) }
        return id
    }

    /// Throws the drained error stack (`drainedProblem`) unless `status` is non-negative.
    static func check(_ status: herr_t, _ path: String, _ tensor: String? = nil) throws {
        guard status >= 0 else { throw TensorFileError(path: path, tensor: tensor, problem: drainedProblem()) }
    }
}
