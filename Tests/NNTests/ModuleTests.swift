import XCTest
@testable import NN
import TestSupport

/// A tiny net with every kind of registration: nested children, a sequence, BN buffers.
final class TinyNet: Module, Layer {
    let stem: Sequential
    let block: Block
    let head: Conv2d

    final class Block: Module, Layer {
        let conv1: Conv2d, bn1: BatchNorm2d
        init(_ c: Int) {
            conv1 = Conv2d(c, c, kernel: 3, padding: .same, bias: false)
            bn1 = BatchNorm2d(c)
            super.init()
            register("conv1", conv1)
            register("bn1", bn1)
        }
        func callAsFunction(_ x: Tensor) -> Tensor { relu(bn1(conv1(x)) + x) }
    }

    init(classes: Int = 3) {
        stem = Sequential([Conv2d(3, 4, kernel: 3, padding: .symmetric(1)), BatchNorm2d(4), ReLU()])
        block = Block(4)
        head = Conv2d(8, classes, kernel: 1)
        super.init()
        register("stem", stem)
        register("block", block)
        register("head", head)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let s = stem(x)
        let b = block(maxPool2d(s, kernel: (2, 2), stride: (2, 2)))
        return head(concat([s, upsampleNearest(b, scale: (2, 2))]))
    }
}

final class ModuleTests: XCTestCase {
    func testStateDictNamesFollowPyTorch() {
        let net = TinyNet()
        XCTAssertEqual(net.stateDict().map(\.name), [
            "stem.0.weight", "stem.0.bias",
            "stem.1.weight", "stem.1.bias", "stem.1.running_mean", "stem.1.running_var", "stem.1.num_batches_tracked",
            "block.conv1.weight",
            "block.bn1.weight", "block.bn1.bias", "block.bn1.running_mean", "block.bn1.running_var", "block.bn1.num_batches_tracked",
            "head.weight", "head.bias",
        ])
        XCTAssertEqual(net.namedParameters().count, 9)
        XCTAssertEqual(net.parameterCount, 4 * 3 * 9 + 4 + 4 + 4 + 4 * 4 * 9 + 4 + 4 + 3 * 8 + 3)
    }

    func testLoadStateDictRoundTripsAndReportsMismatches() throws {
        let a = TinyNet(), b = TinyNet()
        a.stem.layers[0].ownParameters[0].tensor.fill(0.25)
        var dict: [String: Tensor] = [:]
        for (k, v) in a.stateDict() { dict[k] = v.copy() }
        try b.loadStateDict(dict)
        XCTAssertEqual(b.stateDict().map { $0.tensor.array }, a.stateDict().map { $0.tensor.array })
        dict["head.weight"] = Tensor(zeros: [2, 8, 1, 1])
        dict["extra"] = Tensor(zeros: [1])
        XCTAssertThrowsError(try b.loadStateDict(dict)) { error in
            let text = "\(error)"
            XCTAssert(text.contains("head.weight") && text.contains("unexpected 'extra'"), text)
        }
    }

    func testTrainingStepsLowerTheLossAndReuseMemory() {
        Threads.set(2)
        let net = TinyNet()
        let opt = Optimizer(net, rule: SGD(momentum: 0.9), learningRate: 0.05)
        let x = randomTensor([2, 3, 8, 8], seed: 1)
        var targets = [Int32](repeating: 0, count: 2 * 64)
        for i in targets.indices { targets[i] = x.data[i % 64] > 0 ? 1 : (i % 7 == 0 ? 255 : 2) }
        var losses: [Float] = []
        var live: [Int] = []
        for _ in 0..<30 {
            let loss = crossEntropy(net(x), targets: targets)
            opt.zeroGrad()
            loss.backward()
            opt.step()
            losses.append(loss.item)
            live.append(BufferPool.shared.liveBytes + BufferPool.shared.pooledBytes)
        }
        XCTAssertLessThan(losses.last!, losses.first! * 0.7, "loss \(losses)")
        XCTAssertEqual(live[29], live[5], "pooled + live memory grew from step 5 to 29: \(live)")
        XCTAssertEqual(net.block.bn1.numBatchesTracked.item, 30)
        net.eval()
        let before = net.block.bn1.runningMean.array
        _ = GradMode.withoutGrad { net(x) }
        XCTAssertEqual(net.block.bn1.runningMean.array, before, "eval must not touch running statistics")
    }
}
