import XCTest
@testable import NN
import TestSupport

/// Initializers, the RNG, threads and the seam's conventions.
final class EngineTests: XCTestCase {
    func stats(_ v: [Float]) -> (mean: Double, std: Double, maxAbs: Float) {
        let m = v.reduce(0.0) { $0 + Double($1) } / Double(v.count)
        let s = (v.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(v.count)).squareRoot()
        return (m, s, v.map(abs).max() ?? 0)
    }

    func testInitializerDistributions() {
        let shape = [64, 32, 3, 3]  // fan_in 288, fan_out 576
        let g = Generator(seed: 3)
        let t = Tensor(zeros: shape)

        Initializer.heNormal.fill(t, generator: g)
        var s = stats(t.array)
        let heStd = (2.0 / 288).squareRoot()
        XCTAssertEqual(s.std, heStd, accuracy: heStd * 0.03, "he_normal std (after truncation) ≈ sqrt(2/fan_in)")
        XCTAssertLessThanOrEqual(Double(s.maxAbs), 2 * heStd / 0.87962566103423978 + 1e-6, "truncated at 2 std")

        Initializer.glorotUniform.fill(t, generator: g)
        s = stats(t.array)
        let limit = (6.0 / (288 + 576)).squareRoot()
        XCTAssertLessThanOrEqual(Double(s.maxAbs), limit)
        XCTAssertEqual(s.std, limit / 3.0.squareRoot(), accuracy: limit * 0.02)

        Initializer.kaimingUniform.fill(t, generator: g)
        s = stats(t.array)
        XCTAssertLessThanOrEqual(Double(s.maxAbs), 1 / 288.0.squareRoot())
        XCTAssertGreaterThan(Double(s.maxAbs), 0.95 / 288.0.squareRoot())

        let conv = Conv2d(32, 64, kernel: 3, generator: g)
        let b = stats(conv.bias!.array)
        XCTAssertLessThanOrEqual(Double(b.maxAbs), 1 / 288.0.squareRoot(), "PyTorch conv bias bound 1/sqrt(fan_in)")
        XCTAssertGreaterThan(b.std, 0)
    }

    func testGeneratorStateRestoresTheSequence() {
        let g = Generator(seed: 42)
        _ = (0..<5).map { _ in g.next() }
        let saved = g.state
        let a = (0..<10).map { _ in g.next() }
        g.state = saved
        XCTAssertEqual((0..<10).map { _ in g.next() }, a)
        XCTAssertNotEqual(Generator(seed: 1).next(), Generator(seed: 2).next())
        XCTAssertEqual(Generator(seed: 7).state, Generator(seed: 7).state)
    }

    func testOneThreadAndTwoThreadsAgree() {
        let x = randomTensor([2, 8, 12, 10], seed: 1), w = randomTensor([6, 8, 3, 3], seed: 2)
        func run() -> [Float] {
            let xi = x.copy(); xi.requiresGrad = true
            let wi = w.copy(); wi.requiresGrad = true
            let y = maxPool2d(relu(conv2d(xi, weight: wi, padding: .same)), kernel: (2, 2), stride: (2, 2))
            weightedSum(y, Tensor(shape: y.shape, repeating: 0.5)).backward()
            return y.array + xi.grad!.array + wi.grad!.array
        }
        Threads.set(1)
        XCTAssertEqual(Threads.count, 1)
        XCTAssertEqual(NativeLibraries.blasThreads, 1)
        let one = run()
        Threads.set(2)
        XCTAssertEqual(NativeLibraries.blasThreads, 2)
        assertClose(run(), one, rtol: 1e-5, atol: 1e-6, "threads 1 vs 2")
    }

    func testSamePaddingGeometry() {
        // TensorFlow: out = ceil(in / s); extra padding after.
        let g = ConvGeometry.conv(input: [1, 1, 8, 9], outChannels: 1, kernel: (3, 3), stride: (2, 2), padding: .same,
                                  dilation: (1, 1), groups: 1)
        XCTAssertEqual([g.outHeight, g.outWidth, g.padTop, g.padLeft], [4, 5, 0, 1])
        let d = ConvGeometry.transposed(input: [1, 1, 5, 6], outChannels: 1, kernel: (3, 3), stride: (2, 2), padding: .same,
                                        outputPadding: (0, 0), dilation: (1, 1))
        XCTAssertEqual([d.inHeight, d.inWidth, d.padTop], [10, 12, 0])
        let fcn = ConvGeometry.transposed(input: [1, 21, 10, 15], outChannels: 21, kernel: (64, 64), stride: (32, 32),
                                          padding: .symmetric(16), outputPadding: (0, 0), dilation: (1, 1))
        XCTAssertEqual([fcn.inHeight, fcn.inWidth], [320, 480])
    }

    func testGraphIsFreedAfterBackwardAndNoGradRecordsNothing() {
        let w = randomTensor([2, 1, 3, 3], seed: 5)
        w.requiresGrad = true
        let x = randomTensor([1, 1, 5, 5], seed: 6)
        let y = conv2d(x, weight: w, padding: .same)
        XCTAssertNotNil(y.node)
        let loss = mean(y)
        loss.backward()
        XCTAssertNil(y.node, "backward frees the graph")
        XCTAssertNotNil(w.grad)
        let z = GradMode.withoutGrad { conv2d(x, weight: w, padding: .same) }
        XCTAssertNil(z.node)
        // Gradients accumulate until zeroed.
        let g1 = w.grad!.array
        mean(conv2d(x, weight: w, padding: .same)).backward()
        assertClose(w.grad!.array, g1.map { 2 * $0 }, rtol: 1e-6, atol: 1e-7, "accumulated")
    }
}

final class PoolAndMatmulTests: XCTestCase {
    func testPoolCapacityClassesAndLimit() {
        XCTAssertEqual(BufferPool.capacity(for: 100), 100)
        XCTAssertEqual(BufferPool.capacity(for: 4096), 4096)
        for n in [4097, 10_000, 123_457, 3 * 500 * 375] {
            let c = BufferPool.capacity(for: n)
            XCTAssertGreaterThanOrEqual(c, n)
            XCTAssertLessThanOrEqual(Double(c), Double(n) * 1.0625 + 1, "capacity \(c) for \(n)")
        }
        XCTAssertEqual(BufferPool.capacity(for: 3 * 500 * 375), BufferPool.capacity(for: 3 * 500 * 374), "nearby sizes share a class")
        // A private pool: the shared one is also used by threads other tests leave behind.
        let pool = BufferPool()
        pool.limitBytes = 0
        let buffer = pool.take(1234 * 77)
        pool.give(buffer, count: 1234 * 77)
        XCTAssertEqual(pool.pooledBytes, 0, "over the limit a returned buffer is freed")
    }

    func testMatmulGradient() {
        gradCheck("matmul", [randomTensor([3, 4], seed: 1), randomTensor([4, 5], seed: 2)]) { matmul($0[0], $0[1]) }
    }
}

final class TargetValidationTests: XCTestCase {
    func testValidateTargetsNamesTheFirstBadPixel() throws {
        XCTAssertNoThrow(try validateTargets([0, 1, 255, 2], logitsShape: [1, 3, 2, 2]))
        XCTAssertThrowsError(try validateTargets([0, 3, 255, 7], logitsShape: [1, 3, 2, 2])) { error in
            let text = "\(error)"
            XCTAssert(text.contains("label 3 at image 0, row 0, column 1") && text.contains("2 such pixel"), text)
        }
        XCTAssertThrowsError(try validateTargets([0, 1], logitsShape: [1, 3, 2, 2]))
    }
}
