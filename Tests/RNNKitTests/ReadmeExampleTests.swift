import Foundation
import Testing
import TestSupport
import RNNKit

/// The README's library example, compiled and run; a second test keeps the README's text identical to it.
struct ReadmeExampleTests {
    @Test func readmeExampleRuns() throws {
        FileManager.default.changeCurrentDirectoryPath(Repository.root.path)
        // README example begin
        let rnn = try RNN(contentsOf: URL(fileURLWithPath: "Fixtures/torch/seed_batch_first/model.npz"),
                          options: RNNLoadOptions(batchFirst: true))
        let input = try Tensor(shape: [8, 7, 3], elements: [Float](repeating: 0.5, count: 8 * 7 * 3))
        let result = try rnn.forward(input)            // h0 defaults to zeros
        print(result.output.shape, result.hN.shape)    // [8, 7, 4] [1, 8, 4]
        let lastStates: [Float] = try result.hN.floatValues()
        // README example end
        #expect(result.output.shape == [8, 7, 4])
        #expect(lastStates.count == 8 * 4)
    }

    @Test func streamingExampleRuns() throws {
        FileManager.default.changeCurrentDirectoryPath(Repository.root.path)
        // Streaming example begin
        let rnn = try RNN(contentsOf: URL(fileURLWithPath: "Fixtures/torch/lstm_l1_uni_meta_f32/model.npz"))
        let stream = try rnn.makeStream(batch: 1)     // owns h and c, and every buffer a step needs
        let frame = [Float](repeating: 0.1, count: rnn.configuration.inputSize)
        let output = try stream.step(frame)           // one time step: hidden (or proj_size) values
        let state = stream.state                      // RNNState: h [L, B, S] and c [L, B, H]
        stream.reset()                                // back to zeros
        try stream.setState(state)                    // or any state, e.g. a forward call's result.state

        // The same step without allocating: the caller's buffers, as a real-time audio callback would pass them.
        var next = [Float](repeating: 0, count: stream.outputCount)
        try frame.withUnsafeBufferPointer { x in try next.withUnsafeMutableBufferPointer { try stream.step(x, into: $0) } }
        // Streaming example end
        let whole = try rnn.forward(Tensor(shape: [2, 1, rnn.configuration.inputSize], elements: frame + frame))
        #expect(try whole.output.floatValues() == output + next)
        #expect(stream.state == whole.state)
    }

    /// The streaming example appears exactly in the README and in the DocC article "Getting started".
    @Test func documentsShowExactlyTheTestedStreamingExample() throws {
        let example = try Self.example(between: "Streaming example begin", and: "Streaming example end")
        for document in ["README.md", "Sources/RNNKit/RNNKit.docc/GettingStarted.md"] {
            let text = try String(contentsOf: Repository.root.appending(path: document), encoding: .utf8)
            #expect(text.contains(example), "\(document) must contain:\n\(example)")
        }
    }

    static func example(between beginMarker: String, and endMarker: String) throws -> String {
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        let begin = lines.firstIndex { $0.contains(beginMarker) }!
        let end = lines.firstIndex { $0.contains(endMarker) }!
        return lines[(begin + 1)..<end].map { $0.dropFirst(8) }.joined(separator: "\n")
    }

    @Test func readmeShowsExactlyTheTestedExample() throws {
        let source = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
        let lines = source.split(separator: "\n", omittingEmptySubsequences: false)
        let begin = lines.firstIndex { $0.contains("README example begin") }!
        let end = lines.firstIndex { $0.contains("README example end") }!
        let example = lines[(begin + 1)..<end].map { $0.dropFirst(8) }.joined(separator: "\n")
        let readme = try String(contentsOf: Repository.root.appending(path: "README.md"), encoding: .utf8)
        #expect(readme.contains(example), "README.md must contain:\n\(example)")
    }
}
