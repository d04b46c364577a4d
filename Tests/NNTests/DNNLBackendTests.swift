import XCTest
@testable import NN
import TestSupport

/// Cross-checks of the oneDNN backend against the reference backend (the oracle): every op's
/// forward output and every input / parameter gradient, on small seeded shapes, tolerance 1e-4
/// relative to the largest magnitude. Channel counts are multiples of 16 where the blocked
/// layouts (nChw16c) should be exercised, and odd elsewhere.
final class DNNLBackendTests: DNNLTestCase {
    /// Runs `f` on copies of `inputs` with each backend, back-propagates `Σ f·w` (w seeded), and
    /// compares outputs and gradients. Returns the dnnl output (for layout assertions).
    @discardableResult
    func crossCheck(_ label: String, _ inputs: [Tensor], tol: Float = 1e-4, file: StaticString = #filePath, line: UInt = #line,
                    _ f: ([Tensor], any Backend) -> Tensor) -> Tensor? {
        func run(_ backend: any Backend) -> (out: Tensor, grads: [[Float]]) {
            let xs = inputs.map { t -> Tensor in let c = t.copy(); c.requiresGrad = true; return c }
            let out = f(xs, backend)
            let w = randomTensor(out.shape, seed: 99)
            weightedSum(out, w).backward()
            return (out, xs.map { $0.grad?.array ?? [] })
        }
        let ref = run(ReferenceBackend.shared)
        let fast = run(dnnl)
        XCTAssertEqual(fast.out.shape, ref.out.shape, "\(label): output shape", file: file, line: line)
        assertCloseScaled(fast.out.array, ref.out.array, shape: ref.out.shape, tol: tol, "\(label) forward", file: file, line: line)
        for (k, (a, b)) in zip(fast.grads, ref.grads).enumerated() {
            XCTAssertFalse(b.isEmpty, "\(label): reference gave no gradient for input \(k)", file: file, line: line)
            assertCloseScaled(a, b, shape: inputs[k].shape, tol: tol, "\(label) d/dinput\(k)", file: file, line: line)
        }
        return fast.out
    }

    func isBlocked(_ t: Tensor) -> Bool { if case .opaque(let l) = t.layout { return l is DNNLLayout } else { return false } }

    // MARK: Convolution

    func testConv3x3Stride1PaddedWithBias() {
        let x = randomTensor([2, 16, 9, 11], seed: 1), w = randomTensor([32, 16, 3, 3], seed: 2), b = randomTensor([32], seed: 3)
        let y = crossCheck("conv3x3 s1 p1", [x, w, b]) { t, be in
            conv2d(t[0], weight: t[1], bias: t[2], padding: .symmetric(1), backend: be)
        }
        XCTAssertTrue(y.map(isBlocked) ?? false, "a 32-channel conv result should stay in oneDNN's blocked layout")
    }

    func testConvFirstLayerThreeChannels() {
        let x = randomTensor([2, 3, 12, 10], seed: 4), w = randomTensor([16, 3, 3, 3], seed: 5), b = randomTensor([16], seed: 6)
        crossCheck("conv3x3 c3", [x, w, b]) { t, be in conv2d(t[0], weight: t[1], bias: t[2], padding: .same, backend: be) }
    }

    func testConvStride2SameAsymmetricPadding() {
        // TF 'same' with stride 2: even sizes pad 0 before / 1 after, odd sizes 1 / 1.
        for (h, w) in [(8, 10), (9, 7)] {
            let x = randomTensor([2, 16, h, w], seed: 7), wt = randomTensor([16, 16, 3, 3], seed: 8), b = randomTensor([16], seed: 9)
            crossCheck("conv3x3 s2 same \(h)x\(w)", [x, wt, b]) { t, be in
                conv2d(t[0], weight: t[1], bias: t[2], stride: (2, 2), padding: .same, backend: be)
            }
        }
    }

    func testConvStride2ValidDropsLastRow() {
        // (9 − 2) / 2 + 1 = 4: the last input row is never read (negative padding after).
        let x = randomTensor([1, 16, 9, 9], seed: 10), w = randomTensor([16, 16, 2, 2], seed: 11)
        crossCheck("conv2x2 s2 valid odd", [x, w]) { t, be in conv2d(t[0], weight: t[1], stride: (2, 2), backend: be) }
    }

    func testPointwiseConv() {
        let x = randomTensor([2, 32, 7, 6], seed: 12), w = randomTensor([16, 32, 1, 1], seed: 13), b = randomTensor([16], seed: 14)
        crossCheck("conv1x1", [x, w, b]) { t, be in conv2d(t[0], weight: t[1], bias: t[2], backend: be) }
        let w2 = randomTensor([21, 32, 1, 1], seed: 15)
        crossCheck("conv1x1 to 21 classes", [x, w2]) { t, be in conv2d(t[0], weight: t[1], backend: be) }
    }

