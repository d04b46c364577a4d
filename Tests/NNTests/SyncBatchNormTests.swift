import Foundation
import XCTest
@testable import NN
import TestSupport

/// One replica: the sum over replicas is the value itself.
private final class Alone: BatchNormSynchronizer {
    var calls = 0
    func sumOverReplicas(_ values: inout [Double]) { calls += 1 }
}

/// `replicas` threads meeting in every call, as ranks do in an all-reduce: each call returns
/// the element-wise sum of what every thread passed in that round.
private final class Meeting: BatchNormSynchronizer, @unchecked Sendable {
    let replicas: Int
    private let condition = NSCondition()
    private var round = 0, arrived = 0
    private var accumulating: [Double] = [], result: [Double] = []

    init(replicas: Int) { self.replicas = replicas }

    func sumOverReplicas(_ values: inout [Double]) {
        condition.lock(); defer { condition.unlock() }
        let mine = round
        if arrived == 0 { accumulating = [Double](repeating: 0, count: values.count) }
        precondition(accumulating.count == values.count, "replicas disagree on the message length")
        for i in values.indices { accumulating[i] += values[i] }
        arrived += 1
        if arrived == replicas {
            result = accumulating; arrived = 0; round += 1
            condition.broadcast()
        } else {
            while round == mine { condition.wait() }
        }
        values = result
    }
}

final class SyncBatchNormTests: XCTestCase {
    /// In one replica, synchronised batch norm is batch norm: output, every gradient and the
    /// running statistics, for both conventions; two all-reduces forward, one backward.
    func testOneReplicaEqualsBatchNorm() {
        for settings in [BatchNormSettings.pytorch(), .keras()] {
            let x = randomTensor([3, 4, 5, 6], seed: 1, low: -2, high: 3)
            let gamma = randomTensor([4], seed: 2, low: 0.5, high: 1.5), beta = randomTensor([4], seed: 3)
            let w = randomTensor([3, 4, 5, 6], seed: 4)
            var results: [(y: [Float], dx: [Float], dg: [Float], db: [Float], rm: [Float], rv: [Float])] = []
            let alone = Alone()
            for synced in [false, true] {
                for t in [x, gamma, beta] { t.requiresGrad = true; t.grad = nil }
                let rm = randomTensor([4], seed: 5), rv = randomTensor([4], seed: 6, low: 0.5, high: 2)
                let y = synced
                    ? syncBatchNorm(x, gamma: gamma, beta: beta, runningMean: rm, runningVar: rv, settings: settings, synchronizer: alone)
                    : batchNorm(x, gamma: gamma, beta: beta, runningMean: rm, runningVar: rv, settings: settings, training: true,
                                backend: ReferenceBackend.shared)
                y.backward(gradient: w)
                results.append((y.array, x.grad!.array, gamma.grad!.array, beta.grad!.array, rm.array, rv.array))
            }
            let (a, b) = (results[0], results[1])
            assertClose(b.y, a.y, shape: x.shape, rtol: 0, atol: 1e-5, "y")
            assertClose(b.dx, a.dx, shape: x.shape, rtol: 0, atol: 1e-5, "dx")
            assertClose(b.dg, a.dg, shape: [4], rtol: 0, atol: 1e-4, "dgamma")
            assertClose(b.db, a.db, shape: [4], rtol: 0, atol: 1e-4, "dbeta")
            assertClose(b.rm, a.rm, shape: [4], rtol: 0, atol: 1e-6, "running mean")
            assertClose(b.rv, a.rv, shape: [4], rtol: 0, atol: 1e-5, "running var")
            XCTAssertEqual(alone.calls, 3)
        }
    }

    func testGradientCheck() {
        let rm = Tensor(zeros: [3]), rv = Tensor(shape: [3], repeating: 1)
        gradCheck("sync_batch_norm", [randomTensor([2, 3, 3, 4], seed: 11), randomTensor([3], seed: 12, low: 0.5, high: 1.5),
                                      randomTensor([3], seed: 13)]) {
            syncBatchNorm($0[0], gamma: $0[1], beta: $0[2], runningMean: rm, runningVar: rv, settings: .pytorch(), synchronizer: Alone())
        }
    }

