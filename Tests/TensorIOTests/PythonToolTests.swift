import Foundation
import Testing
import TestSupport

/// TestSupport's `PythonTool`, which every interop test runs its checker with (TestSupport has no test target of
/// its own): a hung checker fails its test instead of hanging the suite, and no output is lost or blocks.
struct PythonToolTests {
    /// Writes `source` to a script in a fresh folder and runs it.
    static func withScript<T>(_ source: String, _ body: (URL) throws -> T) throws -> T {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let script = folder.file("script.py")
        try Data(source.utf8).write(to: script)
        return try body(script)
    }

    /// Whether process `pid` has ended: gone, or a zombie waiting for its (new) parent to reap it.
    static func hasEnded(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        // "pid (name) state …": the state follows the name's closing parenthesis.
        return stat.split(separator: ")").last?.trimmingCharacters(in: .whitespaces).hasPrefix("Z") ?? true
    }

    @Test func hungScriptIsKilledWithWhatItStartedAndNamed() throws {
        let source = """
            import subprocess, sys, time
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            print(child.pid, flush=True)
            time.sleep(60)
            """
        let started = ContinuousClock.now
        let timedOut = try Self.withScript(source) { script -> PythonTool.TimedOut? in
            do {
                let result = try PythonTool.run(scriptAt: script, [], timeout: .seconds(1))
                Issue.record("the hung script was not stopped: \(result)")
                return nil
            } catch let error as PythonTool.TimedOut {
                #expect(error.script == script.path)
                #expect(error.description.hasPrefix("\(script.path) did not finish within 1.0 seconds"), "\(error)")
                return error
            }
        }
        #expect(ContinuousClock.now - started < .seconds(10))
        let child = try #require(timedOut.flatMap { Int32($0.output.trimmingCharacters(in: .whitespacesAndNewlines)) })
        // SIGKILL to the group is delivered at once, but the child may take a moment to be torn down.
        let ended = ContinuousClock.now + .seconds(5)
        while !Self.hasEnded(child) && ContinuousClock.now < ended { Thread.sleep(forTimeInterval: 0.02) }
        #expect(Self.hasEnded(child), "the script's child \(child) outlived it")
    }

    @Test func outputBeyondAPipesCapacityIsReadWhole() throws {
        // 1 MiB on each of stdout and stderr, far more than a pipe holds (64 KiB on Linux).
        let source = """
            import sys
            sys.stdout.write("o" * (1 << 20))
            sys.stdout.flush()
            sys.stderr.write("e" * (1 << 20))
            sys.exit(3)
            """
        let (status, output) = try Self.withScript(source) { try PythonTool.run(scriptAt: $0, [], timeout: .seconds(60)) }
        #expect(status == 3)
        #expect(output.utf8.count == 2 << 20)
        #expect(output.allSatisfy { $0 == "o" || $0 == "e" })
    }
}
