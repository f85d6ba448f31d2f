import Foundation

/// Runs the Python check scripts in tools/ the way every interop test does.
///
/// The interpreter is `RNN_PYTHON` when set, else `tools/.venv/bin/python` (made by `tools/setup.sh`, with numpy,
/// h5py, safetensors, onnx and onnxruntime). A missing interpreter makes the test fail, not skip: interop with the
/// tools users have is a promise, not an option.
public enum PythonTool {
    /// The Python interpreter the checks use.
    public static var python: String {
        ProcessInfo.processInfo.environment["RNN_PYTHON"] ?? Repository.root.appending(path: "tools/.venv/bin/python").path
    }

    /// Runs `tools/<script>` with `arguments`; returns its exit status and its standard output and error together.
    public static func run(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [Repository.root.appending(path: "tools/" + script).path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }
}
