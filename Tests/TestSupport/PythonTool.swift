import Foundation

/// Runs the Python check scripts in tools/ the way every interop test does.
///
/// The interpreter is `RNN_PYTHON` when set, else `tools/.venv/bin/python` (made by `tools/setup.sh`, with numpy,
/// h5py, safetensors, onnx and onnxruntime). A missing interpreter makes the test fail, not skip: interop with the
/// tools users have is a promise, not an option. A script that hangs is killed after a timeout, with every process
/// it started, and the test fails naming it.
public enum PythonTool {
    /// The Python interpreter the checks use.
    public static var python: String {
        ProcessInfo.processInfo.environment["RNN_PYTHON"] ?? Repository.root.appending(path: "tools/.venv/bin/python").path
    }

    /// A script that did not finish within its timeout; it and its process group were killed.
    public struct TimedOut: Error, CustomStringConvertible {
        /// The script, as it was named to `run`.
        public let script: String
        public let timeout: Duration
        /// What it printed before it was killed.
        public let output: String

        public var description: String {
            let shown = output.count > 2000 ? "…" + output.suffix(2000) : output
            return "\(script) did not finish within \(timeout) and was killed with its process group; its output so far: \(shown)"
        }
    }

    /// Runs `tools/<script>` with `arguments`; returns its exit status and its standard output and error together.
    /// Throws `TimedOut` when the script has not finished (and closed its output) within `timeout`.
    public static func run(_ script: String, _ arguments: [String], timeout: Duration = .seconds(300)) throws -> (status: Int32, output: String) {
        try run(scriptAt: Repository.root.appending(path: "tools/" + script), arguments, timeout: timeout, name: "tools/" + script)
    }

    /// Runs the Python script at `script` (any path) with `arguments`, like `run(_:_:timeout:)`.
    public static func run(scriptAt script: URL, _ arguments: [String], timeout: Duration = .seconds(300)) throws -> (status: Int32, output: String) {
        try run(scriptAt: script, arguments, timeout: timeout, name: script.path)
    }

    private static func run(scriptAt script: URL, _ arguments: [String], timeout: Duration, name: String) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script.path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let exited = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
        // Foundation starts the child as the leader of a process group of its own, so that the group is the script
        // and everything it started. Checked, so that a change in that can never make us signal the test runner's.
        let pid = process.processIdentifier
        let ownGroup = getpgid(pid) == pid
        // Read while the script runs, so that neither a full pipe nor a hung script can block the wait below.
        let output = OutputReader(pipe.fileHandleForReading)
        let deadline = DispatchTime.now() + .nanoseconds(Int(timeout / .nanoseconds(1)))
        // The output ends when the script and anything it started (holding the pipe) are gone.
        if exited.wait(timeout: deadline) == .timedOut || !output.waitForEnd(until: deadline) {
            if ownGroup { kill(-pid, SIGKILL) } else if process.isRunning { kill(pid, SIGKILL) }
            process.waitUntilExit()
            _ = output.waitForEnd(until: .now() + .seconds(2))
            throw TimedOut(script: name, timeout: timeout, output: output.text)
        }
        return (process.terminationStatus, output.text)
    }
}

/// Collects everything written to a pipe, on a thread of its own, until the pipe's end.
private final class OutputReader: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    private let ended = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.withLock { data.append(chunk) }
            }
            ended.signal()
        }
    }

    /// Whether the pipe ended by `deadline`. Once it has, every later call returns true at once.
    func waitForEnd(until deadline: DispatchTime) -> Bool {
        guard ended.wait(timeout: deadline) == .success else { return false }
        ended.signal()
        return true
    }

    /// What has been read so far.
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}