    func testDepthwiseAndGroupedConv() {
        let x = randomTensor([2, 32, 10, 9], seed: 16), dw = randomTensor([32, 1, 3, 3], seed: 17)
        crossCheck("depthwise 3x3 same", [x, dw]) { t, be in conv2d(t[0], weight: t[1], padding: .same, groups: 32, backend: be) }
        crossCheck("depthwise 3x3 s2 same", [x, dw]) { t, be in
            conv2d(t[0], weight: t[1], stride: (2, 2), padding: .same, groups: 32, backend: be)
        }
        let gw = randomTensor([16, 16, 3, 3], seed: 18), gb = randomTensor([16], seed: 19)
        crossCheck("groups 2", [x, gw, gb]) { t, be in
            conv2d(t[0], weight: t[1], bias: t[2], padding: .symmetric(1), groups: 2, backend: be)
        }
    }

    func testDilatedConv() {
        let x = randomTensor([1, 16, 11, 12], seed: 20), w = randomTensor([16, 16, 3, 3], seed: 21)
        crossCheck("conv3x3 dilation 2", [x, w]) { t, be in
            conv2d(t[0], weight: t[1], padding: .symmetric(2), dilation: (2, 2), backend: be)
        }
        crossCheck("conv3x3 dilation 2 same", [x, w]) { t, be in
            conv2d(t[0], weight: t[1], padding: .same, dilation: (2, 2), backend: be)
        }
    }

    // MARK: Transposed convolution

    func testDeconv3x3Stride2Same() {
        let x = randomTensor([2, 32, 5, 6], seed: 22), w = randomTensor([32, 16, 3, 3], seed: 23), b = randomTensor([16], seed: 24)
        let y = crossCheck("deconv3x3 s2 same", [x, w, b]) { t, be in
            convTranspose2d(t[0], weight: t[1], bias: t[2], stride: (2, 2), padding: .same, backend: be)
        }
        XCTAssertEqual(y?.shape, [2, 16, 10, 12])
    }

    func testDeconvPytorchPaddingAndOutputPadding() {
        let x = randomTensor([1, 16, 4, 5], seed: 25), w = randomTensor([16, 32, 3, 3], seed: 26), b = randomTensor([32], seed: 27)
        crossCheck("deconv3x3 s2 p1 op1", [x, w, b]) { t, be in
            convTranspose2d(t[0], weight: t[1], bias: t[2], stride: (2, 2), padding: .symmetric(1), outputPadding: (1, 1), backend: be)
        }
        crossCheck("deconv3x3 s2 valid op1", [x, w, b]) { t, be in
            convTranspose2d(t[0], weight: t[1], bias: t[2], stride: (2, 2), outputPadding: (1, 1), backend: be)
        }
        crossCheck("deconv3x3 s1 same", [x, w, b]) { t, be in
            convTranspose2d(t[0], weight: t[1], bias: t[2], padding: .same, backend: be)
        }
    }

    func testDeconvFCNUpsamplingK64S32P16() {
        // FCN's final upsampling (k 64, s 32, p 16) on a 2×3 score map → 64×96.
        let x = randomTensor([1, 5, 2, 3], seed: 28), w = randomTensor([5, 5, 64, 64], seed: 29)
        let y = crossCheck("deconv k64 s32 p16", [x, w]) { t, be in
            convTranspose2d(t[0], weight: t[1], stride: (32, 32), padding: .symmetric(16), backend: be)
        }
        XCTAssertEqual(y?.shape, [1, 5, 64, 96])
    }

    // MARK: Max pool

    func testMaxPool() {
        let x = randomTensor([2, 16, 9, 10], seed: 30)
        crossCheck("max pool 3 s2 same", [x]) { t, be in maxPool2d(t[0], kernel: (3, 3), stride: (2, 2), padding: .same, backend: be) }
        crossCheck("max pool 3 s2 p1", [x]) { t, be in
            maxPool2d(t[0], kernel: (3, 3), stride: (2, 2), padding: .symmetric(1), backend: be)
        }
        crossCheck("max pool 2 s2", [x]) { t, be in maxPool2d(t[0], kernel: (2, 2), stride: (2, 2), backend: be) }
        let odd = randomTensor([1, 3, 7, 7], seed: 31)
        crossCheck("max pool 3 s2 same, 3 channels", [odd]) { t, be in
            maxPool2d(t[0], kernel: (3, 3), stride: (2, 2), padding: .same, backend: be)
        }
    }

