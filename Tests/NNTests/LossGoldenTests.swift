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

/// Cross-entropy options, Focal, Lovász-softmax and OHEM against `scripts/golden/loss_golden.py`
/// (run: /root/torch-venv/bin/python scripts/golden/loss_golden.py). Cross-entropy with class
/// weights and label smoothing is PyTorch's own `F.cross_entropy`; the `avg_non_ignore` and
/// all-pixels normalisations are MMSegmentation's `cross_entropy` + `weight_reduce_loss`, Focal
/// and Lovász segmentation_models_pytorch's multiclass definitions, OHEM MMSegmentation's
/// `OHEMPixelSampler` — each written out in PyTorch in the script (PyTorch has none of them).
/// Every fixture: 5 classes, class 4 absent, ignored pixels in both images.
final class SegmentationLossGoldenTests: XCTestCase {
    override func setUp() { Threads.set(2) }

    struct Case {
        var logits: Tensor, targets: [Int32], y: Float, dx: [Float], weight: [Float]?, kept: [Bool]?
    }

    func load(_ name: String) throws -> Case {
        let url = Fixtures.repositoryRoot.appendingPathComponent("Tests/NNTests/Golden/nn/\(name).safetensors")
        let f = try SafetensorsFile.read(from: url)
        let l = try f.entry("logits")
        let targets = try f.entry("target").floats().map { Int32($0) }
        XCTAssert(targets.contains(255), "\(name): fixture has ignored pixels")
        XCTAssertFalse(targets.contains(4), "\(name): fixture has an absent class")
        return Case(logits: Tensor(shape: l.shape, values: try l.floats()), targets: targets, y: try f.entry("y").floats()[0],
                    dx: try f.entry("dx").floats(), weight: f["weight"].map { $0.floats() },
                    kept: f["kept"].map { $0.floats().map { $0 > 0 } })
    }

    /// Forward and gradient against the golden case; ignored pixels get no gradient.
    func check(_ name: String, _ loss: (Tensor, Case) -> Tensor) throws {
        let c = try load(name)
        c.logits.requiresGrad = true
        let y = loss(c.logits, c)
        XCTAssertEqual(y.item, c.y, accuracy: 1e-5 * max(1, abs(c.y)), name)
        y.backward()
        let grad = c.logits.grad!.array
        assertCloseScaled(grad, c.dx, shape: c.logits.shape, tol: 1e-4, "\(name) dx")
        let plane = 24, C = 5
        for (k, t) in c.targets.enumerated() where t == 255 {
            for ch in 0..<C { XCTAssertEqual(grad[(k / plane) * C * plane + ch * plane + k % plane], 0, "\(name): ignored pixel \(k)") }
        }
    }

    // MARK: Cross-entropy

    func testCrossEntropyWeightsAndLabelSmoothingGolden() throws {
        try check("ce_weight_smooth") { crossEntropy($0, targets: $1.targets, weights: $1.weight, labelSmoothing: 0.1) }
        try check("ce_smooth") { crossEntropy($0, targets: $1.targets, labelSmoothing: 0.2) }
    }

    func testCrossEntropyMMSegNormalisationsGolden() throws {
        try check("ce_avg_non_ignore") { crossEntropy($0, targets: $1.targets, weights: $1.weight, normalization: .nonIgnored) }
        try check("ce_all_pixels") { crossEntropy($0, targets: $1.targets, weights: $1.weight, normalization: .allPixels) }
    }

    func testCrossEntropyOptionsGradCheck() {
        let targets: [Int32] = [0, 2, 255, 1, 2, 2, 255, 0, 1, 2, 2, 0]  // class 3 absent
        let weights: [Float] = [0.5, 2, 1, 3]
        for normalization in CrossEntropyNormalization.allCases {
            gradCheck("cross-entropy smoothing 0.15, \(normalization)", [randomTensor([2, 4, 2, 3], seed: 91, low: -2, high: 2)]) {
                crossEntropy($0[0], targets: targets, weights: weights, labelSmoothing: 0.15, normalization: normalization)
            }
        }
    }

    /// The defaults are the plain loss: smoothing 0 and PyTorch's normalisation change nothing.
    func testCrossEntropyDefaultsUnchanged() {
        let x = randomTensor([2, 4, 2, 3], seed: 92, low: -2, high: 2)
        let targets: [Int32] = [0, 2, 255, 1, 2, 2, 255, 0, 1, 2, 2, 0]
        XCTAssertEqual(crossEntropy(x, targets: targets).item,
                       crossEntropy(x, targets: targets, labelSmoothing: 0, normalization: .weightedTargets).item)
        // Without weights and ignored pixels all three normalisations agree.
        let full: [Int32] = [0, 2, 3, 1, 2, 2, 1, 0, 1, 2, 2, 0]
        let values = CrossEntropyNormalization.allCases.map { crossEntropy(x, targets: full, normalization: $0).item }
        XCTAssertEqual(values[0], values[1], accuracy: 1e-6)
        XCTAssertEqual(values[0], values[2], accuracy: 1e-6)
    }

    // MARK: Focal

    func testFocalGolden() throws {
        try check("focal") { focalLoss($0, targets: $1.targets, gamma: 2) }
        try check("focal_alpha") { focalLoss($0, targets: $1.targets, gamma: 1.5, alpha: 0.25) }
    }

