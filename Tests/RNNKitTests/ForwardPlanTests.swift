import Testing
@testable import RNNKit

/// `ForwardPlan` on its own: a pure value of the configuration, the call's shapes, the thread count and the limits.
struct ForwardPlanTests {
    static func plan(_ mode: RecurrentMode = .lstm, hidden: Int = 128, input: Int = 64, layers: Int = 1, bidirectional: Bool = false,
                     proj: Int = 0, steps: Int = 100, batch: Int = 1, batchFirst: Bool = false, threads: Int = 2,
                     scalarBytes: Int = 4, limits: ForwardPlan.Limits = ForwardPlan.Limits()) -> ForwardPlan {
        let c = RNNConfiguration(mode: mode, inputSize: input, hiddenSize: hidden, numLayers: layers, bidirectional: bidirectional,
                                 batchFirst: batchFirst, projSize: proj)
        return ForwardPlan(configuration: c, steps: steps, batch: batch, batchFirst: batchFirst, threads: threads,
                           scalarBytes: scalarBytes, limits: limits)
    }

    @Test func oneThreadOrSmallWorkRunsAlone() {
        #expect(Self.plan(threads: 1).strategy == .alone)
        #expect(Self.plan(threads: 1).threads == 1)
        // 100 steps of a 16-unit RNN: ~26K multiply-adds, far below the work worth a second thread.
        #expect(Self.plan(.rnn, hidden: 16, threads: 8) == Self.plan(.rnn, hidden: 16, threads: 1))
    }

    @Test func bidirectionalModelsRunTheirDirectionsSideBySide() {
        // Small steps: one thread per direction, however many are offered.
        let small = Self.plan(.gru, hidden: 64, bidirectional: true, threads: 8)
        #expect(small.strategy == .directions(helping: false) && small.threads == 2)
        // Large steps (B·S·G·H ≥ 384K): groups per direction that share steps and help each other.
        let large = Self.plan(.lstm, hidden: 320, bidirectional: true, batch: 24, threads: 8)
        #expect(large.strategy == .directions(helping: true) && large.threads == 8)
        #expect(Self.plan(.lstm, hidden: 320, bidirectional: true, batch: 24, threads: 3).threads == 3)
    }

    @Test func unidirectionalLayersPipelineWhenStepsAreSmall() {
        let plan = Self.plan(.rnn, hidden: 256, layers: 3, batch: 4, threads: 8)
        #expect(plan.strategy == .pipeline)
        #expect(plan.threads == 3, "at most one thread per layer")
        #expect(plan.chunkCount == 8 && plan.chunkSteps == 13, "eight chunks, so that the layers overlap")
        #expect(plan.projectionBuffers == 6 && plan.betweenBuffers == 2, "two projections per layer, an output per layer below the last")
        // Batch-first rows are not in time order: no chunks, so no pipeline.
        #expect(Self.plan(.rnn, hidden: 256, layers: 3, batch: 4, batchFirst: true, threads: 8).strategy == .alone)
    }

    @Test func largeStepsAreSharedByAsManyThreadsAsTheyHaveBlocks() {
        // 1 × 1024 × 4 × 1024 multiply-adds a step: shared; 1024 floats are 64 blocks of 16.
        let plan = Self.plan(.lstm, hidden: 1024, input: 1024, batch: 1, threads: 64)
        #expect(plan.strategy == .sharedSteps)
        #expect(plan.threads == 64)
        #expect(Self.plan(.lstm, hidden: 1024, input: 1024, batch: 1, threads: 100).threads == 64)
        // Several layers with steps this large share each step rather than pipelining.
        #expect(Self.plan(.lstm, hidden: 1024, input: 1024, layers: 2, batch: 1, threads: 4).strategy == .sharedSteps)
        // One block of units has nothing to share.
        let narrow = Self.plan(.rnn, hidden: 8, batch: 4096, threads: 4, limits: ForwardPlan.Limits(sharedStep: 0))
        #expect(narrow.strategy == .alone && narrow.threads == 1)
    }

    @Test func chunksDependOnShapesAndLimitsButNeverOnThreads() {
        for threads in [1, 2, 3, 8] {
            let plan = Self.plan(.lstm, hidden: 320, input: 256, bidirectional: true, steps: 1000, batch: 64, threads: threads)
            // 24 MB of float32 projection rows of 4·320 gates: 4915 rows, 76 steps of 64.
            #expect(plan.chunkSteps == 76 && plan.chunkCount == 14, "\(threads) threads")
            #expect(plan.rows == 64_000)
        }
        // At least 2048 rows per chunk, whatever the bytes limit says.
        #expect(Self.plan(steps: 100, batch: 1, limits: ForwardPlan.Limits(projectionChunkBytes: 1)).chunkSteps == 100)
        #expect(Self.plan(steps: 100, batch: 1, limits: ForwardPlan.Limits(projectionChunkBytes: 1, projectionChunkRows: 1)).chunkSteps == 1)
        #expect(Self.plan(steps: 100, batchFirst: true, limits: ForwardPlan.Limits(projectionChunkBytes: 1, projectionChunkRows: 1)).chunkCount == 1)
    }

    @Test func chunksCoverEveryStepOnceInEachDirection() {
        let plan = Self.plan(steps: 10, batch: 3, limits: ForwardPlan.Limits(projectionChunkBytes: 1, projectionChunkRows: 9))
        #expect(plan.chunkSteps == 3 && plan.chunkCount == 4)
        let forward = (0..<plan.chunkCount).map { plan.chunk($0, direction: 0) }
        #expect(forward.map(\.steps) == [0..<3, 3..<6, 6..<9, 9..<10])
        #expect(forward.map(\.times) == forward.map(\.steps))
        // The backward direction runs step s at time T − 1 − s: its chunks cover the times from the end.
        let backward = (0..<plan.chunkCount).map { plan.chunk($0, direction: 1).times }
        #expect(backward == [7..<10, 4..<7, 1..<4, 0..<1])
        #expect(plan.firstRow(times: 7..<10) == 21)
    }

    @Test func projectionPiecesSplitRowsWithoutGapsOrOverlaps() {
        let plan = Self.plan(steps: 100, batch: 7, threads: 3, limits: ForwardPlan.Limits(projectionSplitRows: 64))
        let times = plan.chunk(0, direction: 0).times
        let pieces = plan.projectionPieces(times: times)
        #expect(pieces == 3, "one per thread")
        let ranges = (0..<pieces).map { plan.projectionPiece($0, times: times) }
        #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == 700)
        #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
        // Few rows: one piece; never more than 8, nor more than rows / 64.
        #expect(Self.plan(steps: 1, batch: 100, threads: 8).projectionPieces(times: 0..<1) == 1)
        #expect(Self.plan(steps: 100, batch: 64, threads: 32).projectionPieces(times: 0..<100) == 8)
    }

    @Test func aStreamStepIsAPlanOfOneStep() {
        let plan = Self.plan(.gru, hidden: 128, steps: 1, batch: 1, threads: 4)
        #expect(plan.strategy == .alone && plan.chunkCount == 1 && plan.rows == 1)
        // A step large enough to share is shared in a stream too.
        #expect(Self.plan(.lstm, hidden: 1024, input: 1024, steps: 1, batch: 1, threads: 4).strategy == .sharedSteps)
    }
}
