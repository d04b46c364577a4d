import Datasets
import Foundation
import TestSupport
import EngineProtocol
@testable import TUI
import XCTest

/// A past run's compare view shows the predictions saved with its latest evaluation.
final class SavedPredictionsTests: XCTestCase {
    /// A tiny real run made by the CLI: 2 validation images, evaluations at iterations 2 and 4.
    func makeRun() throws -> URL {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-saved-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: work) }
        let demo = work.appendingPathComponent("demo"), runs = work.appendingPathComponent("runs")
        let made = try CLI.run(["data", "demo", "--out", demo.path, "--train", "4", "--val", "2"])
        XCTAssertEqual(made.status, 0, made.stderr)
        let trained = try CLI.run(["train", "--data", demo.path, "--model", "xunet", "--iterations", "4", "--batch", "2",
                                   "--crop", "32", "--threads", "1", "--runs-dir", runs.path, "--set", "eval_interval=2",
                                   "--events", "jsonl"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let dirs = try FileManager.default.contentsOfDirectory(at: runs, includingPropertiesForKeys: nil)
        return try XCTUnwrap(dirs.first, "no run directory under \(runs.path)")
    }

    func testPastRunComparesTheSavedPredictionsOfItsLatestEvaluation() throws {
        let run = try makeRun()
        let index = try JSONDecoder().decode(PredictionIndex.self,
                                             from: Data(contentsOf: run.appendingPathComponent("predictions/index.json")))
        let latest = try XCTUnwrap(index.evaluations.last?.iteration)
        XCTAssertEqual(latest, 4)
        let (runtime, driver) = try openCompare(run, columns: 120, rows: 32)
        let text = driver.screen.text
        guard case .loaded(let saved)? = runtime.state.compare.saved else {
            return XCTFail("saved predictions not read: \(String(describing: runtime.state.compare.saved))\n\(text)")
        }
        XCTAssertEqual(saved.iteration, latest)
        XCTAssertEqual(Set(App.gallery(runtime.state).map(\.id)), Set(index.samples), "the gallery is the saved ids")
        XCTAssertEqual(App.gallery(runtime.state).map(\.id), ImageScore.rankedWorstFirst(saved.scores).map(\.id))
        XCTAssertTrue(driver.screen.line(0).contains("saved predictions · latest eval at it \(latest)"), driver.screen.line(0))
        for id in index.samples { XCTAssertTrue(text.contains(id), "gallery lacks \(id):\n\(text)") }
        XCTAssertTrue(text.contains("Worst first (\(index.samples.count))"), text)
        XCTAssertTrue(text.contains("predicted at it \(latest)"), "the saved mask is shown:\n\(text)")
        XCTAssertTrue(text.contains("errors"), text)
        let shown = try XCTUnwrap(App.compareSelectedID(runtime.state))
        let mask = try XCTUnwrap(runtime.state.cockpit.history.predictions[shown]?.prediction)
        guard case .loaded(let sample)? = runtime.state.compare.slot(for: shown) else {
            return XCTFail("the run's dataset was not read:\n\(text)")
        }
        XCTAssertEqual([mask.width, mask.height], [sample.label.width, sample.label.height], "the PNG is the image's size")
    }

    func testDamagedOrMissingPredictionsAreAMessageInTheComparePane() throws {
        let run = try makeRun()
        let indexURL = run.appendingPathComponent("predictions/index.json")
        try Data("{\"samples\": [".utf8).write(to: indexURL)
        var (runtime, driver) = try openCompare(run, columns: 120, rows: 32)
        XCTAssertTrue(App.gallery(runtime.state).isEmpty)
        XCTAssertTrue(driver.screen.text.contains("cannot show this run's saved predictions"), driver.screen.text)
        XCTAssertTrue(driver.screen.text.contains("damaged"), driver.screen.text)
        XCTAssertEqual(App.update(runtime.state, .key(.down)).1, [], "keys on an empty gallery do nothing")

        try FileManager.default.removeItem(at: run.appendingPathComponent("predictions"))
        (runtime, driver) = try openCompare(run, columns: 120, rows: 32)
        XCTAssertTrue(driver.screen.text.contains("no saved predictions"), driver.screen.text)
    }
}
