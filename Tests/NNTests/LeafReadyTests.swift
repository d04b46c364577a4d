import XCTest
@testable import NN

/// `backward(gradient:onLeafReady:)`: each leaf reported once, when its gradient is complete (the
/// hook data-parallel training starts its bucket all-reduces from).
final class LeafReadyTests: XCTestCase {
    func testALeafIsReportedOnceAfterItsLastContribution() {
        let w = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let u = Tensor(shape: [4], values: [1, -1, 2, -2])
        let unused = Tensor(shape: [1], values: [7])
        for t in [w, u, unused] { t.requiresGrad = true }
        // w feeds two ops (2w + w): d/dw mean(3w) = 3/6 for every element once both have run.
        let loss = add(mean(add(scale(w, by: 2), w)), mean(u))
        var reported: [(tensor: Tensor, grad: [Float])] = []
        loss.backward(gradient: Tensor(shape: loss.shape, repeating: 1)) { leaf in
            reported.append((leaf, leaf.grad?.array ?? []))
        }
        XCTAssertEqual(reported.count, 2, "w and u once each; the unused leaf never")
        let atW = reported.first { $0.tensor === w }
        XCTAssertEqual(atW?.grad, [Float](repeating: 0.5, count: 6), "complete when reported")
        XCTAssertEqual(reported.first { $0.tensor === u }?.grad, [Float](repeating: 0.25, count: 4))
        XCTAssertFalse(reported.contains { $0.tensor === unused })
        XCTAssertEqual(w.grad?.array, [Float](repeating: 0.5, count: 6))
    }

    func testWithoutAHookTheBackwardIsUnchanged() {
        let w = Tensor(shape: [3], values: [1, 2, 3])
        w.requiresGrad = true
        mean(scale(w, by: 3)).backward()
        XCTAssertEqual(w.grad?.array, [1, 1, 1])
    }
}
