import XCTest
@testable import NN
import TestSupport

/// MobileNetV3 / LR-ASPP's ops: hardswish, hardsigmoid, sigmoid, the per-channel scale of
/// squeeze-excitation, and depthwise 5×5 convs strided by 2 or dilated by 2 — forward and
/// gradients against PyTorch (`scripts/golden/nn_golden.py --mobilenet`, L = Σ y·gy with
/// gy[i] = cos(0.01·i)) on both backends, and finite-difference gradient checks.
final class MobileNetOpsTests: XCTestCase {
    override func setUp() { Threads.set(2) }

    func load(_ name: String) throws -> SafetensorsFile {
        try SafetensorsFile.read(from: Fixtures.repositoryRoot.appendingPathComponent("Tests/NNTests/Golden/nn/\(name).safetensors"))
    }

    /// Runs `op` on the named inputs, back-propagates gy, compares y and each gradient with
    /// PyTorch's (max |error| ≤ 1e-4 · max(1, max |expected|)).
    func golden(_ name: String, inputs: [String], grads: [String], backend: any Backend,
                file: StaticString = #filePath, line: UInt = #line, _ op: ([Tensor]) -> Tensor) throws {
        let saved = Backends.current
        Backends.current = backend
        defer { Backends.current = saved }
        let f = try load(name)
        let ts = try inputs.map { n -> Tensor in
            let e = try f.entry(n)
            let t = Tensor(shape: e.shape, values: e.floats())
            t.requiresGrad = true
            return t
        }
        let y = op(ts)
        let label = "\(name) on \(backend.name)"
        assertCloseScaled(y.array, try f.entry("y").floats(), shape: y.shape, tol: 1e-4, "\(label) y", file: file, line: line)
        let n = y.count
        weightedSum(y, Tensor(shape: y.shape, values: (0..<n).map { Float(cos(0.01 * Double($0))) })).backward()
        for (t, g) in zip(ts, grads) {
            guard let grad = t.grad else { XCTFail("\(label): no \(g)", file: file, line: line); continue }
            assertCloseScaled(grad.array, try f.entry(g).floats(), shape: grad.shape, tol: 1e-4, "\(label) \(g)", file: file, line: line)
        }
    }

    var backends: [any Backend] {
        [Backends.reference] + (DNNLBackend.shared.map { [$0] } ?? [])
    }

    /// The activations at their kinks (x = ±3 set exactly) take PyTorch's one-sided slopes:
    /// hardswish's gradient is 0 at −3 and 1 at 3 (PyTorch 2.15), hardsigmoid's 0 at both.
    func testActivationsMatchPyTorch() throws {
        for backend in backends {
            try golden("hardswish", inputs: ["x"], grads: ["dx"], backend: backend) { hardswish($0[0]) }
            try golden("hardsigmoid", inputs: ["x"], grads: ["dx"], backend: backend) { hardsigmoid($0[0]) }
            try golden("sigmoid", inputs: ["x"], grads: ["dx"], backend: backend) { sigmoid($0[0]) }
        }
        let kinks = Tensor(shape: [4], values: [-3, 3, -3.5, 3.5])
        kinks.requiresGrad = true
        weightedSum(hardswish(kinks), Tensor(shape: [4], repeating: 1)).backward()
        XCTAssertEqual(kinks.grad?.array, [0, 1, 0, 1])
        kinks.grad = nil
        weightedSum(hardsigmoid(kinks), Tensor(shape: [4], repeating: 1)).backward()
        XCTAssertEqual(kinks.grad?.array, [0, 0, 0, 0])
        XCTAssertEqual(sigmoid(Tensor(shape: [2], values: [-200, 200])).array, [0, 1], "no overflow")
    }

    func testScaleChannelsMatchesPyTorch() throws {
        for backend in backends {
            try golden("scale_channels", inputs: ["x", "s"], grads: ["dx", "ds"], backend: backend) { scaleChannels($0[0], by: $0[1]) }
        }
    }

    /// The depthwise convs of the C2 / C4 stages: 5×5 stride 2 padding 2, and 5×5 dilation 2
    /// padding 4 (the dilated stage), on both backends.
    func testDepthwise5x5MatchesPyTorch() throws {
        for backend in backends {
            try golden("depthwise5x5_s2", inputs: ["x", "weight"], grads: ["dx", "dweight"], backend: backend) {
                conv2d($0[0], weight: $0[1], stride: (2, 2), padding: .symmetric(2), groups: 6)
            }
            try golden("depthwise5x5_d2", inputs: ["x", "weight"], grads: ["dx", "dweight"], backend: backend) {
                conv2d($0[0], weight: $0[1], padding: .symmetric(4), dilation: (2, 2), groups: 6)
            }
        }
    }

    /// Finite differences away from the kinks (separated values, none within 0.05 of ±3 after
    /// the shift), and through a squeeze-excitation block: pool · 1×1 · ReLU · 1×1 ·
    /// hardsigmoid · scale (its gradients are small: a floor of 0.05 keeps float32 noise of the
    /// finite differences, ~1e-5, below the tolerance).
    func testGradientChecks() {
        func offKink(_ seed: UInt64) -> Tensor {
            let t = separatedTensor([2, 3, 4, 3], seed: seed, gap: 0.17)
            return Tensor(shape: t.shape, values: t.array.map { abs(abs($0) - 3) < 0.05 ? $0 + 0.1 : $0 })
        }
        gradCheck("hardswish", [offKink(41)], h: 1e-2) { hardswish($0[0]) }
        gradCheck("hardsigmoid", [offKink(42)], h: 1e-2) { hardsigmoid($0[0]) }
        gradCheck("sigmoid", [randomTensor([2, 3, 4, 3], seed: 43, low: -4, high: 4)]) { sigmoid($0[0]) }
        gradCheck("scale channels", [randomTensor([2, 3, 4, 5], seed: 44), randomTensor([2, 3, 1, 1], seed: 45)]) {
            scaleChannels($0[0], by: $0[1])
        }
        gradCheck("squeeze-excitation", [randomTensor([2, 4, 5, 5], seed: 46), randomTensor([3, 4, 1, 1], seed: 51),
                                          randomTensor([4, 3, 1, 1], seed: 52)], floor: 0.05) { t in
            let s = hardsigmoid(conv2d(relu(conv2d(globalAveragePool(t[0]), weight: t[1])), weight: t[2]))
            return scaleChannels(t[0], by: s)
        }
        // The same with a non-leaf input, `h = 2·t`: h is an input of the scale and, through a
        // sibling branch (pool · 1×1 · …), of its factors; both contributions must reach t.
        gradCheck("squeeze-excitation of a computed tensor", [randomTensor([2, 4, 5, 5], seed: 53), randomTensor([3, 4, 1, 1], seed: 51),
                                                            randomTensor([4, 3, 1, 1], seed: 52)], floor: 0.05) { t in
            let h = scale(t[0], by: 2)
            let s = hardsigmoid(conv2d(relu(conv2d(globalAveragePool(h), weight: t[1])), weight: t[2]))
            return scaleChannels(h, by: s)
        }
        gradCheck("x · mean(x) of a computed tensor", [randomTensor([1, 2, 3, 3], seed: 54)]) { t in
            let h = scale(t[0], by: 3)
            return scaleChannels(h, by: globalAveragePool(h))
        }
        gradCheck("depthwise 5x5 dilation 2", [randomTensor([1, 3, 9, 9], seed: 49), randomTensor([3, 1, 5, 5], seed: 50)]) {
            conv2d($0[0], weight: $0[1], padding: .symmetric(4), dilation: (2, 2), groups: 3)
        }
    }
}
