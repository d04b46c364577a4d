import Datasets
import Foundation
import Models
@testable import NN
import TestSupport
import XCTest
@testable import Training

/// Whole-image evaluation of images of different sizes (the four real VOC fixtures: 500×281 …
/// 500×375, four padded sizes for xunet's stride 16) on both backends.
final class WholeImageEvaluationTests: XCTestCase {
    override func setUp() { Threads.set(2) }

    /// The same seeded xunet evaluates the same on dnnl and on the reference backend, and a
    /// second dnnl pass over the same sizes builds no oneDNN primitive and gives the same result
    /// bit for bit (in training every evaluation passes over the same sizes).
    func testRepeatedPassBuildsNoPrimitivesAndBothBackendsAgree() throws {
        let dnnl = try XCTUnwrap(DNNLBackend.shared, "oneDNN CPU engine unavailable: \(DNNLBackend.unavailableReason ?? "?")")
        let dataset = try DatasetLoader.open(Fixtures.voc)
        let ids = try dataset.ids(split: "train") + dataset.ids(split: "val")
        XCTAssertEqual(ids.count, 4)
        let spec = try ModelRegistry.spec(named: "xunet")
        let network = try spec.build(ModelOptions(classes: 21))
        let predictor = Predictor(network: network, sizeMultiple: spec.sizeMultiple, config: TrainingConfig())
        predictor.mode = .whole
        let previous = Backends.current
        defer { Backends.current = previous }

        Backends.current = dnnl
        let first = try predictor.evaluate(dataset, ids: ids)
        let built = dnnl.createdPrimitiveCount
        let second = try predictor.evaluate(dataset, ids: ids)
        XCTAssertEqual(dnnl.createdPrimitiveCount, built, "the second pass over the same sizes built primitives")
        XCTAssertEqual(second.confusion.rows, first.confusion.rows)
        XCTAssertEqual(second.loss, first.loss)

        Backends.current = ReferenceBackend.shared
        let reference = try predictor.evaluate(dataset, ids: ids)
        let (a, b) = (SegmentationMetrics(first.confusion), SegmentationMetrics(reference.confusion))
        XCTAssertEqual(a.pixels, b.pixels)
        // An untrained net's logits are close together, so float noise may flip the odd pixel:
        // the loss agrees to float precision, the metrics to a few pixels in 600 000.
        XCTAssertEqual(try XCTUnwrap(first.loss), try XCTUnwrap(reference.loss), accuracy: 1e-5)
        XCTAssertEqual(a.aAcc, b.aAcc, accuracy: 1e-4)
        XCTAssertEqual(a.mIoU, b.mIoU, accuracy: 1e-4)
        for (x, y) in zip(first.imageScores, reference.imageScores) { XCTAssertEqual(x.id, y.id) }
    }
}
