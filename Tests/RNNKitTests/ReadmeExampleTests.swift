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
