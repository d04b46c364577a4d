import Datasets
import EngineProtocol
import Foundation
import Models
import NN
import TestSupport
import XCTest
@testable import Training

/// Per-sample metrics of an evaluation (D-188): every scored sample's IoU, accuracy, label
/// quality (cleanlab's softmin of self-confidences) and confusion cells, saved as
/// `predictions/<iteration>/samples.json` and read back through `RunArchive`.
final class SampleMetricsTests: XCTestCase {
    override func setUp() { Threads.set(2) }

    /// Golden values from scripts/golden/label_quality_golden.py (torch).
    func testSoftminOfSelfConfidenceMatchesTheCleanlabFormula() {
        XCTAssertEqual(SampleMetrics.softmin([0.9, 0.8, 0.1]), 0.10090555793541536, accuracy: 1e-12)
        XCTAssertEqual(SampleMetrics.softmin([0.5, 0.5]), 0.5, accuracy: 1e-15)
        XCTAssertEqual(SampleMetrics.softmin([1.0, 1.0, 0.0]), 9.079161565902182e-05, accuracy: 1e-15)
        XCTAssertTrue(SampleMetrics.softmin([]).isNaN, "no labelled pixel: undefined")

        // CHW logits, 3 classes × 4 pixels; the void pixel (255) is left out.
        let logits: [Float] = [0, 1, 2, -1,
                               1, 0, 2, 3,
                               2, -2, 2, 0.5]
        let p = Inference.selfConfidence(logits, classes: 3, labels: [0, 2, 255, 1])
        XCTAssertEqual(p.count, 3)
        for (a, b) in zip(p, [0.09003057317038046, 0.03511902695933973, 0.9087599242585133]) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        XCTAssertEqual(SampleMetrics.softmin(p), 0.055307383009238806, accuracy: 1e-6)
    }

    func testConfusionCellsAreTheOffDiagonalMostPixelsFirst() {
        var m = ConfusionMatrix(classCount: 3)
        m.add(truth: [0, 0, 0, 1, 1, 2, 2, 2, 255], prediction: [0, 1, 1, 2, 1, 0, 0, 0, 1])
        let cells = SampleMetrics.confusionCells(m)
        XCTAssertEqual(cells, [[2, 0, 3], [0, 1, 2], [1, 2, 1]])
        let s = SampleMetrics(id: "a", mIoU: 0, pixelAccuracy: 0, pixels: 8, labelQuality: 0.5, confusions: cells)
        XCTAssertEqual(s.confused(truth: 0, predicted: 1), 2)
        XCTAssertEqual(s.confused(truth: 1, predicted: 0), 0)
    }

    /// Every scored sample gets figures, not only the kept (saved) ones; they agree with the
    /// image scores, and the confusion cells hold exactly the wrong pixels.
    func testEvaluationScoresEverySampleNotOnlyTheKeptOnes() throws {
        let dataset = try DatasetLoader.open(Fixtures.voc)
        let ids = try dataset.ids(split: "trainval")
        let spec = try ModelRegistry.spec(named: "xunet")
        let predictor = Predictor(network: try spec.build(ModelOptions(classes: 21)), sizeMultiple: spec.sizeMultiple,
                                  config: TrainingConfig())
        let result = try predictor.evaluate(dataset, ids: ids, keeping: 1)
        XCTAssertEqual(result.samples.count, 1)
        XCTAssertEqual(result.sampleMetrics.map(\.id), ids)
        for (m, score) in zip(result.sampleMetrics, result.imageScores) {
            XCTAssertEqual(m.id, score.id)
            XCTAssertEqual(m.mIoU, score.mIoU, accuracy: 1e-12)
            XCTAssertEqual(m.pixelAccuracy, score.pixelAccuracy, accuracy: 1e-12)
            XCTAssertEqual(m.pixels, score.pixels)
            XCTAssertTrue(m.labelQuality > 0 && m.labelQuality <= 1, "\(m.id): \(m.labelQuality)")
            let wrong = m.confusions.reduce(0) { $0 + $1[2] }
            XCTAssertEqual(Double(wrong), Double(m.pixels) * (1 - m.pixelAccuracy), accuracy: 0.5, m.id)
        }
    }