    func testFocalGradCheck() {
        let targets: [Int32] = [0, 2, 255, 1, 2, 2, 255, 0, 1, 2, 2, 0]
        for (gamma, alpha) in [(Float(2), Float?.none), (0.5, 0.25), (0, nil)] {
            gradCheck("focal γ \(gamma) α \(alpha.map { "\($0)" } ?? "-")", [randomTensor([2, 4, 2, 3], seed: 93, low: -2, high: 2)]) {
                focalLoss($0[0], targets: targets, gamma: gamma, alpha: alpha)
            }
        }
    }

    /// γ = 0 without α: the sum over classes of the mean binary cross-entropies.
    func testFocalWithoutFocusingIsBinaryCrossEntropy() {
        let x = randomTensor([1, 3, 1, 2], seed: 94, low: -2, high: 2).array
        let targets: [Int32] = [2, 0]
        var expected: Double = 0
        for c in 0..<3 {
            for i in 0..<2 {
                let v = Double(x[c * 2 + i]), y: Double = Int(targets[i]) == c ? 1 : 0
                expected += -(y * log(1 / (1 + exp(-v))) + (1 - y) * log(1 - 1 / (1 + exp(-v)))) / 2
            }
        }
        XCTAssertEqual(Double(focalLoss(Tensor(shape: [1, 3, 1, 2], values: x), targets: targets, gamma: 0).item), expected,
                       accuracy: 1e-5)
    }

    // MARK: Lovász-softmax

    func testLovaszGolden() throws {
        try check("lovasz") { lovaszSoftmaxLoss($0, targets: $1.targets) }
    }

    func testLovaszGradCheck() {
        let targets: [Int32] = [0, 2, 255, 1, 2, 2, 255, 0, 1, 2, 2, 0]
        // Small steps: the loss is piecewise smooth between reorderings of the errors.
        gradCheck("lovasz-softmax", [randomTensor([2, 4, 2, 3], seed: 95, low: -2, high: 2)], h: 1e-3, rtol: 1e-2) {
            lovaszSoftmaxLoss($0[0], targets: targets)
        }
    }

    /// A perfect prediction has loss 0; only ignored pixels: 0 and no gradient.
    func testLovaszPerfectAndEmpty() {
        let targets: [Int32] = [0, 1, 1, 0]
        var v = [Float](repeating: -20, count: 8)
        for (i, t) in targets.enumerated() { v[Int(t) * 4 + i] = 20 }
        XCTAssertEqual(lovaszSoftmaxLoss(Tensor(shape: [1, 2, 2, 2], values: v), targets: targets).item, 0, accuracy: 1e-6)
        let x = randomTensor([1, 2, 2, 2], seed: 96)
        x.requiresGrad = true
        let y = lovaszSoftmaxLoss(x, targets: [Int32](repeating: 255, count: 4))
        XCTAssertEqual(y.item, 0)
        y.backward()
        XCTAssertEqual(x.grad!.array, [Float](repeating: 0, count: 8))
    }

    // MARK: OHEM

    func testOHEMGolden() throws {
        let thresh = try load("ohem_thresh")
        XCTAssertEqual(ohemKeptPixels(thresh.logits, targets: thresh.targets, threshold: 0.7, minKept: 3), thresh.kept!)
        try check("ohem_thresh") {
            ohemCrossEntropy($0, targets: $1.targets, threshold: 0.7, minKept: 3, weights: $1.weight, normalization: .allPixels)
        }
        let minKept = try load("ohem_min_kept")
        let kept = ohemKeptPixels(minKept.logits, targets: minKept.targets, threshold: 0.05, minKept: 12)
        XCTAssertEqual(kept, minKept.kept!)
        XCTAssertEqual(kept.filter { $0 }.count, 24, "min_kept · N pixels kept when the threshold is low")
        try check("ohem_min_kept") { ohemCrossEntropy($0, targets: $1.targets, threshold: 0.05, minKept: 12) }
    }

    func testOHEMGradCheck() {
        let targets: [Int32] = [0, 2, 255, 1, 2, 2, 255, 0, 1, 2, 2, 0]
        for normalization in CrossEntropyNormalization.allCases {
            gradCheck("ohem \(normalization)", [randomTensor([2, 4, 2, 3], seed: 97, low: -2, high: 2)]) {
                ohemCrossEntropy($0[0], targets: targets, threshold: 0.6, minKept: 2, normalization: normalization)
            }
        }
    }

    /// Keeping every pixel is plain cross-entropy; ignored pixels are never kept.
    func testOHEMKeepingEverythingIsCrossEntropy() {
        let x = randomTensor([2, 4, 2, 3], seed: 98, low: -2, high: 2)
        let targets: [Int32] = [0, 2, 255, 1, 2, 2, 255, 0, 1, 2, 2, 0]
        let kept = ohemKeptPixels(x, targets: targets, threshold: 1.01, minKept: 0)
        XCTAssertEqual(kept, targets.map { $0 != 255 })
        XCTAssertEqual(ohemCrossEntropy(x, targets: targets, threshold: 1.01, minKept: 0).item,
                       crossEntropy(x, targets: targets).item, accuracy: 1e-6)
    }
}
