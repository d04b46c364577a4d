import XCTest
@testable import NN
import TestSupport

/// Forward outputs and gradients against PyTorch.
/// Regenerate: `~/torch-venv/bin/python scripts/golden/nn_golden.py` (format in its docstring).
/// Gradients are of L = Σ y·gy with gy[i] = cos(0.01·i); tolerance: max |error| ≤ 1e-4 · max(1, max |expected|).
final class GoldenTests: XCTestCase {
    override func setUp() { Threads.set(2) }

    struct Case {
        let file: SafetensorsFile
        func tensor(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Tensor {
            let e = try self.file.entry(name)
            return Tensor(shape: e.shape, values: e.floats())
        }
        func values(_ name: String) throws -> [Float] { try file.entry(name).floats() }
    }

    func load(_ name: String) throws -> Case {
        let url = Fixtures.repositoryRoot.appendingPathComponent("Tests/NNTests/Golden/nn/\(name).safetensors")
        return Case(file: try SafetensorsFile.read(from: url))
    }

    /// `gy[i] = cos(0.01·i)` in the shape of `y`.
    func upstream(_ shape: [Int]) -> Tensor {
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, values: (0..<n).map { Float(cos(0.01 * Double($0))) })
    }

    func check(_ actual: Tensor?, _ c: Case, _ name: String, _ label: String, file: StaticString = #filePath, line: UInt = #line) throws {
        guard let actual else { XCTFail("\(label): \(name) missing", file: file, line: line); return }
        let e = try c.file.entry(name)
        XCTAssertEqual(actual.count, e.elementCount, "\(label) \(name) size", file: file, line: line)
        assertCloseScaled(actual.array, e.floats(), shape: actual.shape, tol: 1e-4, "\(label) \(name)", file: file, line: line)
    }

    /// Runs `op` on the case's inputs (marked as needing gradients), back-propagates gy and
    /// compares y and every gradient.
    func runCase(_ name: String, inputs: [String], grads: [String], file: StaticString = #filePath, line: UInt = #line,
                 _ op: ([Tensor]) -> Tensor) throws {
        let c = try load(name)
        let ts = try inputs.map { try c.tensor($0) }
        for t in ts { t.requiresGrad = true }
        let y = op(ts)
        try check(y, c, "y", name, file: file, line: line)
        weightedSum(y, upstream(y.shape)).backward()
        for (t, g) in zip(ts, grads) { try check(t.grad, c, g, name, file: file, line: line) }
    }

    func testConv3x3Stride1Pad1() throws {
        try runCase("conv3x3_s1_p1", inputs: ["x", "weight", "bias"], grads: ["dx", "dweight", "dbias"]) {
            conv2d($0[0], weight: $0[1], bias: $0[2], padding: .symmetric(1))
        }
    }

