import Datasets
import Foundation
import TestSupport
import XCTest
@testable import Training

/// `predictions/` of a run directory: one folder per evaluation with VOC-palette masks,
/// overlays and an index, and `predictions/index.json` over all of them.
final class SamplePredictionsTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        root = try makeTemporaryDirectory("pred")
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

    /// The masks and overlays of a run are drawn in its dataset's colours (D-250): Cityscapes
    /// here, where class 0 (road) is a class like any other and is blended too.
    func testMasksAndOverlaysTakeTheDatasetsPalette() throws {
        let run = try RunDirectory.create(root: root, model: "xunet")
        let palette = ClassPalette.cityscapes.palette(for: Palette.cityscapesClassNames, own: Palette.voc)
        try run.writePredictions([sample("a", width: 7, height: 5, predicted: 13)], iteration: 10, epoch: 1, split: "val",
                                 mIoU: 0.25, isBest: true, palette: palette)
        let folder = run.predictionsURL.appendingPathComponent("000010")
        let mask = try ImageCodec.readPNG(folder.appendingPathComponent("a.png"))
        guard case .paletted(let written) = mask.kind else { return XCTFail("a.png is not paletted: \(mask.kind)") }
        XCTAssertEqual(written[13], RGB(0, 0, 142), "car")
        XCTAssertEqual(written[0], RGB(128, 64, 128), "road")
        let overlay = try ImageCodec.readRGB(folder.appendingPathComponent("a_overlay.png"))
        XCTAssertEqual(Array(overlay.pixels[0..<3]), [50, 50, 121], "car blended at 50 %")
        XCTAssertEqual(Array(overlay.pixels[(3 * 34)..<(3 * 35)]), [114, 82, 114], "road blended at 50 %")
    }

    /// A checkpoint carries its classes' colours; one without them gets the `palette` key's.
    func testCheckpointColoursRoundTripAndFallBackToTheConfig() throws {
        var palette = Palette.voc
        palette[1] = RGB(1, 2, 3)
        let names = ["background", "thing"]
        let metadata = [Predictor.classColorsKey: Predictor.colorsText(palette, classes: 2)]
        XCTAssertEqual(metadata[Predictor.classColorsKey], "[[0,0,0],[1,2,3]]")
        var config = TrainingConfig()
        config.palette = .cityscapes
        XCTAssertEqual(Predictor.palette(metadata: metadata, classNames: names, config: config), palette)
        XCTAssertEqual(Predictor.palette(metadata: [:], classNames: names, config: config)[1], RGB(244, 35, 232))
        XCTAssertEqual(Predictor.palette(metadata: [Predictor.classColorsKey: "[[1,2,3]]"], classNames: names,
                                         config: TrainingConfig()), Palette.voc, "colours of another class count are not used")
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

    func testKeepRuleIsTheLastNAndTheBest() {
        let its = [10, 20, 30, 40, 50, 60]
        XCTAssertEqual(RunDirectory.predictionIterationsToKeep(its, best: 20, keep: 2), [20, 50, 60])
        XCTAssertEqual(RunDirectory.predictionIterationsToKeep(its, best: 60, keep: 2), [50, 60], "the best among the last")
        XCTAssertEqual(RunDirectory.predictionIterationsToKeep(its, best: nil, keep: 1), [60])
        XCTAssertEqual(RunDirectory.predictionIterationsToKeep(its, best: 99, keep: 1), [60], "a best not listed is not invented")
        XCTAssertEqual(RunDirectory.predictionIterationsToKeep(its, best: 10, keep: 0), Set(its), "0 keeps every evaluation")
        XCTAssertEqual(RunDirectory.predictionIterationsToKeep([30, 10, 20], best: nil, keep: 2), [20, 30], "by iteration, not order")
    }

    /// Eight evaluations with keep 3: the best (an old one) and the last three folders remain,
    /// the index lists exactly those; a new best lets the old best go.
    func testPruningKeepsTheBestAndTheLastEvaluations() throws {
        let run = try RunDirectory.create(root: root, model: "xunet")
        let samples = [sample("a", width: 4, height: 3, predicted: 15)]
        // A folder no index lists (left by a failed removal) and a writer's hidden temporary folder.
        try FileManager.default.createDirectory(at: run.predictionsURL.appendingPathComponent("000001"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: run.predictionsURL.appendingPathComponent(".000090.tmp-1"), withIntermediateDirectories: true)
        let mious = [0.1, 0.4, 0.2, 0.3, 0.1, 0.2, 0.35, 0.3]
        var best = -1.0
        for (i, m) in mious.enumerated() {
            let isBest = m > best
            if isBest { best = m }
            try run.writePredictions(samples, iteration: 10 * (i + 1), epoch: i + 1, split: "val", mIoU: m, isBest: isBest, keep: 3)
        }
        func folders() throws -> Set<String> {
            Set(try FileManager.default.contentsOfDirectory(atPath: run.predictionsURL.path).filter { !$0.hasPrefix(".") && $0 != "index.json" })
        }
        XCTAssertEqual(try folders(), ["000020", "000060", "000070", "000080"], "best (it 20) and the last three")
        var index = try run.readPredictionIndex()
        XCTAssertEqual(index.evaluations.map(\.directory), ["000020", "000060", "000070", "000080"])
        XCTAssertEqual(index.bestIteration, 20)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.predictionsURL.appendingPathComponent(".000090.tmp-1").path),
                      "temporary folders are not pruned (a writer may be using one)")
        for e in index.evaluations {
            let set = try JSONDecoder().decode(PredictionSet.self, from: Data(contentsOf:
                run.predictionsURL.appendingPathComponent(e.directory).appendingPathComponent("index.json")))
            XCTAssertEqual(set.iteration, e.iteration, "every listed folder is whole")
        }

        try run.writePredictions(samples, iteration: 90, epoch: 9, split: "val", mIoU: 0.5, isBest: true, keep: 3)
        XCTAssertEqual(try folders(), ["000070", "000080", "000090"], "the new best is among the last three; the old one goes")
        index = try run.readPredictionIndex()
        XCTAssertEqual(index.evaluations.map(\.iteration), [70, 80, 90])
        XCTAssertEqual(index.bestIteration, 90)
    }
}