    func testMaxPoolBackwardWithoutForwardWorkspace() {
        // An input that needs no gradient: the forward keeps no workspace, the backward recomputes it.
        let x = randomTensor([2, 16, 9, 10], seed: 32)
        let g = PoolGeometry.pool(input: x.shape, kernel: (3, 3), stride: (2, 2), padding: .same)
        let (y, context) = dnnl.maxPoolForward(x: x, geometry: g)
        XCTAssertNil(context)
        let dy = randomTensor(y.shape, seed: 33)
        let fast = dnnl.maxPoolBackward(dy: dy, x: x, geometry: g, context: nil)
        let ref = ReferenceBackend.shared.maxPoolBackward(dy: dy, x: x, geometry: g, context: nil)
        assertCloseScaled(fast.array, ref.array, shape: x.shape, tol: 1e-6, "max pool backward without a workspace")
    }

    // MARK: Batch norm

    func testBatchNormTrainAndEvalBothConventions() {
        for (name, settings) in [("pytorch", BatchNormSettings.pytorch()), ("keras", BatchNormSettings.keras())] {
            for shape in [[2, 16, 5, 6], [3, 5, 4, 3]] {
                let x = randomTensor(shape, seed: 32, low: -2, high: 3)
                let gamma = randomTensor([shape[1]], seed: 33, low: 0.5, high: 1.5), beta = randomTensor([shape[1]], seed: 34)
                for training in [true, false] {
                    var stats: [[Float]] = []
                    crossCheck("batch norm \(name) \(shape) training \(training)", [x, gamma, beta]) { t, be in
                        let rm = randomTensor([shape[1]], seed: 35, low: -0.5, high: 0.5)
                        let rv = randomTensor([shape[1]], seed: 36, low: 0.5, high: 2)
                        let y = batchNorm(t[0], gamma: t[1], beta: t[2], runningMean: rm, runningVar: rv,
                                          settings: settings, training: training, backend: be)
                        stats.append(rm.array + rv.array)
                        return y
                    }
                    XCTAssertEqual(stats.count, 2)
                    if stats.count == 2 {
                        assertCloseScaled(stats[1], stats[0], tol: 1e-5, "running statistics \(name) \(shape) training \(training)")
                    }
                }
            }
        }
    }

    func testBatchNormOnBlockedLayoutBothKernels() throws {
        // A 1×1 identity conv first, so the dnnl run feeds batch norm nChw16c data.
        let eye = Tensor(zeros: [32, 32, 1, 1])
        for c in 0..<32 { eye.data[c * 32 + c] = 1 }
        for own in [true, false] {
            dnnl = try DNNLBackend(options: DNNLOptions(ownBlockedBatchNorm: own))
            for (name, settings) in [("pytorch", BatchNormSettings.pytorch()), ("keras", BatchNormSettings.keras())] {
                let x = randomTensor([2, 32, 5, 7], seed: 37, low: -2, high: 3)
                let gamma = randomTensor([32], seed: 38, low: 0.5, high: 1.5), beta = randomTensor([32], seed: 39)
                for training in [true, false] {
                    var stats: [[Float]] = []
                    crossCheck("blocked batch norm own \(own) \(name) training \(training)", [x, gamma, beta]) { t, be in
                        let rm = randomTensor([32], seed: 35, low: -0.5, high: 0.5)
                        let rv = randomTensor([32], seed: 36, low: 0.5, high: 2)
                        let xin = conv2d(t[0], weight: eye, backend: be)
                        if be === dnnl { XCTAssertTrue(isBlocked(xin)) }
                        let y = batchNorm(xin, gamma: t[1], beta: t[2], runningMean: rm, runningVar: rv,
                                          settings: settings, training: training, backend: be)
                        if be === dnnl { XCTAssertTrue(isBlocked(y), "batch norm keeps the blocked layout") }
                        stats.append(rm.array + rv.array)
                        return y
                    }
                    if stats.count == 2 {
                        assertCloseScaled(stats[1], stats[0], tol: 1e-5, "running statistics own \(own) \(name) training \(training)")
                    }
                }
            }
        }
    }

    // MARK: Layouts and chains

