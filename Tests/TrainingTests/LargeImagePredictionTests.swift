import Datasets
import Foundation
import Models
import NN
import TestSupport
import XCTest
@testable import Training

/// Issue #16: whole-image inference of an image above `max_whole_image_pixels` runs in tiles
/// merged on the logits, never as one forward pass; one too large for the prediction buffers is
/// refused (predict) or skipped and named (evaluation). A modest image and a lowered limit stand
/// in for the 8000×8000 PNG.
final class LargeImagePredictionTests: XCTestCase {
    /// A per-pixel "network" (logit k = input channel k mod 3 × (k + 1)) that records the size of
    /// every forward pass: tiled and whole inference must then agree exactly.
    final class PerPixelSpy: SegmentationModel {
        var forwardPixels: [Int] = []
        init(classes: Int = 4) { super.init(name: "spy", classes: classes, inChannels: 3) }
        override func callAsFunction(_ x: Tensor) -> Tensor {
            let (h, w) = (x.shape[2], x.shape[3])
            forwardPixels.append(h * w)
            let input = x.array, plane = h * w
            var out = [Float](repeating: 0, count: classes * plane)
            for k in 0..<classes {
                for i in 0..<plane { out[k * plane + i] = input[(k % 3) * plane + i] * Float(k + 1) }
            }
            return Tensor(shape: [1, classes, h, w], values: out)
        }
    }

    private func image(width: Int, height: Int) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in pixels.indices { pixels[i] = UInt8(truncatingIfNeeded: (i * 37) ^ (i / 7)) }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    func testAnImageAboveTheLimitIsPredictedInTilesThatEachFit() throws {
        let spy = PerPixelSpy()
        var config = TrainingConfig()
        config.maxWholeImagePixels = 64 * 64
        let predictor = Predictor(network: spy, sizeMultiple: 16, config: config)
        predictor.mode = .whole
        let picture = image(width: 150, height: 100)
        let tiled = try predictor.logits(picture)
        XCTAssertEqual(tiled.count, 4 * 150 * 100)
        // 64² tiles, stride 43: 2 rows × 3 columns of windows, none above the limit.
        XCTAssertEqual(spy.forwardPixels, [Int](repeating: 64 * 64, count: 6))
        XCTAssertEqual(config.sizeLimit.plan(height: 100, width: 150, classes: 4, multiple: 16), .tiled(tile: 64, windows: 6))

        spy.forwardPixels = []
        predictor.sizeLimit = ImageSizeLimit()
        let whole = try predictor.logits(picture)
        XCTAssertEqual(spy.forwardPixels, [112 * 160], "one stride-padded forward pass")
        assertClose(tiled, whole, rtol: 1e-6, atol: 1e-6, "tiled vs whole")
    }

    func testAnImageTooLargeForThePredictionBuffersIsRefusedBeforeAnyForwardPass() throws {
        let spy = PerPixelSpy()
        let predictor = Predictor(network: spy, sizeMultiple: 16, config: TrainingConfig())
        // 150×100 × (3 + 4 + 1) floats = 480,000 bytes: a 400 kB budget refuses it.
        predictor.sizeLimit = ImageSizeLimit(memoryBytes: 400_000)
        XCTAssertThrowsError(try predictor.predict(image(width: 150, height: 100))) { error in
            XCTAssertTrue(error is InputTooLargeError, "\(error)")
            XCTAssertTrue("\(error)".contains("150x100"), "\(error)")
        }
        XCTAssertEqual(spy.forwardPixels, [], "refused before any forward pass")
    }

    func testEvaluationSkipsAndNamesAnImageTooLargeToPredict() throws {
        let dataset = try DatasetLoader.open(Fixtures.voc)
        let ids = try dataset.ids(split: "train") + dataset.ids(split: "val")
        var sizes: [String: Int] = [:]
        for id in ids { let s = try dataset.sample(id: id); sizes[id] = s.image.width * s.image.height }
        let smallest = try XCTUnwrap(sizes.values.min()), largest = try XCTUnwrap(sizes.values.max())
        XCTAssertLessThan(smallest, largest, "the fixtures need two sizes")
        let predictor = Predictor(network: PerPixelSpy(classes: 21), sizeMultiple: 16, config: TrainingConfig())
        predictor.sizeLimit = ImageSizeLimit(memoryBytes: smallest * (3 + 21 + 1) * 4)
        let result = try predictor.evaluate(dataset, ids: ids)
        let refused = ids.filter { sizes[$0]! > smallest }
        XCTAssertEqual(result.imageScores.count, ids.count - refused.count)
        XCTAssertEqual(result.skipped.count, refused.count, "\(result.skipped)")
        for id in refused {
            XCTAssertTrue(result.skipped.contains { $0.hasPrefix("\(id): ") && $0.contains("prediction buffers") }, "\(result.skipped)")
        }
    }
}
