import CHDF5
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
            let text = description.map { String(cString: $0) } ?? ""
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

    /// Returns `id` when valid, else throws the drained error stack as `TensorFileError.hdf5`.
    @discardableResult
    static func check(_ id: hid_t, _ path: String, _ tensor: String? = nil) throws -> hid_t {
        guard id >= 0 else { throw TensorFileError(path: path, tensor: tensor, problem: .hdf5(drainErrors())) }
        return id
    }

    /// Throws the drained error stack unless `status` is non-negative.
    static func check(_ status: herr_t, _ path: String, _ tensor: String? = nil) throws {
        guard status >= 0 else { throw TensorFileError(path: path, tensor: tensor, problem: .hdf5(drainErrors())) }
    }
}
