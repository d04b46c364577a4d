import Datasets
@testable import EngineProtocol
import Foundation
import TestSupport
@testable import TUI
import XCTest

/// Issue #17: once a live run has finished the engine predicts no more; the compare view reads
/// the predictions the run saved instead of saying "the run is not active" for every image.
final class CompareAfterRunTests: XCTestCase {
    func testAFinishedRunsCompareReadsItsSavedPredictions() throws {
        let (runtime, driver, link) = try CockpitHarness.make(columns: 100, rows: 30, events: EngineScript.twoEpochs())
        _ = CockpitHarness.sent(link)
        runtime.send([.key(.tab)])
        XCTAssertEqual(runtime.state.screen, .compare)
        let directory = try XCTUnwrap(runtime.state.cockpit.history.started?.runDirectory)
        runtime.dispatch(.cockpit(.engine(.state(.stopping))))
        runtime.dispatch(.cockpit(.engine(.finished(RunSummary(reason: .completed, iterations: 46, epochs: 2, bestMIoU: 0.5,
                                                               bestIteration: 46, lastMIoU: 0.5, seconds: 9,
                                                               runDirectory: directory)))))
        runtime.dispatch(.cockpit(.engine(.state(.idle))))
        runtime.send([])
        XCTAssertFalse(driver.screen.text.contains("the run is not active"), driver.screen.text)
        XCTAssertNotNil(runtime.state.compare.saved, "the saved predictions were asked for")

        // What the run saved arrives: the image shown gets its saved prediction.
        let shown = try XCTUnwrap(App.compareSelectedID(runtime.state))
        guard case .samplePrediction(let p) = try CompareTests.shiftedPrediction(shown, shift: 4, iteration: 46) else { return XCTFail() }
        let saved = SavedEvaluation(runDirectory: directory, iteration: 46, epoch: 2, mIoU: 0.5, isBest: true, scores: [p.score],
                                    predictions: [p], problems: [])
        var state = runtime.state
        _ = App.compareSavedArrived(directory, .success(saved), &state)
        XCTAssertEqual(state.cockpit.history.predictions[shown]?.iteration, 46)
        XCTAssertEqual(App.gallery(state).count, App.gallery(runtime.state).count, "the gallery stays the last evaluation's")

        // A damaged run directory says why.
        var failed = runtime.state
        _ = App.compareSavedArrived(directory, .failure(MessageError("no saved predictions: x/predictions/index.json is missing")), &failed)
        guard case .failed(let why)? = failed.compare.saved else { return XCTFail("\(String(describing: failed.compare.saved))") }
        XCTAssertTrue(why.contains("index.json"), why)
    }
}
