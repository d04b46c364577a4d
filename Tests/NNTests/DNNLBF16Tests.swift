import XCTest
@testable import NN
import CDNNL
import TestSupport

/// The bf16 convolutions of the oneDNN backend (`DNNLOptions.bf16`, `DNNLBF16Conv.swift`).
///
/// Two checks per op, forward and every gradient:
/// 1. Exactness of the arithmetic: oneDNN's bf16 kernel equals the fp32 reference conv run on the
///    inputs rounded to bf16 (round to nearest even, as oneDNN converts). A product of two bf16
///    numbers is exact in fp32, so only the fp32 summation order differs: tolerance 1e-4 of the
///    largest magnitude, the fp32 cross-checks' tolerance. The weighting of the output (the
///    incoming gradient) is bf16-exact, so the backward rounds nothing the emulation does not.
/// 2. Closeness to fp32 (the stated bf16 tolerance): within 1e-2 of the largest magnitude of the
///    unrounded fp32 result. bf16 keeps 8 significant bits (relative rounding ≤ 2⁻⁹ per operand);
///    with fp32 accumulation over K = C·kh·kw terms of random sign the error grows like √K, far
///    below 1 % of the largest output for these shapes — and it must not be zero (the bf16
///    kernels really ran).
final class DNNLBF16Tests: XCTestCase {
    var bf16: DNNLBackend!

    override func setUpWithError() throws {
        Threads.set(2)
        try XCTSkipUnless(BF16Support.current.available, "bf16 not available here: \(BF16Support.current.summary)")
        bf16 = try XCTUnwrap(DNNLBackend.sharedBF16, "bf16 backend could not be created")
        BufferPool.shared.poisonsReturnedBuffers = true
    }

    override func tearDown() {
        BufferPool.shared.poisonsReturnedBuffers = false
        XCTAssertEqual(bf16?.fallbacks ?? [:], [:], "ops fell back (to fp32 or the reference backend)")
    }

    /// `v` rounded to the nearest bf16 (ties to even), as a Float.
    func bf16Rounded(_ v: Float) -> Float {
        let b = v.bitPattern
        return Float(bitPattern: (b &+ 0x7FFF &+ ((b >> 16) & 1)) & 0xFFFF_0000)
    }

    func rounded(_ t: Tensor) -> Tensor { Tensor(shape: t.shape, values: t.array.map(bf16Rounded)) }

    /// Runs `f` (forward, then backward of `Σ f·w`) with each of `roundedInputs` rounded to bf16
    /// on the reference backend, unrounded on the reference backend, and unrounded on the bf16
    /// backend, and compares as the class comment says.
    func check(_ label: String, _ inputs: [Tensor], roundedInputs: Set<Int>, file: StaticString = #filePath, line: UInt = #line,
               _ f: ([Tensor], any Backend) -> Tensor) {
        func run(_ backend: any Backend, round: Bool) -> (out: [Float], shape: [Int], grads: [[Float]]) {
            let xs = inputs.enumerated().map { k, t -> Tensor in
                let c = round && roundedInputs.contains(k) ? rounded(t) : t.copy()
                c.requiresGrad = true
                return c
            }
            let out = f(xs, backend)
            let w = rounded(randomTensor(out.shape, seed: 99))
            weightedSum(out, w).backward()
            return (out.array, out.shape, xs.map { $0.grad?.array ?? [] })
        }
        let before = bf16.bf16ConvolutionCount
        let fast = run(bf16, round: false)
        let emulated = run(ReferenceBackend.shared, round: true)
        let exact = run(ReferenceBackend.shared, round: false)
        XCTAssertGreaterThan(bf16.bf16ConvolutionCount, before, "\(label): no bf16 kernel ran", file: file, line: line)
        XCTAssertEqual(fast.shape, exact.shape, "\(label): output shape", file: file, line: line)
        let pairs = [("forward", fast.out, emulated.out, exact.out)]
            + fast.grads.indices.map { ("d/dinput\($0)", fast.grads[$0], emulated.grads[$0], exact.grads[$0]) }
        for (what, a, e, x) in pairs {
            assertCloseScaled(a, e, tol: 1e-4, "\(label) \(what) vs fp32 on bf16-rounded inputs", file: file, line: line)
            assertCloseScaled(a, x, tol: 1e-2, "\(label) \(what) vs fp32", file: file, line: line)
        }
        let forwardGap = zip(fast.out, exact.out).map { abs($0 - $1) }.max() ?? 0
        XCTAssertGreaterThan(forwardGap, 0, "\(label): identical to fp32, so no bf16 rounding happened", file: file, line: line)
    }

