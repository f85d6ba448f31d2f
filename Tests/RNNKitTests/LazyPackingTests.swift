import Foundation
import Synchronization
import Testing
@testable import RNNKit

/// The weights are packed for the forward pass on the first forward, not at load (`LazyPackedWeights`), once,
/// shared by the copies of an `RNN`, and the outputs do not depend on when or on which thread that happened.
struct LazyPackingTests {
    /// A bidirectional LSTM with projections (float32), and a float64 GRU: both precisions' packings.
    static let cases = TorchCase.all.filter { $0.mode == "lstm" && $0.projSize > 0 && $0.bidirectional }.prefix(1)
        + TorchCase.all.filter { $0.dtype == "float64" && $0.mode == "gru" }.prefix(1)

    @Test func casesExist() { #expect(Self.cases.count == 2) }

    @Test(arguments: cases)
    func loadingPacksNothingAndTheFirstForwardPacksForEveryCopy(_ fixture: TorchCase) throws {
        let rnn = try RNN(contentsOf: fixture.file("model.npz"), options: fixture.options)
        #expect(!rnn.packedWeights.isPacked)
        let copy = rnn
        let first = try fixture.forward(copy)
        #expect(rnn.packedWeights.isPacked)
        let second = try fixture.forward(rnn)
        #expect(first.output == second.output && first.hN == second.hN && first.cN == second.cN)
    }

    /// Concurrent first forwards wait for one packing and all give the result of a model packed beforehand.
    @Test(arguments: cases)
    func concurrentFirstForwardsAgreeBitForBit(_ fixture: TorchCase) throws {
        let packedFirst = try RNN(contentsOf: fixture.file("model.npz"), options: fixture.options)
        let expected = try fixture.forward(packedFirst)
        let fresh = try RNN(contentsOf: fixture.file("model.npz"), options: fixture.options)
        let results = Mutex<[RNNOutput?]>(Array(repeating: nil, count: 4))
        DispatchQueue.concurrentPerform(iterations: 4) { index in
            let result = try? fixture.forward(fresh)
            results.withLock { $0[index] = result }
        }
        for result in results.withLock({ $0 }) {
            #expect(result?.output == expected.output && result?.hN == expected.hN && result?.cN == expected.cN)
        }
    }
}
