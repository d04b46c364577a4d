import XCTest
@testable import NN
import TestSupport

final class PreciseBatchNormTests: XCTestCase {
    /// After the recompute, the first BN layer's running statistics are the plain averages of
    /// the batch statistics of the batches given (PyTorch convention: unbiased variance), and
    /// everything else the layer carries is as before.
    func testRunningStatisticsBecomeTheAverageOfTheBatchStatistics() throws {
        let bn = BatchNorm2d(2, settings: .pytorch(momentum: 0.01, epsilon: 1e-3))
        let net = Sequential([bn])
        let generator = Generator(seed: 7)
        let batches = (0..<3).map { k in
            Tensor(shape: [2, 2, 3, 4], values: (0..<48).map { _ in Float(k) + Float(4 * generator.uniform()) })
        }
        // Some ordinary training steps first, so the statistics hold lagging values.
        for x in batches { _ = net(x) }
        let tracked = bn.numBatchesTracked.data[0]
        net.eval()

        let used = net.recomputeBatchNormStatistics(from: batches)

        XCTAssertEqual(used, 3)
        for c in 0..<2 {
            var means: [Double] = [], vars: [Double] = []
            for x in batches {
                let values = (0..<2).flatMap { n in (0..<12).map { Double(x.array[(n * 2 + c) * 12 + $0]) } }
                let mean = values.reduce(0, +) / Double(values.count)
                means.append(mean)
                vars.append(values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1))
            }
            XCTAssertEqual(Double(bn.runningMean.array[c]), means.reduce(0, +) / 3, accuracy: 1e-5)
            XCTAssertEqual(Double(bn.runningVar.array[c]), vars.reduce(0, +) / 3, accuracy: 1e-4)
        }
        XCTAssertEqual(bn.settings, .pytorch(momentum: 0.01, epsilon: 1e-3), "settings restored")
        XCTAssertEqual(bn.numBatchesTracked.data[0], tracked, "num_batches_tracked restored")
        XCTAssertFalse(net.isTraining, "inference mode restored")
    }

    func testNoBatchesLeavesTheStatisticsAlone() {
        let bn = BatchNorm2d(3)
        let net = Sequential([bn])
        _ = net(Tensor(shape: [1, 3, 2, 2], values: (0..<12).map(Float.init)))
        let before = bn.runningMean.array + bn.runningVar.array
        XCTAssertEqual(net.recomputeBatchNormStatistics(from: [Tensor]()), 0)
        XCTAssertEqual(bn.runningMean.array + bn.runningVar.array, before)
        XCTAssertTrue(net.isTraining)
    }
}