    func testConv3x3WithBias() {
        let x = randomTensor([2, 16, 9, 11], seed: 1), w = randomTensor([32, 16, 3, 3], seed: 2), b = randomTensor([32], seed: 3)
        check("conv3x3 s1 p1", [x, w, b], roundedInputs: [0, 1]) { t, be in
            conv2d(t[0], weight: t[1], bias: t[2], padding: .symmetric(1), backend: be)
        }
    }

    func testConvFirstLayerStride2AndPointwise() {
        let x = randomTensor([2, 3, 12, 10], seed: 4), w = randomTensor([16, 3, 3, 3], seed: 5)
        check("conv3x3 c3 s2 same", [x, w], roundedInputs: [0, 1]) { t, be in
            conv2d(t[0], weight: t[1], stride: (2, 2), padding: .same, backend: be)
        }
        let x1 = randomTensor([2, 32, 7, 7], seed: 6), w1 = randomTensor([16, 32, 1, 1], seed: 7), b1 = randomTensor([16], seed: 8)
        check("conv1x1", [x1, w1, b1], roundedInputs: [0, 1]) { t, be in conv2d(t[0], weight: t[1], bias: t[2], backend: be) }
    }

    func testDepthwiseConv() {
        let x = randomTensor([2, 32, 8, 8], seed: 9), w = randomTensor([32, 1, 3, 3], seed: 10)
        check("depthwise 3x3", [x, w], roundedInputs: [0, 1]) { t, be in
            conv2d(t[0], weight: t[1], padding: .same, groups: 32, backend: be)
        }
    }

    func testTransposedConvStride2() {
        let x = randomTensor([2, 32, 5, 6], seed: 11), w = randomTensor([32, 16, 3, 3], seed: 12), b = randomTensor([16], seed: 13)
        check("deconv3x3 s2 same", [x, w, b], roundedInputs: [0, 1]) { t, be in
            convTranspose2d(t[0], weight: t[1], bias: t[2], stride: (2, 2), padding: .same, backend: be)
        }
    }

    /// A small network (conv → BN → ReLU → pool → conv → deconv → cross-entropy) trained one
    /// step: the loss within 1 % and every parameter gradient in bf16 close to fp32, relative L2
    /// error ≤ 5e-2. Element-wise rounding is ≤ 2⁻⁹, but a weight gradient is a sum over N·H·W
    /// pixels whose terms largely cancel (batch norm's backward removes the mean of the incoming
    /// gradient), so its relative error is larger: 3.5 % for the first conv here (PyTorch's bf16
    /// autocast gives 8 % on the same kind of layer, Golden/bf16).
    func testSmallNetworkGradientsCloseToFP32() throws {
        let dnnl = try XCTUnwrap(DNNLBackend.shared)
        let x = randomTensor([2, 3, 16, 16], seed: 20)
        let params = [randomTensor([16, 3, 3, 3], seed: 21, low: -0.5, high: 0.5), Tensor(shape: [16], values: [Float](repeating: 1, count: 16)), Tensor(zeros: [16]),
                      randomTensor([16, 16, 3, 3], seed: 22, low: -0.2, high: 0.2), randomTensor([16], seed: 23),
                      randomTensor([16, 5, 4, 4], seed: 24, low: -0.2, high: 0.2)]
        let g = Generator(seed: 25)
        let targets = (0..<(2 * 16 * 16)).map { _ in Int32(g.int(below: 5)) }
        func step(_ backend: any Backend) -> (loss: Float, grads: [[Float]]) {
            let ps = params.map { p -> Tensor in let c = p.copy(); c.requiresGrad = true; return c }
            var h = conv2d(x, weight: ps[0], padding: .same, backend: backend)
            h = relu(batchNorm(h, gamma: ps[1], beta: ps[2], runningMean: Tensor(zeros: [16]), runningVar: Tensor(shape: [16], values: [Float](repeating: 1, count: 16)),
                               settings: .pytorch(), training: true, backend: backend))
            h = maxPool2d(h, kernel: (2, 2), stride: (2, 2), backend: backend)
            h = relu(conv2d(h, weight: ps[3], bias: ps[4], padding: .same, backend: backend))
            let logits = convTranspose2d(h, weight: ps[5], stride: (2, 2), padding: .symmetric(1), backend: backend)
            let loss = crossEntropy(logits, targets: targets)
            loss.backward()
            return (loss.array[0], ps.map { $0.grad?.array ?? [] })
        }
        let before = bf16.bf16ConvolutionCount
        let half = step(bf16), full = step(dnnl)
        XCTAssertEqual(bf16.bf16ConvolutionCount - before, 6, "3 convs forward + backward in bf16")
        XCTAssertEqual(half.loss, full.loss, accuracy: 0.01 * abs(full.loss), "loss")
        for (k, (a, b)) in zip(half.grads, full.grads).enumerated() {
            XCTAssertEqual(a.count, b.count, "parameter \(k)")
            let err = zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
            let norm = b.map { $0 * $0 }.reduce(0, +).squareRoot()
            XCTAssertGreaterThan(norm, 0, "parameter \(k): zero fp32 gradient")
            XCTAssertLessThanOrEqual(err / norm, 5e-2, "parameter \(k): relative L2 error of the bf16 gradient")
        }
    }

