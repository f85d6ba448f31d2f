import Foundation
import Testing
import TestSupport
import RNNKit

/// `rnn-run --stream` and `--threads`, `rnn-bench --stream`: the commands over the stream API.
struct StreamCommandTests {
    /// A PyTorch fixture as `Fixtures/torch/cases.json` describes it, with the options its files need.
    struct Fixture: Decodable, CustomTestStringConvertible, Sendable {
        let name: String
        let bidirectional: Bool
        let hasLengths: Bool
        let batchFirst: Bool
        let noMetadata: Bool
        let nonlinearity: String?
        let prefix: String

        var testDescription: String { name }

        var options: [String] {
            (batchFirst ? ["--batch-first"] : []) + (prefix.isEmpty ? [] : ["--prefix", prefix])
                + (noMetadata ? nonlinearity.map { ["--nonlinearity", $0] } ?? [] : [])
        }

        func file(_ name: String) -> String { Repository.fixture("torch/\(self.name)/\(name)").path }

        static let all: [Fixture] = {
            struct Cases: Decodable { let cases: [Fixture] }
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            return try! decoder.decode(Cases.self, from: Data(contentsOf: Repository.fixture("torch/cases.json"))).cases
        }()
    }

    /// Every unidirectional fixture without lengths: its outputs through the stream, one step per call, are the
    /// whole-sequence outputs bit for bit (and the same with --threads 3).
    @Test(arguments: Fixture.all.filter { !$0.bidirectional && !$0.hasLengths })
    func streamingGivesTheWholeSequenceBits(_ fixture: Fixture) throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let whole = folder.file("whole.npz").path, streamed = folder.file("streamed.npz").path
        let threaded = folder.file("threaded.npz").path
        let inputs = [fixture.file("model.npz"), fixture.file("inputs.npz")]
        for (output, extra) in [(whole, []), (streamed, ["--stream"]), (threaded, ["--stream", "--threads", "3"])] {
            let result = try run("rnn-run", inputs + ["-o", output] + fixture.options + extra)
            #expect(result.status == 0, "\(extra): \(result.error)")
        }
        let expected = try TensorFile.read(contentsOf: URL(fileURLWithPath: whole))
        #expect(expected.names.contains("output") && expected.names.contains("h_n"))
        for file in [streamed, threaded] {
            let actual = try TensorFile.read(contentsOf: URL(fileURLWithPath: file))
            #expect(actual.names == expected.names)
            for name in expected.names { #expect(actual[name] == expected[name], "\(name)") }
        }
    }

    @Test func streamingRefusesBidirectionalModelsAndLengthsNamingTheFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let bidirectional = try #require(Fixture.all.first { $0.bidirectional && !$0.hasLengths })
        let refused = try run("rnn-run", [bidirectional.file("model.npz"), bidirectional.file("inputs.npz"), "-o",
                                          folder.file("out.npz").path, "--stream"] + bidirectional.options)
        #expect(refused.status == 2)
        #expect(refused.error.contains(bidirectional.file("model.npz")) && refused.error.contains("a bidirectional or reverse model cannot stream"))
        let packed = try #require(Fixture.all.first { !$0.bidirectional && $0.hasLengths })
        let lengths = try run("rnn-run", [packed.file("model.npz"), packed.file("inputs.npz"), "-o", folder.file("out.npz").path,
                                          "--stream"] + packed.options)
        #expect(lengths.status == 2)
        #expect(lengths.error.contains(packed.file("inputs.npz")) && lengths.error.contains("lengths"))
        #expect(!FileManager.default.fileExists(atPath: folder.file("out.npz").path))
    }

    @Test(arguments: ["rnn-run", "rnn-bench"])
    func threadCountBelowOneIsAUsageError(_ command: String) throws {
        let fixture = Fixture.all[0]
        let arguments = command == "rnn-run" ? [fixture.file("model.npz"), fixture.file("inputs.npz"), "-o", "/tmp/unused.npz"] : []
        let result = try run(command, arguments + ["--threads", "0"])
        #expect(result.status == 64)
        #expect(result.error.contains("--threads must be at least 1"))
    }

    @Test func benchStreamPrintsTheMedianTimePerStep() throws {
        let result = try run("rnn-bench", ["--mode", "gru", "--input", "8", "--hidden", "16", "--seq", "20", "--runs", "3",
                                           "--warmup", "1", "--stream", "--json"])
        #expect(result.status == 0, "\(result.error)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let perStep = try #require(object["us_per_step"] as? Double)
        let median = try #require(object["median_ms"] as? Double)
        #expect(perStep > 0)
        #expect(abs(perStep - median * 1000 / 20) < 0.01, "the median run's time over its 20 steps")
        #expect(object["stream"] as? Bool == true)
        let bidirectional = try run("rnn-bench", ["--bidirectional", "--stream"])
        #expect(bidirectional.status == 64 && bidirectional.error.contains("cannot stream"))
    }
}