    /// Two replicas of batch 2 against one batch of 4 (the test of data-parallel sync BN): each
    /// replica's output and input gradient are the rows of the whole batch's, γ's and β's
    /// gradients sum to the whole batch's, and both replicas end with the whole batch's
    /// running statistics.
    func testTwoReplicasNormaliseAsOneBatchOfBoth() throws {
        let x = randomTensor([4, 3, 5, 5], seed: 21, low: -1, high: 4)
        let w = randomTensor([4, 3, 5, 5], seed: 22)
        let gammaValues = randomTensor([3], seed: 23, low: 0.5, high: 1.5).array, betaValues = randomTensor([3], seed: 24).array
        let settings = BatchNormSettings.pytorch(momentum: 0.3)
        let half = x.count / 2

        let gamma = Tensor(shape: [3], values: gammaValues), beta = Tensor(shape: [3], values: betaValues)
        for t in [x, gamma, beta] { t.requiresGrad = true }
        let rm = Tensor(zeros: [3]), rv = Tensor(shape: [3], repeating: 1)
        let y = batchNorm(x, gamma: gamma, beta: beta, runningMean: rm, runningVar: rv, settings: settings, training: true,
                          backend: ReferenceBackend.shared)
        y.backward(gradient: w)
        let whole = (y: y.array, dx: x.grad!.array, dg: gamma.grad!.array, db: beta.grad!.array, rm: rm.array, rv: rv.array)

        let meeting = Meeting(replicas: 2)
        final class Outcome: @unchecked Sendable {
            var y: [Float] = [], dx: [Float] = [], dg: [Float] = [], db: [Float] = [], rm: [Float] = [], rv: [Float] = []
        }
        let outcomes = [Outcome(), Outcome()]
        let xs = x.array, ws = w.array
        DispatchQueue.concurrentPerform(iterations: 2) { r in
            let part = Tensor(shape: [2, 3, 5, 5], values: Array(xs[(r * half)..<((r + 1) * half)]))
            let g = Tensor(shape: [3], values: gammaValues), b = Tensor(shape: [3], values: betaValues)
            for t in [part, g, b] { t.requiresGrad = true }
            let rm = Tensor(zeros: [3]), rv = Tensor(shape: [3], repeating: 1)
            let y = syncBatchNorm(part, gamma: g, beta: b, runningMean: rm, runningVar: rv, settings: settings, synchronizer: meeting)
            y.backward(gradient: Tensor(shape: [2, 3, 5, 5], values: Array(ws[(r * half)..<((r + 1) * half)])))
            let o = outcomes[r]
            o.y = y.array; o.dx = part.grad!.array; o.dg = g.grad!.array; o.db = b.grad!.array; o.rm = rm.array; o.rv = rv.array
        }
        let shape = [2, 3, 5, 5]
        for r in 0..<2 {
            let rows = (r * half)..<((r + 1) * half)
            assertClose(outcomes[r].y, Array(whole.y[rows]), shape: shape, rtol: 0, atol: 1e-5, "replica \(r) y")
            assertClose(outcomes[r].dx, Array(whole.dx[rows]), shape: shape, rtol: 0, atol: 1e-5, "replica \(r) dx")
            assertClose(outcomes[r].rm, whole.rm, shape: [3], rtol: 0, atol: 1e-6, "replica \(r) running mean")
            assertClose(outcomes[r].rv, whole.rv, shape: [3], rtol: 0, atol: 1e-5, "replica \(r) running var")
        }
        assertClose(zip(outcomes[0].dg, outcomes[1].dg).map { $0 + $1 }, whole.dg, shape: [3], rtol: 0, atol: 1e-4, "dgamma sum")
        assertClose(zip(outcomes[0].db, outcomes[1].db).map { $0 + $1 }, whole.db, shape: [3], rtol: 0, atol: 1e-4, "dbeta sum")
        // Per-replica statistics differ from the whole batch's here, so the check has teeth.
        XCTAssertGreaterThan(zip(outcomes[0].dg, whole.dg).map { abs($0 - $1 / 2) }.max()!, 1e-3)
    }

    /// The layer uses its synchronizer in training only; in inference the running statistics.
    func testBatchNormLayerSynchronisesOnlyInTraining() {
        let bn = BatchNorm2d(2)
        let alone = Alone()
        bn.synchronizer = alone
        let x = randomTensor([2, 2, 3, 3], seed: 31)
        _ = bn(x)
        XCTAssertEqual(alone.calls, 2)
        bn.eval()
        _ = bn(x)
        XCTAssertEqual(alone.calls, 2)
    }
}
