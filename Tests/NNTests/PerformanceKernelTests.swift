import XCTest
@testable import NN
import TestSupport

/// Issue #20's kernels and counters, checked against plain definitions (tiny tensors, no timing).
final class PerformanceKernelTests: XCTestCase {
    override func setUp() { Threads.set(2) }

    /// Max pool by the definition: the first maximum in row-major window order, padded cells never win.
    private func naiveMaxPool(_ x: Tensor, _ g: PoolGeometry) -> (values: [Float], argmax: [Int32]) {
        let xs = x.array
        var values: [Float] = [], argmax: [Int32] = []
        for p in 0..<(g.batch * g.channels) {
            for oy in 0..<g.outHeight {
                for ox in 0..<g.outWidth {
                    var best = -Float.infinity, bi = -1
                    for i in 0..<g.kernelHeight {
                        for j in 0..<g.kernelWidth {
                            let iy = oy * g.strideH - g.padTop + i, ix = ox * g.strideW - g.padLeft + j
                            guard iy >= 0, iy < g.inHeight, ix >= 0, ix < g.inWidth else { continue }
                            let v = xs[p * g.inHeight * g.inWidth + iy * g.inWidth + ix]
                            if bi < 0 || v > best { best = v; bi = iy * g.inWidth + ix }
                        }
                    }
                    values.append(best); argmax.append(Int32(bi))
                }
            }
        }
        return (values, argmax)
    }

    func testReferenceMaxPoolMatchesDefinitionIncludingTies() {
        let cases: [([Int], (Int, Int), (Int, Int), Padding)] = [
            ([2, 3, 9, 10], (3, 3), (2, 2), .same), ([1, 2, 8, 8], (3, 3), (2, 2), .same),
            ([1, 2, 7, 6], (3, 3), (2, 2), .symmetric(1)), ([2, 1, 6, 7], (2, 2), (2, 2), .valid),
            ([1, 2, 7, 7], (3, 3), (1, 1), .same), ([1, 1, 5, 9], (3, 2), (3, 2), .same),
            ([1, 1, 2, 2], (3, 3), (2, 2), .same), ([1, 1, 3, 1], (3, 3), (2, 2), .same),
        ]
        for (shape, kernel, stride, padding) in cases {
            // Values on a coarse grid: many ties, so the first-maximum rule is exercised.
            let x = randomTensor(shape, seed: 40)
            for i in 0..<x.count { x.data[i] = (x.data[i] * 3).rounded() }
            let g = PoolGeometry.pool(input: shape, kernel: kernel, stride: stride, padding: padding)
            let (y, context) = ReferenceBackend.shared.maxPoolForward(x: x, geometry: g)
            let want = naiveMaxPool(x, g)
            let label = "\(shape) k\(kernel) s\(stride) \(padding)"
            XCTAssertEqual(y.array, want.values, label)
            guard let ctx = context as? PoolContext else { return XCTFail("no argmax for \(label)") }
            let got = UnsafeMutableRawPointer(ctx.argmax.data).assumingMemoryBound(to: Int32.self)
            XCTAssertEqual(Array(UnsafeBufferPointer(start: got, count: y.count)), want.argmax, label)
        }
    }

    func testCountingBackendCountsConvFlopsOfForwardAndBackward() {
        let counter = CountingBackend(inner: ReferenceBackend.shared)
        let x = randomTensor([2, 3, 6, 5], seed: 41), w = randomTensor([4, 3, 3, 3], seed: 42)
        let wt = randomTensor([4, 2, 4, 4], seed: 43)
        w.requiresGrad = true; wt.requiresGrad = true
        let y = conv2d(x, weight: w, stride: (2, 2), padding: .same, backend: counter)
        let z = convTranspose2d(y, weight: wt, stride: (2, 2), padding: .symmetric(1), backend: counter)
        let g1 = ConvGeometry.conv(input: x.shape, outChannels: 4, kernel: (3, 3), stride: (2, 2), padding: .same,
                                   dilation: (1, 1), groups: 1)
        let g2 = ConvGeometry.transposed(input: y.shape, outChannels: 2, kernel: (4, 4), stride: (2, 2),
                                         padding: .symmetric(1), outputPadding: (0, 0), dilation: (1, 1))
        // 2 · N · O · oh · ow · C · kh · kw by hand: conv 2·2·4·(3·3)·3·9, deconv 2·2·4·(3·3)·2·16.
        XCTAssertEqual(g1.flops, 3888)
        XCTAssertEqual(g2.flops, 4608)
        XCTAssertEqual(counter.forwardFlops, g1.flops + g2.flops)
        XCTAssertEqual(counter.convolutions, 2)
        mean(z).backward()
        // The first conv's input needs no gradient: only its weight gradient is counted.
        XCTAssertEqual(counter.backwardFlops, g1.flops + 2 * g2.flops)
        XCTAssertEqual(z.shape, [2, 2, 6, 6])
        counter.reset()
        XCTAssertEqual(counter.forwardFlops + counter.backwardFlops, 0)
    }
}
