import Foundation

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
