import Datasets
import Foundation
import Models
import NN
import TestSupport
import XCTest
@testable import Training

/// Issue #16: evaluation skips unreadable samples (named and counted) as training does, instead
/// of failing the run at its first evaluation.
final class EvaluationSkipTests: XCTestCase {
    override func setUp() { Threads.set(2) }

    func testUnreadableValidationSamplesAreSkippedAndNamed() throws {
        let work = try makeTemporaryDirectory("eval-skip")
        defer { try? FileManager.default.removeItem(at: work) }
        let (root, problems) = try CorruptFixtures.voc(in: work)
        let dataset = try DatasetLoader.open(root)
        let ids = try dataset.ids(split: "trainval")
        let spec = try ModelRegistry.spec(named: "xunet")
        let predictor = Predictor(network: try spec.build(ModelOptions(classes: 21)), sizeMultiple: spec.sizeMultiple,
                                  config: TrainingConfig())
        let result = try predictor.evaluate(dataset, ids: ids, keeping: 2)
        XCTAssertEqual(Set(result.imageScores.map(\.id)), Set(CorruptFixtures.loadable))
        XCTAssertEqual(result.samples.map(\.id), result.imageScores.map(\.id))
        let failing = problems.filter { !CorruptFixtures.loadable.contains($0.id) }
        XCTAssertEqual(result.skipped.count, failing.count, "\(result.skipped)")
        for problem in failing {
            let line = try XCTUnwrap(result.skipped.first { $0.hasPrefix(problem.id + ":") }, problem.id)
            XCTAssertTrue(line.contains(problem.mustMention[0]), line)
        }
        let summary = try XCTUnwrap(result.skippedSummary)
        XCTAssertTrue(summary.contains("skipped \(failing.count) of \(ids.count) images"), summary)

        // Nothing readable at all is an error naming what failed.
        XCTAssertThrowsError(try predictor.evaluate(dataset, ids: failing.map(\.id))) { error in
            XCTAssertTrue("\(error)".contains("2007_000032"), "\(error)")
        }
    }
}