    func testBlockedChainThroughElementwiseOps() {
        // conv → BN → ReLU → max pool → conv → residual add → LeakyReLU → deconv, plus a concat and an
        // upsample in between: gradients must match the reference end to end.
        let x = randomTensor([2, 3, 16, 12], seed: 40)
        let w1 = randomTensor([16, 3, 3, 3], seed: 41), w2 = randomTensor([16, 16, 3, 3], seed: 42)
        let w3 = randomTensor([16, 32, 3, 3], seed: 43), w4 = randomTensor([16, 48, 1, 1], seed: 46)
        let gamma = randomTensor([16], seed: 44, low: 0.5, high: 1.5), beta = randomTensor([16], seed: 45)
        crossCheck("chain", [x, w1, w2, w3, gamma, beta, w4], tol: 2e-4) { t, be in
            let rm = Tensor(zeros: [16]), rv = Tensor(shape: [16], repeating: 1)
            let a = conv2d(t[0], weight: t[1], padding: .same, backend: be)
            let b = relu(batchNorm(a, gamma: t[4], beta: t[5], runningMean: rm, runningVar: rv,
                                   settings: .pytorch(), training: true, backend: be))
            let c = maxPool2d(b, kernel: (3, 3), stride: (2, 2), padding: .same, backend: be)
            let d = leakyRelu(conv2d(c, weight: t[2], padding: .same, backend: be) + c, slope: 0.3)
            let e = convTranspose2d(d, weight: t[3], stride: (2, 2), padding: .same, backend: be)
            let f = concat([e, upsampleNearest(d, scale: (2, 2))])
            return conv2d(f, weight: t[6], backend: be)
        }
    }

    func testUpsampleConcatAndAddStayBlocked() {
        // Decoder paths: upsample of a blocked result, adds of equal and of mixed layouts, a concat
        // of blocked and NCHW inputs; forward and every gradient against the reference.
        let x = randomTensor([2, 16, 6, 5], seed: 50), w1 = randomTensor([32, 16, 3, 3], seed: 51)
        let w2 = randomTensor([32, 16, 1, 1], seed: 52), w3 = randomTensor([16, 80, 3, 3], seed: 53)
        func net(_ t: [Tensor], _ be: any Backend) -> (out: Tensor, up: Tensor, sum: Tensor, mixed: Tensor, cat: Tensor) {
            let a = conv2d(t[0], weight: t[1], padding: .same, backend: be)
            let up = upsampleNearest(a, scale: (2, 2), backend: be)
            let r = conv2d(upsampleNearest(t[0], scale: (2, 2), backend: be), weight: t[2], backend: be)
            let sum = up + r
            let mixed = sum + r.nchw()
            let cat = concat([mixed, up, upsampleNearest(t[0], scale: (2, 2), backend: be)], backend: be)
            return (conv2d(cat, weight: t[3], padding: .same, backend: be), up, sum, mixed, cat)
        }
        crossCheck("upsample / add / concat", [x, w1, w2, w3]) { t, be in
            let saved = Backends.current
            Backends.current = be  // `+` adds mixed layouts on the current backend
            defer { Backends.current = saved }
            return net(t, be).out
        }
        Backends.current = dnnl
        defer { Backends.current = ReferenceBackend.shared }
        let parts = net([x, w1, w2, w3], dnnl)
        for (name, t) in [("upsample", parts.up), ("add", parts.sum), ("mixed add", parts.mixed), ("concat", parts.cat)] {
            XCTAssertTrue(isBlocked(t), "\(name) result should stay in oneDNN's blocked layout")
        }
        // Upsampling by unequal factors, and a concat whose gradient is wanted for one input only.
        crossCheck("upsample 3x2", [x, w1]) { t, be in
            upsampleNearest(conv2d(t[0], weight: t[1], padding: .same, backend: be), scale: (3, 2), backend: be)
        }
        let fixed = GradMode.withoutGrad { conv2d(x, weight: w1, padding: .same, backend: dnnl) }
        crossCheck("concat with a constant", [x, w1]) { t, be in
            concat([fixed.copy(), conv2d(t[0], weight: t[1], padding: .same, backend: be)], backend: be)
        }
    }

    func testLeafUsedTwiceAccumulatesBlockedGradients() {
        // The second contribution to a leaf's gradient is added in place from its NCHW copy (the
        // copy once died before it was read: NaN with poisoned buffers).
        let x = randomTensor([1, 16, 6, 5], seed: 80), w1 = randomTensor([16, 16, 3, 3], seed: 81)
        let w2 = randomTensor([16, 16, 1, 1], seed: 82)
        crossCheck("leaf used by two convs", [x, w1, w2]) { t, be in
            let a = conv2d(t[0], weight: t[1], padding: .same, backend: be)
            let b = conv2d(t[0], weight: t[2], backend: be)
            return concat([a, b], backend: be)
        }
    }