    private func evaluated(_ id: String) -> EvaluatedSample {
        let image = RGBImage(width: 4, height: 2, pixels: [UInt8](repeating: 90, count: 24))
        let truth = LabelMap(width: 4, height: 2, values: [0, 0, 1, 1, 1, 1, 0, 0])
        let prediction = LabelMap(width: 4, height: 2, values: [0, 1, 1, 1, 0, 1, 0, 0])
        return EvaluatedSample(id: id, image: image, truth: truth, prediction: prediction,
                               score: ImageScore(id: id, truth: truth.values, prediction: prediction.values, classCount: 2))
    }

    func testTheSamplesFileIsSavedBesideThePredictionsAndReadBack() throws {
        let root = try makeTemporaryDirectory("sample-metrics")
        defer { try? FileManager.default.removeItem(at: root) }
        let run = try RunDirectory.create(root: root, model: "xunet")
        var all: [SampleMetrics] = []
        for i in 0..<12 {
            let accuracy: Double = i == 3 ? .nan : 0.9
            let confusions: [[Int]] = i == 0 ? [[1, 0, 2]] : []
            all.append(SampleMetrics(id: "s\(i)", mIoU: Double(i) / 12, pixelAccuracy: accuracy, pixels: 8,
                                     labelQuality: 0.1 * Double(i % 5), confusions: confusions))
        }
        let file = SampleMetricsFile(iteration: 30, epoch: 2, split: "val", classNames: ["background", "cat"], samples: all)
        try run.writePredictions([evaluated("s0")], iteration: 30, epoch: 2, split: "val", mIoU: 0.4, isBest: true, metrics: file)
        let saved = run.predictionsURL.appendingPathComponent("000030").appendingPathComponent(SampleMetricsFile.fileName)
        XCTAssertTrue(FileManager.default.fileExists(atPath: saved.path))
        let text = try String(contentsOf: saved, encoding: .utf8)
        XCTAssertTrue(text.contains("\"label_quality_method\":\"softmin self-confidence, T=0.1\""), text)
        XCTAssertTrue(text.contains("\"pixel_accuracy\":null"), "an undefined figure is null")
        let read = try RunArchive.sampleMetrics(runDirectory: run.url)
        XCTAssertEqual(read, file)
        XCTAssertEqual(read.samples.count, 12, "all scored samples, not the one saved image")
    }

    func testAMissingOrDamagedSamplesFileIsAnErrorNamingIt() throws {
        let root = try makeTemporaryDirectory("sample-metrics-bad")
        defer { try? FileManager.default.removeItem(at: root) }
        let run = try RunDirectory.create(root: root, model: "xunet")
        XCTAssertThrowsError(try RunArchive.sampleMetrics(runDirectory: run.url)) { error in
            XCTAssertTrue("\(error)".contains("predictions/index.json is missing"), "\(error)")
        }
        // An evaluation written without the file (an older run).
        try run.writePredictions([evaluated("a")], iteration: 10, epoch: 1, split: "val", mIoU: 0.4, isBest: true)
        XCTAssertThrowsError(try RunArchive.sampleMetrics(runDirectory: run.url)) { error in
            XCTAssertTrue("\(error)".contains("000010/samples.json is missing"), "\(error)")
        }
        let url = run.predictionsURL.appendingPathComponent("000010").appendingPathComponent(SampleMetricsFile.fileName)
        try Data("{\"version\":1,\"iteration\":10,\"samples\":[{\"id\":".utf8).write(to: url)
        XCTAssertThrowsError(try RunArchive.sampleMetrics(runDirectory: run.url)) { error in
            XCTAssertTrue("\(error)".contains("samples.json is damaged"), "\(error)")
        }
        try Data("{\"version\":9,\"iteration\":10,\"epoch\":1,\"split\":\"val\",\"class_names\":[],\"label_quality_method\":\"x\",\"samples\":[]}".utf8)
            .write(to: url)
        XCTAssertThrowsError(try RunArchive.sampleMetrics(runDirectory: run.url)) { error in
            XCTAssertTrue("\(error)".contains("version 9 is newer"), "\(error)")
        }
        XCTAssertThrowsError(try RunArchive.sampleMetrics(runDirectory: run.url, iteration: 99)) { error in
            XCTAssertTrue("\(error)".contains("iteration 99"), "\(error)")
        }
    }
}
