import XCTest
@testable import NN
import TestSupport

/// bf16 parity against PyTorch's CPU bf16 autocast on a small seeded network.
/// Regenerate: `python3 scripts/golden/bf16_golden.py` (network and file format in its docstring).
///
/// Both sides differ from fp32 in different places (PyTorch's autocast keeps the conv outputs,
/// batch norm and ReLU in bf16; ours rounds only the conv inputs and weights and keeps fp32
/// between convs), so the stated tolerance is relative to PyTorch's own bf16 error: our bf16
/// result is no farther from PyTorch's bf16 result than twice PyTorch's bf16 is from its fp32,
/// with a floor of 1 % (relative L2, gradients) — logits: max |ours − torch_bf16| ≤ 2 · max
/// |torch_bf16 − torch_fp32|; loss within 1e-3 relative; every parameter gradient: relative L2
/// error ≤ max(2 · PyTorch's, 1e-2). The fp32 run of the same network matches PyTorch's fp32 at
/// the fp32 parity tolerance (1e-4 of the largest magnitude), so the network is the same one.
final class BF16GoldenTests: XCTestCase {
    let names = ["conv1.weight", "bn1.weight", "bn1.bias", "conv2.weight", "conv2.bias", "deconv.weight", "deconv.bias"]

    override func setUp() { Threads.set(2) }

    func load() throws -> SafetensorsFile {
        try SafetensorsFile.read(from: Fixtures.repositoryRoot.appendingPathComponent("Tests/NNTests/Golden/bf16/small_net.safetensors"))
    }

    func tensor(_ f: SafetensorsFile, _ name: String) throws -> Tensor {
        let e = try f.entry(name)
        return Tensor(shape: e.shape, values: e.floats())
    }

    /// One training-mode forward and backward of the golden network on `backend`.
    func step(_ f: SafetensorsFile, _ backend: any Backend) throws -> (logits: [Float], loss: Float, grads: [String: [Float]]) {
        let x = try tensor(f, "x")
        let targets = try f.entry("labels").floats().map { Int32($0) }
        var p: [String: Tensor] = [:]
        for n in names { let t = try tensor(f, n); t.requiresGrad = true; p[n] = t }
        var h = conv2d(x, weight: p["conv1.weight"]!, padding: .symmetric(1), backend: backend)
        h = relu(batchNorm(h, gamma: p["bn1.weight"]!, beta: p["bn1.bias"]!, runningMean: Tensor(zeros: [16]),
                           runningVar: Tensor(shape: [16], values: [Float](repeating: 1, count: 16)),
                           settings: .pytorch(), training: true, backend: backend))
        h = maxPool2d(h, kernel: (2, 2), stride: (2, 2), backend: backend)
        h = relu(conv2d(h, weight: p["conv2.weight"]!, bias: p["conv2.bias"]!, padding: .symmetric(1), backend: backend))
        let logits = convTranspose2d(h, weight: p["deconv.weight"]!, bias: p["deconv.bias"]!, stride: (2, 2),
                                     padding: .symmetric(1), backend: backend)
        let loss = crossEntropy(logits, targets: targets)
        loss.backward()
        var grads: [String: [Float]] = [:]
        for n in names { grads[n] = p[n]!.grad?.array ?? [] }
        return (logits.array, loss.array[0], grads)
    }

    func relativeL2(_ a: [Float], _ b: [Float]) -> Float {
        let err = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        return err / max(b.map { $0 * $0 }.reduce(0, +).squareRoot(), 1e-30)
    }

    func testFP32MatchesPyTorchFP32() throws {
        let f = try load()
        let ours = try step(f, try XCTUnwrap(DNNLBackend.shared))
        assertCloseScaled(ours.logits, try f.entry("logits.fp32").floats(), tol: 1e-4, "logits")
        XCTAssertEqual(ours.loss, try f.entry("loss.fp32").floats()[0], accuracy: 1e-5)
        for n in names { assertCloseScaled(ours.grads[n] ?? [], try f.entry("grad.\(n).fp32").floats(), tol: 1e-4, "grad \(n)") }
    }

    func testBF16MatchesPyTorchAutocastBF16() throws {
        try XCTSkipUnless(BF16Support.current.available, "bf16 not available here: \(BF16Support.current.summary)")
        let f = try load()
        let bf16 = try XCTUnwrap(DNNLBackend.sharedBF16)
        let before = bf16.bf16ConvolutionCount
        let ours = try step(f, bf16)
        XCTAssertEqual(bf16.bf16ConvolutionCount - before, 6, "3 convs forward + backward in bf16")
        let t16 = try f.entry("logits.bf16").floats(), t32 = try f.entry("logits.fp32").floats()
        let torchGap = zip(t16, t32).map { abs($0 - $1) }.max() ?? 0
        let ourGap = zip(ours.logits, t16).map { abs($0 - $1) }.max() ?? 0
        XCTAssertGreaterThan(torchGap, 0, "the fixture's bf16 logits equal its fp32 ones: autocast did not run")
        XCTAssertLessThanOrEqual(ourGap, 2 * torchGap, "logits: max |ours − torch bf16| vs 2 × max |torch bf16 − fp32|")
        let loss16 = try f.entry("loss.bf16").floats()[0]
        XCTAssertEqual(ours.loss, loss16, accuracy: 1e-3 * loss16)
        for n in names {
            let g16 = try f.entry("grad.\(n).bf16").floats(), g32 = try f.entry("grad.\(n).fp32").floats()
            let torchErr = relativeL2(g16, g32), ourErr = relativeL2(ours.grads[n] ?? [], g16)
            XCTAssertLessThanOrEqual(ourErr, max(2 * torchErr, 1e-2),
                                     "grad \(n): relative L2 vs torch bf16 \(ourErr), torch bf16 vs fp32 \(torchErr)")
        }
    }
}