    func testLayoutObjectsAreSharedAndRoundTrip() throws {
        let x = randomTensor([2, 16, 6, 5], seed: 50), w = randomTensor([16, 16, 3, 3], seed: 51)
        let (a, b) = GradMode.withoutGrad {
            (conv2d(x, weight: w, padding: .same, backend: dnnl), conv2d(x, weight: w, padding: .same, backend: dnnl))
        }
        guard case .opaque(let la) = a.layout, case .opaque(let lb) = b.layout else {
            return XCTFail("conv results should be in oneDNN's layout, got \(a.layout) / \(b.layout)")
        }
        XCTAssertTrue(la === lb, "equal layouts must be the same object (elementwise ops compare identity)")
        XCTAssertTrue(la.name.hasPrefix("dnnl:"), la.name)
        let plain = a.nchw()
        XCTAssertTrue(plain.layout.isNCHW)
        let back = la.fromNCHW(plain)
        XCTAssertEqual(back.array, a.array)
        let ref = ReferenceBackend.shared.convForward(x: x, weight: w, bias: nil,
                                                      geometry: .conv(input: x.shape, outChannels: 16, kernel: (3, 3), stride: (1, 1),
                                                                      padding: .same, dilation: (1, 1), groups: 1)).y
        assertCloseScaled(plain.array, ref.array, tol: 1e-5, "round trip")
    }

    func testPrimitivesAreCachedAcrossSteps() {
        let x = randomTensor([1, 16, 8, 8], seed: 60), w = randomTensor([16, 16, 3, 3], seed: 61)
        func step() {
            let xs = x.copy(); xs.requiresGrad = true
            let ws = w.copy(); ws.requiresGrad = true
            mean(relu(conv2d(xs, weight: ws, padding: .symmetric(1), backend: dnnl))).backward()
        }
        step()
        let after1 = dnnl.cachedPrimitiveCount
        step(); step()
        XCTAssertEqual(dnnl.cachedPrimitiveCount, after1, "a repeated step must not build new primitives")
    }

    func testNCHWModeGivesPlainResults() throws {
        dnnl = try DNNLBackend(options: DNNLOptions(keepsBlockedLayouts: false))
        let x = randomTensor([1, 16, 6, 6], seed: 70), w = randomTensor([16, 16, 3, 3], seed: 71)
        let y = crossCheck("conv, NCHW results", [x, w]) { t, be in conv2d(t[0], weight: t[1], padding: .same, backend: be) }
        XCTAssertEqual(y?.layout.isNCHW, true)
    }

    // MARK: Selection by name

    func testBackendSelectionByName() throws {
        XCTAssertTrue(try Backends.named("dnnl") === dnnl)
        XCTAssertTrue(try Backends.named("Reference") === ReferenceBackend.shared)
        XCTAssertEqual(Backends.defaultName, "dnnl")
        XCTAssertThrowsError(try Backends.named("cuda")) { error in
            XCTAssertTrue("\(error)".contains("unknown backend 'cuda'"), "\(error)")
            XCTAssertTrue("\(error)".contains("dnnl, reference"), "\(error)")
        }
    }
}

/// The primitive cache's bound: past it, new primitives are built and dropped, and the ones kept
/// stay (dropping everything would rebuild the training step's primitives after every
/// evaluation of a dataset with many image sizes).
final class DNNLPrimitiveCacheTests: XCTestCase {
    func testPrimitivesKeptBeforeTheBoundStayWhenItIsReached() throws {
        Threads.set(2)
        let w = randomTensor([16, 16, 3, 3], seed: 90)
        var dnnl = try DNNLBackend()
        func forward(_ size: Int) {
            _ = GradMode.withoutGrad { conv2d(randomTensor([1, 16, size, size], seed: 91), weight: w, padding: .same, backend: dnnl) }
        }
        forward(9)                                    // what one shape needs
        dnnl = try DNNLBackend(options: DNNLOptions(maxCachedPrimitives: dnnl.cachedPrimitiveCount))
        forward(9)                                    // the "training" shape: kept, up to the bound
        let cached = dnnl.cachedPrimitiveCount, built = dnnl.createdPrimitiveCount
        forward(10); forward(11)                      // new shapes past the bound
        XCTAssertGreaterThan(dnnl.createdPrimitiveCount, built, "new shapes need new primitives")
        XCTAssertEqual(dnnl.cachedPrimitiveCount, cached, "nothing is kept past the bound")
        let before = dnnl.createdPrimitiveCount
        forward(9)
        XCTAssertEqual(dnnl.createdPrimitiveCount, before, "the shape cached before the bound was reached was rebuilt")
        forward(10)
        XCTAssertGreaterThan(dnnl.createdPrimitiveCount, before, "a shape seen past the bound is built again")
    }
}