    /// The bf16 copy of a weight is made once per primitive order while the parameter is
    /// unchanged, and afresh after an in-place update (the optimizer's `withMutableNCHW`).
    func testBF16WeightsFollowTheParameterVersion() {
        let x = randomTensor([1, 16, 6, 6], seed: 30), w = randomTensor([16, 16, 3, 3], seed: 31)
        let y1 = GradMode.withoutGrad { conv2d(x, weight: w, padding: .same, backend: bf16) }.array
        let kept = bf16.preparedWeightsCount
        let y2 = GradMode.withoutGrad { conv2d(x, weight: w, padding: .same, backend: bf16) }.array
        XCTAssertEqual(y1, y2)
        XCTAssertEqual(bf16.preparedWeightsCount, kept, "an unchanged weight is not rounded again")
        w.withMutableNCHW { p in for i in 0..<w.count { p[i] = -p[i] } }
        let y3 = GradMode.withoutGrad { conv2d(x, weight: w, padding: .same, backend: bf16) }.array
        for (a, b) in zip(y3, y1) { XCTAssertEqual(a, -b, accuracy: 1e-5) }
    }

    /// Support detection: oneDNN's ISA decides; `SEGSCOPE_BF16=off` forces the fallback.
    func testSupportDetection() {
        let cpu = CPUFeatures.parse(cpuinfo: "flags : avx512f avx512_bf16\n", cores: 2)
        XCTAssertTrue(BF16Support.detect(isa: dnnl_cpu_isa_avx512_core_bf16, cpu: cpu, environment: [:]).available)
        XCTAssertTrue(BF16Support.detect(isa: dnnl_cpu_isa_avx512_core_amx, cpu: cpu, environment: [:]).available)
        for isa in [dnnl_cpu_isa_avx512_core, dnnl_cpu_isa_avx512_core_vnni, dnnl_cpu_isa_avx2, dnnl_cpu_isa_avx2_vnni] {
            let s = BF16Support.detect(isa: isa, cpu: cpu, environment: [:])
            XCTAssertFalse(s.available, BF16Support.isaName(isa))
            XCTAssertTrue(s.summary.contains("runs in fp32") && s.summary.contains(BF16Support.isaName(isa)), s.summary)
        }
        let off = BF16Support.detect(isa: dnnl_cpu_isa_avx512_core_bf16, cpu: cpu, environment: ["SEGSCOPE_BF16": "off"])
        XCTAssertFalse(off.available)
        XCTAssertTrue(off.reason?.contains("SEGSCOPE_BF16=off") ?? false, "\(off)")
    }
}