    func testConv3x3Stride2Same() throws {
        try runCase("conv3x3_s2_same", inputs: ["x", "weight", "bias"], grads: ["dx", "dweight", "dbias"]) {
            conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: .same)
        }
    }

    func testConv1x1() throws {
        try runCase("conv1x1", inputs: ["x", "weight", "bias"], grads: ["dx", "dweight", "dbias"]) {
            conv2d($0[0], weight: $0[1], bias: $0[2])
        }
    }

    func testDepthwise3x3() throws {
        try runCase("depthwise3x3", inputs: ["x", "weight", "bias"], grads: ["dx", "dweight", "dbias"]) {
            conv2d($0[0], weight: $0[1], bias: $0[2], padding: .symmetric(1), groups: 4)
        }
    }

    func testDeconv3x3Stride2Same() throws {
        try runCase("deconv3x3_s2_same", inputs: ["x", "weight", "bias"], grads: ["dx", "dweight", "dbias"]) {
            convTranspose2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: .same)
        }
    }

    func testFCNHeadDeconvK64S32P16WithBilinearWeights() throws {
        let c = try load("deconv_k64_s32_p16")
        let layer = ConvTranspose2d(21, 21, kernel: 64, stride: 32, padding: .symmetric(16), weightInit: .bilinear)
        layer.bias!.assign(try c.tensor("bias"))
        let x = try c.tensor("x")
        x.requiresGrad = true
        let y = layer(x)
        XCTAssertEqual(y.shape, [1, 21, 64, 96])
        try check(y, c, "y", "fcn head")
        weightedSum(y, upstream(y.shape)).backward()
        try check(x.grad, c, "dx", "fcn head")
        try check(layer.bias!.grad, c, "dbias", "fcn head")
        // dweight[:, :, ::8, ::8]
        let dw = try XCTUnwrap(layer.weight.grad).array
        var sample: [Float] = []
        for i in 0..<21 { for o in 0..<21 { for a in stride(from: 0, to: 64, by: 8) { for b in stride(from: 0, to: 64, by: 8) {
            sample.append(dw[((i * 21 + o) * 64 + a) * 64 + b])
        } } } }
        assertCloseScaled(sample, try c.values("dweight_sample"), tol: 1e-4, "fcn head dweight sample")
        for (name, shape) in [("bilinear_k4", [3, 3, 4, 4]), ("bilinear_k3", [2, 2, 3, 3])] {
            let t = Tensor(zeros: shape)
            Initializer.bilinear.fill(t)
            assertClose(t.array, try c.values(name), shape: shape, rtol: 0, atol: 1e-7, name)
        }
    }

    func batchNormCase(_ name: String, settings: BatchNormSettings, training: Bool) throws {
        let c = try load(name)
        let rm = try c.tensor("running_mean"), rv = try c.tensor("running_var")
        try runCase(name, inputs: ["x", "gamma", "beta"], grads: ["dx", "dgamma", "dbeta"]) {
            batchNorm($0[0], gamma: $0[1], beta: $0[2], runningMean: rm, runningVar: rv, settings: settings, training: training)
        }
        if training {
            try check(rm, c, "running_mean_after", name)
            try check(rv, c, "running_var_after", name)
        } else {
            assertClose(rm.array, try c.values("running_mean"), rtol: 0, atol: 0, "eval keeps running mean")
        }
    }

    func testBatchNormTrainPyTorch() throws { try batchNormCase("bn_train", settings: .pytorch(), training: true) }
    func testBatchNormTrainKeras() throws { try batchNormCase("bn_train_keras", settings: .keras(), training: true) }
    func testBatchNormEval() throws { try batchNormCase("bn_eval", settings: .pytorch(), training: false) }

    func testMaxPool3Stride2Same() throws {
        try runCase("maxpool3_s2_same", inputs: ["x"], grads: ["dx"]) {
            maxPool2d($0[0], kernel: (3, 3), stride: (2, 2), padding: .same)
        }
    }

    func testUpsampleNearest() throws {
        try runCase("upsample_nearest2", inputs: ["x"], grads: ["dx"]) { upsampleNearest($0[0], scale: (2, 2)) }
    }

    func testResizeBilinear() throws {
        try runCase("resize_bilinear", inputs: ["x"], grads: ["dx"]) { resizeBilinear($0[0], size: (8, 9)) }
    }

    func testCrossEntropyIgnore255() throws {
        for name in ["cross_entropy", "cross_entropy_weighted"] {
            let c = try load(name)
            let logits = try c.tensor("logits")
            logits.requiresGrad = true
            let targets = try c.values("target").map { Int32($0) }
            XCTAssert(targets.contains(255))
            let weights = c.file["weights"]?.floats()
            let loss = crossEntropy(logits, targets: targets, weights: weights)
            try check(loss, c, "y", name)
            loss.backward()
            try check(logits.grad, c, "dx", name)
        }
    }

    func testArgmaxMatchesLargestLogit() throws {
        let c = try load("cross_entropy")
        let logits = try c.tensor("logits")
        let am = argmaxChannels(logits)
        let v = logits.array
        for n in 0..<2 { for i in 0..<24 {
            let col = (0..<5).map { v[(n * 5 + $0) * 24 + i] }
            XCTAssertEqual(Int(am[n * 24 + i]), col.firstIndex(of: col.max()!)!)
        } }
    }

    func testOptimizersMatchPyTorchForThreeSteps() throws {
        let c = try load("optimizers")
        let rules: [(String, any UpdateRule, Float)] = [
            ("sgd", SGD(), 0.1),
            ("sgd_momentum", SGD(momentum: 0.9, dampening: 0.1, weightDecay: 0.01), 0.1),
            ("sgd_nesterov", SGD(momentum: 0.9, nesterov: true, weightDecay: 1e-4), 0.1),
            ("adam", Adam(weightDecay: 0.01), 0.01),
            ("adamw", Adam.adamW(weightDecay: 0.1), 0.01),
            ("rmsprop", RMSprop(rho: 0.9, epsilon: 1e-7), 0.01),
            ("rmsprop_momentum", RMSprop(rho: 0.99, momentum: 0.5, weightDecay: 0.01), 0.01),
        ]
        for (name, rule, lr) in rules {
            let p = try c.tensor("p0")
            p.requiresGrad = true
            let opt = Optimizer(parameters: [("p", p)], rule: rule, learningRate: lr)
            for step in 1...3 {
                p.grad = try c.tensor("g\(step)")
                opt.step()
                assertClose(p.array, try c.values("\(name).p\(step)"), shape: p.shape, rtol: 1e-5, atol: 1e-6, "\(name) step \(step)")
            }
        }
    }

    func testOptimizerStateRoundTripsThroughStateDict() throws {
        let c = try load("optimizers")
        let p = try c.tensor("p0")
        let opt = Optimizer(parameters: [("layer.weight", p)], rule: Adam(weightDecay: 0.01), learningRate: 0.01)
        p.grad = try c.tensor("g1")
        opt.step()
        var saved: [String: Tensor] = [:]
        for (k, v) in opt.stateDict() { saved[k] = v.copy() }
        XCTAssertEqual(Set(saved.keys), ["layer.weight.exp_avg", "layer.weight.exp_avg_sq", "layer.weight.step"])
        let q = p.copy()
        let resumed = Optimizer(parameters: [("layer.weight", q)], rule: Adam(weightDecay: 0.01), learningRate: 0.01)
        try resumed.loadStateDict(saved)
        for step in 2...3 {
            p.grad = try c.tensor("g\(step)"); q.grad = try c.tensor("g\(step)")
            opt.step(); resumed.step()
        }
        XCTAssertEqual(q.array, p.array)
        assertClose(q.array, try c.values("adam.p3"), rtol: 1e-5, atol: 1e-6, "resumed adam")
    }

    func testSchedulesMatchPyTorch() throws {
        let c = try load("schedules")
        let schedules: [(String, LRSchedule)] = [
            ("step", LRSchedule(base: 0.1, kind: .step(every: 4, gamma: 0.5))),
            ("poly", LRSchedule(base: 0.1, kind: .poly(totalIterations: 10, power: 0.9))),
            ("cosine", LRSchedule(base: 0.1, kind: .cosine(totalIterations: 10, minimum: 0.001))),
            ("warmup_poly", LRSchedule(base: 0.1, kind: .poly(totalIterations: 8, power: 0.9), warmupIterations: 3, warmupStartFactor: 0.01)),
        ]
        for (name, s) in schedules {
            // PyTorch's cosine rises again after T_max; ours stays at the minimum, so compare up to T_max.
            let expected = Array(try c.values(name).prefix(name == "cosine" ? 11 : 12))
            assertClose((0..<expected.count).map { s.learningRate(at: $0) }, expected, rtol: 1e-5, atol: 1e-7, name)
        }
        XCTAssertEqual(LRSchedule(base: 0.3).learningRate(at: 1000), 0.3)
    }
}
