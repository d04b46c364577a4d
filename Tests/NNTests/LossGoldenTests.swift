import XCTest
@testable import NN
import TestSupport

/// Losses of issue #15 against golden values from `scripts/golden/loss_golden.py` (PyTorch;
/// Dice is segmentation_models_pytorch's definition written out, PyTorch has none), plus
/// finite-difference gradient checks. Fixtures include ignored pixels and an absent class.
final class LossGoldenTests: XCTestCase {
    override func setUp() { Threads.set(2) }

    func load(_ name: String) throws -> (logits: Tensor, targets: [Int32], y: [Float], dx: [Float]) {
        let url = Fixtures.repositoryRoot.appendingPathComponent("Tests/NNTests/Golden/nn/\(name).safetensors")
        let f = try SafetensorsFile.read(from: url)
        let l = try f.entry("logits")
        return (Tensor(shape: l.shape, values: try l.floats()), try f.entry("target").floats().map { Int32($0) },
                try f.entry("y").floats(), try f.entry("dx").floats())
    }

    func checkDice(_ name: String, smooth: Float) throws {
        let c = try load(name)
        XCTAssert(c.targets.contains(255), "fixture has ignored pixels")
        XCTAssertFalse(c.targets.contains(4), "fixture has an absent class")
        c.logits.requiresGrad = true
        let y = diceLoss(c.logits, targets: c.targets, smooth: smooth)
        XCTAssertEqual(y.item, c.y[0], accuracy: 1e-5, name)
        y.backward()
        assertCloseScaled(c.logits.grad!.array, c.dx, shape: c.logits.shape, tol: 1e-4, "\(name) dx")
        // Ignored pixels get no gradient.
        let plane = 24, C = 5
        for (k, t) in c.targets.enumerated() where t == 255 {
            let n = k / plane, i = k % plane
            for ch in 0..<C { XCTAssertEqual(c.logits.grad!.array[n * C * plane + ch * plane + i], 0) }
        }
    }

    func testDiceGolden() throws { try checkDice("dice", smooth: 0) }
    func testDiceSmoothGolden() throws { try checkDice("dice_smooth1", smooth: 1) }

    func testDiceGradCheck() {
        let targets: [Int32] = [0, 2, 255, 1, 2, 2, 255, 0, 1, 2, 2, 0]  // class 3 absent
        gradCheck("dice ignore 255, absent class", [randomTensor([2, 4, 2, 3], seed: 81, low: -2, high: 2)]) {
            diceLoss($0[0], targets: targets)
        }
    }

    func testDicePerfectPredictionIsNearZero() {
        let targets: [Int32] = [0, 1, 1, 0]
        var v = [Float](repeating: -20, count: 8)
        for (i, t) in targets.enumerated() { v[Int(t) * 4 + i] = 20 }
        XCTAssertEqual(diceLoss(Tensor(shape: [1, 2, 2, 2], values: v), targets: targets).item, 0, accuracy: 1e-5)
    }
}
