import XCTest
@testable import NN
import TestSupport

/// Finite-difference checks of every op's backward (small seeded tensors; rtol 1e-3).
final class GradientTests: XCTestCase {
    override func setUp() { Threads.set(2) }

    func testConv2dStride1Pad1() {
        gradCheck("conv 3x3 s1 p1", [randomTensor([2, 3, 5, 6], seed: 1), randomTensor([4, 3, 3, 3], seed: 2), randomTensor([4], seed: 3)]) {
            conv2d($0[0], weight: $0[1], bias: $0[2], padding: .symmetric(1))
        }
    }

    func testConv2dStride2SameOddAndEven() {
        gradCheck("conv 3x3 s2 same", [randomTensor([1, 2, 7, 6], seed: 4), randomTensor([3, 2, 3, 3], seed: 5), randomTensor([3], seed: 6)]) {
            conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: .same)
        }
        gradCheck("conv 4x4 s2 same (even kernel)", [randomTensor([1, 2, 6, 7], seed: 7), randomTensor([2, 2, 4, 4], seed: 8)]) {
            conv2d($0[0], weight: $0[1], stride: (2, 2), padding: .same)
        }
        gradCheck("conv 2x2 s1 same", [randomTensor([1, 2, 5, 5], seed: 9), randomTensor([2, 2, 2, 2], seed: 10)]) {
            conv2d($0[0], weight: $0[1], padding: .same)
        }
    }

    func testConv2dDilationGroupsDepthwisePointwise() {
        gradCheck("conv dilation 2", [randomTensor([1, 2, 7, 7], seed: 11), randomTensor([3, 2, 3, 3], seed: 12), randomTensor([3], seed: 13)]) {
            conv2d($0[0], weight: $0[1], bias: $0[2], padding: .same, dilation: (2, 2))
        }
        gradCheck("conv groups 2", [randomTensor([2, 4, 5, 5], seed: 14), randomTensor([6, 2, 3, 3], seed: 15), randomTensor([6], seed: 16)]) {
            conv2d($0[0], weight: $0[1], bias: $0[2], padding: .symmetric(1), groups: 2)
        }
        gradCheck("depthwise 3x3 s2 same", [randomTensor([2, 3, 6, 5], seed: 17), randomTensor([3, 1, 3, 3], seed: 18), randomTensor([3], seed: 19)]) {
            conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: .same, groups: 3)
        }
        gradCheck("conv 1x1", [randomTensor([2, 3, 4, 4], seed: 20), randomTensor([5, 3, 1, 1], seed: 21), randomTensor([5], seed: 22)]) {
            conv2d($0[0], weight: $0[1], bias: $0[2])
        }
    }

    func testConvTranspose2d() {
        gradCheck("deconv 3x3 s2 same", [randomTensor([2, 3, 3, 4], seed: 23), randomTensor([3, 2, 3, 3], seed: 24), randomTensor([2], seed: 25)]) {
            convTranspose2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: .same)
        }
        gradCheck("deconv 3x3 s2 p1 op1", [randomTensor([1, 2, 3, 3], seed: 26), randomTensor([2, 3, 3, 3], seed: 27), randomTensor([3], seed: 28)]) {
            convTranspose2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: .symmetric(1), outputPadding: (1, 1))
        }
        gradCheck("deconv 4x4 s2 p1 dilation 1", [randomTensor([1, 2, 3, 2], seed: 29), randomTensor([2, 2, 4, 4], seed: 30)]) {
            convTranspose2d($0[0], weight: $0[1], stride: (2, 2), padding: .symmetric(1))
        }
        gradCheck("deconv 3x3 s1 dilation 2 valid", [randomTensor([1, 2, 3, 3], seed: 31), randomTensor([2, 2, 3, 3], seed: 32)]) {
            convTranspose2d($0[0], weight: $0[1], padding: .valid, dilation: (2, 2))
        }
    }

    func testBatchNormTrainAndEval() {
        let rm = randomTensor([3], seed: 33), rv = randomTensor([3], seed: 34, low: 0.5, high: 1.5)
        let x = randomTensor([2, 3, 3, 4], seed: 35), gamma = randomTensor([3], seed: 36), beta = randomTensor([3], seed: 37)
        gradCheck("batch norm train (pytorch)", [x, gamma, beta], h: 5e-3) {
            batchNorm($0[0], gamma: $0[1], beta: $0[2], runningMean: rm, runningVar: rv, settings: .pytorch(), training: true)
        }
        gradCheck("batch norm train (keras)", [x, gamma, beta], h: 5e-3) {
            batchNorm($0[0], gamma: $0[1], beta: $0[2], runningMean: rm, runningVar: rv, settings: .keras(), training: true)
        }
        gradCheck("batch norm eval", [x, gamma, beta]) {
            batchNorm($0[0], gamma: $0[1], beta: $0[2], runningMean: rm, runningVar: rv, settings: .pytorch(), training: false)
        }
    }

    func testActivations() {
        gradCheck("relu", [separatedTensor([2, 3, 4, 3], seed: 38)]) { relu($0[0]) }
        gradCheck("leaky relu 0.3", [separatedTensor([2, 3, 4, 3], seed: 39)]) { leakyRelu($0[0], slope: 0.3) }
    }

    func testMaxPool() {
        gradCheck("max pool 3 s2 same", [separatedTensor([2, 2, 7, 6], seed: 40)], h: 1e-2) {
            maxPool2d($0[0], kernel: (3, 3), stride: (2, 2), padding: .same)
        }
        gradCheck("max pool 2 s2 valid", [separatedTensor([1, 2, 5, 4], seed: 41)]) {
            maxPool2d($0[0], kernel: (2, 2), stride: (2, 2))
        }
        gradCheck("max pool 3 s1 p1", [separatedTensor([1, 2, 4, 4], seed: 42)]) {
            maxPool2d($0[0], kernel: (3, 3), stride: (1, 1), padding: .symmetric(1))
        }
    }

    func testResize() {
        gradCheck("upsample nearest x2", [randomTensor([2, 2, 3, 4], seed: 43)]) { upsampleNearest($0[0], scale: (2, 2)) }
        gradCheck("upsample nearest 3x2", [randomTensor([1, 2, 2, 3], seed: 44)]) { upsampleNearest($0[0], scale: (3, 2)) }
        gradCheck("bilinear up", [randomTensor([1, 2, 3, 4], seed: 45)]) { resizeBilinear($0[0], size: (7, 9)) }
        gradCheck("bilinear down", [randomTensor([1, 2, 7, 8], seed: 46)]) { resizeBilinear($0[0], size: (3, 5)) }
        // ASPP's image pooling: global mean, then bilinear from 1×1 (a broadcast) back up.
        gradCheck("global average pool", [randomTensor([2, 3, 3, 5], seed: 53)]) { globalAveragePool($0[0]) }
        gradCheck("pool then bilinear from 1x1", [randomTensor([1, 2, 4, 3], seed: 54)]) {
            resizeBilinear(globalAveragePool($0[0]), size: (4, 3))
        }
    }

    func testGlobalAveragePoolValues() {
        let x = Tensor(shape: [1, 2, 2, 2], values: [1, 2, 3, 6, -1, -1, -1, 3])
        XCTAssertEqual(globalAveragePool(x).shape, [1, 2, 1, 1])
        XCTAssertEqual(globalAveragePool(x).array, [3, 0])
        XCTAssertEqual(resizeBilinear(globalAveragePool(x), size: (2, 3)).array, [3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0])
    }

    func testAddConcatScaleReshape() {
        gradCheck("add", [randomTensor([2, 3, 2, 2], seed: 47), randomTensor([2, 3, 2, 2], seed: 48)]) { $0[0] + $0[1] }
        gradCheck("add same tensor twice", [randomTensor([1, 2, 2, 2], seed: 49)]) { $0[0] + $0[0] }
        gradCheck("concat", [randomTensor([2, 1, 3, 2], seed: 50), randomTensor([2, 3, 3, 2], seed: 51), randomTensor([2, 2, 3, 2], seed: 52)]) {
            concat($0)
        }
        gradCheck("scale", [randomTensor([2, 3], seed: 53)]) { scale($0[0], by: -1.5) }
        gradCheck("reshape", [randomTensor([2, 3, 2, 2], seed: 54)]) { $0[0].reshaped([6, 4]) }
        gradCheck("mean", [randomTensor([2, 3], seed: 55)]) { mean($0[0]) }
    }

    func testDropoutUsesOneMaskPerDraw() {
        let gen = Generator(seed: 99)
        let start = gen.state
        gradCheck("dropout p=0.4", [randomTensor([2, 3, 4, 4], seed: 56)], before: { gen.state = start }) {
            dropout($0[0], p: 0.4, training: true, generator: gen)
        }
        let x = randomTensor([1, 1, 20, 20], seed: 57)
        gen.state = start
        let y = dropout(x, p: 0.4, training: true, generator: gen).array
        let zeros = y.filter { $0 == 0 }.count
        XCTAssert(zeros > 100 && zeros < 220, "dropout p=0.4 zeroed \(zeros) of 400")
        for (a, b) in zip(x.array, y) where b != 0 { XCTAssertEqual(b, a / 0.6, accuracy: 1e-6) }
        XCTAssertEqual(dropout(x, p: 0.4, training: false).array, x.array)
    }

    func testCrossEntropy() {
        let targets: [Int32] = [0, 2, 255, 1, 3, 3, 255, 0, 1, 2, 2, 0]
        gradCheck("cross entropy ignore 255", [randomTensor([2, 4, 2, 3], seed: 58, low: -2, high: 2)]) {
            crossEntropy($0[0], targets: targets)
        }
        gradCheck("cross entropy weighted", [randomTensor([2, 4, 2, 3], seed: 59, low: -2, high: 2)]) {
            crossEntropy($0[0], targets: targets, weights: [0.5, 1, 2, 1.5])
        }
    }

    /// conv → BN → ReLU, a stride-2 branch up-sampled by a deconv and concatenated with the skip,
    /// a 1×1 conv and a residual add, then max pool and nearest upsampling.
    func testCompositeNet() {
        let w1 = randomTensor([4, 2, 3, 3], seed: 60)
        let gamma = randomTensor([4], seed: 62, low: 0.5, high: 1.5), beta = randomTensor([4], seed: 63)
        let w2 = randomTensor([4, 4, 3, 3], seed: 64), wt = randomTensor([4, 3, 3, 3], seed: 65), bt = randomTensor([3], seed: 66)
        let w3 = randomTensor([4, 7, 1, 1], seed: 67)
        let rm = Tensor(zeros: [4]), rv = Tensor(shape: [4], repeating: 1)
        let x = randomTensor([2, 2, 6, 6], seed: 68)
        gradCheck("composite", [x, w1, gamma, beta, w2, wt, bt, w3], h: 5e-3) { p in
            let a = relu(batchNorm(conv2d(p[0], weight: p[1], padding: .same), gamma: p[2], beta: p[3],
                                   runningMean: rm, runningVar: rv, settings: .pytorch(), training: true))
            let down = leakyRelu(conv2d(a, weight: p[4], stride: (2, 2), padding: .same), slope: 0.2)
            let up = convTranspose2d(down, weight: p[5], bias: p[6], stride: (2, 2), padding: .same)
            let merged = conv2d(concat([a, up]), weight: p[7])
            return merged + a
        }
    }
}
