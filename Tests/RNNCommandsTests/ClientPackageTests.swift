import Foundation
import Testing
import TestSupport
import RNNKit

/// The README's "Using the library from another package": Tests/ClientPackage is a tiny package that depends on
/// this repository by path and uses only the public API. It is built with `swift build`, as a user would, in
/// `.build-client/` (git-ignored): the folder holds a link named `swift-rnn-toolkit` to this repository, since a
/// path dependency is named after its folder.
struct ClientPackageTests {
    static let work = Repository.root.appending(path: ".build-client")

    @Test func clientPackageBuildsAgainstTheRepositoryAndRuns() throws {
        let files = FileManager.default
        let link = Self.work.appending(path: "swift-rnn-toolkit")
        let client = Self.work.appending(path: "client")
        try files.createDirectory(at: Self.work, withIntermediateDirectories: true)
        if (try? files.destinationOfSymbolicLink(atPath: link.path)) != Repository.root.path {
            try? files.removeItem(at: link)
            try files.createSymbolicLink(atPath: link.path, withDestinationPath: Repository.root.path)
        }
        try? files.removeItem(at: client)
        try files.copyItem(at: Repository.root.appending(path: "Tests/ClientPackage"), to: client)

        let build = try runShell(#"exec swift build --package-path "$0" --scratch-path "$1" 2>&1"#,
                                 client.path, Self.work.appending(path: "scratch").path)
        #expect(build.status == 0, "swift build of the client package failed:\n\(build.output.suffix(3000))")
        // One float32 model of each mode (an LSTM with a projection too), 1–2 layers.
        let models = ["l2_uni_tanh_h0_f32", "lstm_l1_uni_meta_f32", "lstm_l1_uni_proj_nobias_bf_f32", "gru_l2_uni_bf_f32"]
            .map { Repository.fixture("torch/\($0)/model.npz").path }
        let result = try runProcess(Self.work.appending(path: "scratch/debug/client"), models)
        #expect(result.status == 0, "\(result.error)")
        // Each model streamed exactly as it runs whole (the client compares the bits itself).
        let modes = try models.map { try RNN(contentsOf: URL(fileURLWithPath: $0)).configuration.mode }
        #expect(result.output == modes.map { "\($0) streams the whole-sequence bits\n" }.joined())
        #expect(modes.map(\.rawValue) == ["rnn", "lstm", "lstm", "gru"])
    }

    /// The README shows the client's Package.swift and main.swift exactly as they are built here.
    @Test func readmeShowsTheClientPackage() throws {
        let readme = try String(contentsOf: Repository.root.appending(path: "README.md"), encoding: .utf8)
        for file in ["Package.swift", "Sources/client/main.swift"] {
            let text = try String(contentsOf: Repository.root.appending(path: "Tests/ClientPackage/" + file), encoding: .utf8)
            #expect(readme.contains(text), "README.md must contain Tests/ClientPackage/\(file) exactly")
        }
    }
}
