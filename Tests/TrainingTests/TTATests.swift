import Datasets
import Foundation
import Models
import NN
import TestSupport
import XCTest
@testable import Training

/// Test-time augmentation (D-252): merged on the logits, with the single-scale pass of the same
/// images kept beside the augmented figures ("ss" vs "ms+flip").
final class TTATests: XCTestCase {
    /// One network for every predictor of a test, so their passes compare exactly.
    private var network: SegmentationModel!

    override func setUpWithError() throws {
        network = try ModelRegistry.spec(named: "xunet").build(ModelOptions(classes: 3, seed: 7))
        network.eval()
    }

    private func predictor(_ tta: TTAMode, scales: String = "0.5,1.0,1.5") -> Predictor {
        var config = TrainingConfig()
        config.evalTTA = tta
        config.ttaScales = scales
        return Predictor(network: network, sizeMultiple: 16, config: config)
    }

    /// A real photo, small enough for a quick forward pass.
    private func image() throws -> RGBImage {
        let photo = try ImageCodec.readRGB(Fixtures.pets.appendingPathComponent("images/Abyssinian_1.jpg"))
        return Transforms.resizeBilinear(photo, to: Size2D(height: 48, width: 64))
    }

    func testFlipMergedLogitsAreTheMeanOfTheTwoPasses() throws {
        let p = predictor(.flip)
        let img = try image()
        let plain = try p.singleLogits(img)
        let mirrored = Predictor.flippedHorizontally(try p.singleLogits(Transforms.flipHorizontally(image: img)),
                                                     classes: 3, height: 48, width: 64)
        let merged = try p.logits(img)
        XCTAssertEqual(merged.count, 3 * 48 * 64)
        var largest: Float = 0
        for i in merged.indices {
            XCTAssertEqual(merged[i], (plain[i] + mirrored[i]) / 2, accuracy: 1e-5)
            largest = max(largest, abs(plain[i] - mirrored[i]))
        }
        XCTAssertGreaterThan(largest, 1e-3, "the two passes differ, so the mean is not trivially either")
        XCTAssertEqual(try p.augmentedLogits(img).single, plain)
    }

    func testSingleScaleLogitsAreTheUnflippedPassAtTheImagesSize() throws {
        let img = try image()
        let plain = try predictor(.ss).singleLogits(img)
        XCTAssertEqual(try predictor(.msFlip).augmentedLogits(img).single, plain, "scale 1 is one of the passes")
        XCTAssertEqual(try predictor(.ms, scales: "0.5,1.5").augmentedLogits(img).single, plain, "computed apart without scale 1")
        let ss = try predictor(.ss).augmentedLogits(img)
        XCTAssertEqual(ss.merged, ss.single)
    }

    func testEvaluationKeepsTheSingleScaleFiguresBesideTheAugmentedOnes() throws {
        let pets = try DatasetLoader.open(Fixtures.pets)
        let ids = Array(try pets.ids(split: "test").prefix(2))
        let ss = try predictor(.ss).evaluate(pets, ids: ids)
        XCTAssertNil(ss.singleScaleConfusion)
        let flip = try predictor(.flip).evaluate(pets, ids: ids)
        XCTAssertEqual(flip.singleScaleConfusion, ss.confusion, "the ss figures of a flip evaluation are those of an ss one")
        XCTAssertEqual(flip.confusion.counts.reduce(0, +), ss.confusion.counts.reduce(0, +), "the same labelled pixels")
    }
}
