import Foundation
import TensorIO

/// Paths of the repository, found from this file's location, and the fixtures the test targets share.
public enum Repository {
    /// The repository's root folder.
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `Fixtures/<relative>`.
    public static func fixture(_ relative: String) -> URL { root.appending(path: "Fixtures/" + relative) }

    /// The files of the HDF Group's CVE collection in Fixtures/hdf5-cve (copied from ../shared/corpus), sorted.
    public static let hdf5CVECorpus: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: fixture("hdf5-cve").path)) ?? []
        return names.filter { $0 != "COPYING" && $0 != "README.md" }.sorted()
    }()
}

/// A fresh empty folder under the system's temporary directory, removed by the caller with `remove()`.
public struct TemporaryFolder {
    public let url: URL
    public init() throws {
        url = FileManager.default.temporaryDirectory.appending(path: "rnn-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    public func file(_ name: String) -> URL { url.appending(path: name) }
    public func contents() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: url.path).sorted() }
    public func remove() { try? FileManager.default.removeItem(at: url) }
}

/// The built executables, found from the test bundle.
extension Repository {
    /// The built executable `name`, beside the test bundle in the build folder.
    public static func executable(_ name: String) throws -> URL {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = folder.appending(path: name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            folder = folder.deletingLastPathComponent()
        }
        throw ExecutableMissing(name: name)
    }

    /// Makes the built rnn-inspect the HDF5 worker of this test process (a test runner cannot serve as one);
    /// `RNN_HDF5_WORKER`, which tools/asan.sh sets, still takes precedence.
    public static func useCommandAsHDF5Worker() throws {
        HDF5Isolation.defaultWorker = try executable("rnn-inspect")
    }

    public struct ExecutableMissing: Error, CustomStringConvertible {
        let name: String
        public var description: String { "\(name) was not found beside the test bundle (\(CommandLine.arguments[0]))" }
    }
}


/// Runs `body(0)`, …, `body(count - 1)` each on a thread of its own, all at once, and returns when all have
/// returned. (`DispatchQueue.concurrentPerform` runs only as many at a time as there are cores: no race.)
public func onSeparateThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread { body(index); group.leave() }.start()
    }
    group.wait()
}

/// Writes a 64 MB gzip-chunked HDF5 file of random float32 values (one dataset "w", [4000, 4000]) to `url`, which
/// takes an HDF5 worker a noticeable time to read (~0.45 s of CPU here, worker start included); returns what it holds.
@discardableResult
public func writeSlowHDF5(to url: URL, seed: UInt64) throws -> StateDict {
    var generator = SplitMix64(seed: seed)
    let values = (0..<16_000_000).map { _ in Float(generator.next() >> 40) / Float(1 << 24) }
    let dict = StateDict(tensors: ["w": try Tensor(shape: [4000, 4000], elements: values)])
    try HDF5Format.write(dict, to: url, options: WriteOptions(compress: true))
    return dict
}
