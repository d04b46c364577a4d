import Datasets
import Foundation
import XCTest
@testable import Training

/// `predictions/` of a run directory: one folder per evaluation with VOC-palette masks,
/// overlays and an index, and `predictions/index.json` over all of them.
final class SamplePredictionsTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-pred-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    private func sample(_ id: String, width: Int, height: Int, predicted: UInt8) -> EvaluatedSample {
        let image = RGBImage(width: width, height: height, pixels: [UInt8](repeating: 100, count: 3 * width * height))
        var truthValues = [UInt8](repeating: 0, count: width * height)
        truthValues[0] = LabelMap.void
        let truth = LabelMap(width: width, height: height, values: truthValues)
        var values = [UInt8](repeating: 0, count: width * height)
        for i in 0..<(width * height / 2) { values[i] = predicted }
        let prediction = LabelMap(width: width, height: height, values: values)
        return EvaluatedSample(id: id, image: image, truth: truth, prediction: prediction,
                               score: ImageScore(id: id, truth: truth.values, prediction: values, classCount: 21))
    }

    func testEachEvaluationGetsAFolderOfMasksOverlaysAndAnIndex() throws {
        let run = try RunDirectory.create(root: root, model: "xunet")
        let samples = [sample("a", width: 7, height: 5, predicted: 15), sample("sub/b", width: 4, height: 9, predicted: 1)]
        try run.writePredictions(samples, iteration: 10, epoch: 1, split: "val", mIoU: 0.25, isBest: true)
        try run.writePredictions(samples, iteration: 20, epoch: 2, split: "val", mIoU: .nan, isBest: false)

        let folder = run.predictionsURL.appendingPathComponent("000010")
        let set = try JSONDecoder().decode(PredictionSet.self, from: Data(contentsOf: folder.appendingPathComponent("index.json")))
        XCTAssertEqual(set.iteration, 10)
        XCTAssertEqual(set.isBest, true)
        XCTAssertEqual(set.samples.map(\.id), ["a", "sub/b"])
        XCTAssertEqual(set.samples.map(\.mask), ["a.png", "sub_b.png"])
        XCTAssertEqual(set.samples[1].overlay, "sub_b_overlay.png")
        XCTAssertEqual(set.samples[0].mIoU ?? -1, samples[0].score.mIoU, accuracy: 1e-12)

        // The mask is paletted, the image's size, pixel value = class index.
        let mask = try ImageCodec.readPNG(folder.appendingPathComponent("a.png"))
        guard case .paletted(let palette) = mask.kind else { return XCTFail("a.png is not paletted: \(mask.kind)") }
        XCTAssertEqual(palette[15], Palette.voc[15])
        XCTAssertEqual([mask.width, mask.height], [7, 5])
        XCTAssertEqual(Set(mask.samples), [0, 15])
        XCTAssertEqual(mask.samples, samples[0].prediction.values)
        let overlay = try ImageCodec.readRGB(folder.appendingPathComponent("a_overlay.png"))
        XCTAssertEqual([overlay.width, overlay.height], [7, 5])
        let person = Palette.voc[15]
        XCTAssertEqual(Array(overlay.pixels[0..<3]), [UInt8((100 + Int(person.r)) / 2), UInt8((100 + Int(person.g)) / 2),
                                                     UInt8((100 + Int(person.b)) / 2)])
        XCTAssertEqual(Array(overlay.pixels[(3 * 34)..<(3 * 35)]), [100, 100, 100], "background is left as it is")

        let index = try run.readPredictionIndex()
        XCTAssertEqual(index.samples, ["a", "sub/b"])
        XCTAssertEqual(index.evaluations.map(\.directory), ["000010", "000020"])
        XCTAssertEqual(index.bestIteration, 10)
        XCTAssertNil(index.evaluations[1].mIoU, "an undefined mIoU is null, not NaN")

        // A resumed run evaluating the same iteration again replaces that folder; no temp is left.
        try run.writePredictions([samples[0]], iteration: 20, epoch: 2, split: "val", mIoU: 0.5, isBest: true)
        let again = try run.readPredictionIndex()
        XCTAssertEqual(again.evaluations.map(\.iteration), [10, 20])
        XCTAssertEqual(again.bestIteration, 20)
        let files = try FileManager.default.contentsOfDirectory(atPath: run.predictionsURL.appendingPathComponent("000020").path)
        XCTAssertEqual(Set(files), ["a.png", "a_overlay.png", "index.json"])
        let top = try FileManager.default.contentsOfDirectory(atPath: run.predictionsURL.path)
        XCTAssertEqual(Set(top), ["000010", "000020", "index.json"])
    }
}
