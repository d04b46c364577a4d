import Datasets
import Foundation
import Models
import NN
import TestSupport
import XCTest
@testable import Training

/// The protocol module holds copies of facts the engine's modules own (it does not link them);
/// these tests keep the copies equal (D-201), and check that `RunArchive` reads what
/// `RunDirectory` writes.
final class ProtocolSeamTests: XCTestCase {
    func testModelFactsMatchTheRegistry() throws {
        XCTAssertEqual(ModelFacts.all.map(\.name), ModelRegistry.all.map(\.name),
                       "a model added to ModelRegistry needs its line in EngineProtocol's ModelFacts.all")
        XCTAssertEqual(TrainingConfig.modelNames, ModelRegistry.all.map(\.name))
        for spec in ModelRegistry.all {
            let facts = try XCTUnwrap(ModelFacts.named(spec.name))
            XCTAssertEqual(facts.sizeMultiple, spec.sizeMultiple, spec.name)
            XCTAssertEqual(facts.hasBackbone, spec.backbone != nil, spec.name)
            for (h, w) in [(160, 160), (161, 160), (100, 70), (320, 480), (64, 8), (1, 1)] {
                var reason: String?
                do { try spec.validate(InputSize(height: h, width: w)) } catch ModelError.badInputSize(_, let why) { reason = why }
                XCTAssertEqual(facts.sizeProblem(PixelSize(height: h, width: w)), reason, "\(spec.name) \(h)x\(w)")
            }
        }
    }

    func testBackendSpellingsMatchTheEngine() {
        for text in BackendKind.spellings + ["DNNL", "OneDNN", "Ref", "REFERENCE", "", "cuda", "dnn", "fast "] {
            XCTAssertEqual(BackendKind.canonicalName(text), Backends.canonicalName(text), "'\(text)'")
        }
        XCTAssertEqual(Set(BackendKind.allCases.map(\.rawValue)), Set(Backends.names))
    }

    func testRunArchiveReadsWhatRunDirectoryWrites() throws {
        let root = try makeTemporaryDirectory("run-archive")
        defer { try? FileManager.default.removeItem(at: root) }
        let run = try RunDirectory.create(root: root, model: "unet", date: Date(timeIntervalSince1970: 1_795_000_000))
        let layout = RunLayout(run.url)
        XCTAssertEqual(layout.configURL, run.configURL)
        XCTAssertEqual(layout.metricsURL, run.metricsURL)
        XCTAssertEqual(layout.weightsURL(.best), run.weightsURL(.best))
        XCTAssertEqual(layout.resumeURL, run.resumeURL)
        XCTAssertEqual(layout.predictionIndexURL, run.predictionIndexURL)
        XCTAssertEqual(RunLayout.model(fromName: run.url.lastPathComponent), "unet")

        var config = TrainingConfig()
        config.model = "unet"
        config.crop = PixelSize(square: 64)
        try run.writeConfig(config)
        var matrix = ConfusionMatrix(classCount: 2)
        matrix.add(truth: [0, 1, 1, 0], prediction: [0, 1, 0, 0])
        for i in 1...3 {
            try run.log(step: StepReport(epoch: 1, iteration: i, totalIterations: 30, loss: 1, epochLoss: 1, pixelAccuracy: 0.5,
                                         learningRate: 1e-3, imagesPerSecond: 10, etaSeconds: nil, elapsedSeconds: Double(i)))
        }
        try run.log(evaluation: EvaluationReport(epoch: 1, iteration: 3, split: "val", metrics: SegmentationMetrics(matrix),
                                                 classNames: ["background", "cat"], confusion: matrix, imageScores: [],
                                                 loss: nil, mode: .whole, seconds: 1, isBest: true))
        try run.flush()

        let entries = try RunArchive.scan(root)
        XCTAssertEqual(entries.count, 1)
        let entry = try XCTUnwrap(entries.first)
        XCTAssertEqual(entry.model, "unet")
        XCTAssertEqual(entry.iterations, 3)
        XCTAssertEqual(entry.totalIterations, 30)
        XCTAssertEqual(entry.evaluations, 1)
        XCTAssertEqual(try XCTUnwrap(entry.bestMIoU), SegmentationMetrics(matrix).mIoU, accuracy: 1e-12)
        XCTAssertNil(entry.problem)
        XCTAssertThrowsError(try RunArchive.savedEvaluation(runDirectory: run.url)) { error in
            XCTAssertTrue("\(error)".contains("predictions/index.json is missing"), "\(error)")
        }
    }
}
