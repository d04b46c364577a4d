import Datasets
import EngineProtocol
import Foundation
import TestSupport
import Training
@testable import TUI
import XCTest

/// A past run's compare view switches between the predictions saved with its latest and its
/// best evaluation (`b`) and steps through the kept ones (`[` / `]`).
final class CompareSavedEvaluationsTests: XCTestCase {
    static let ids = ["2007_000032", "2007_000033", "2007_000039", "2007_000042"]

    /// A run directory as training leaves it: config.toml, metrics.jsonl with evaluations at
    /// `evaluations` (iteration, pooled mIoU), and their sample predictions — the fixtures' true
    /// masks shifted right by a different amount per evaluation, so each looks different.
    /// `saving`: the ids whose masks are saved; `scored`: (mIoU, accuracy) per id written as the
    /// evaluations' samples.json (nil: none, as runs before D-188).
    func writeRun(_ evaluations: [(iteration: Int, mIoU: Double, shift: Int)], saving: [String] = ids,
                  scored: [String: (Double, Double)]? = nil) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-saved-evals-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        let dir = root.appendingPathComponent("20261121-170000-xunet")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try EngineScript.config().save(to: dir.appendingPathComponent("config.toml"), header: "test run")
        let last = evaluations.map(\.iteration).max() ?? 0
        var lines: [String] = []
        for it in 1...last {
            lines.append(try MessageCoding.jsonLine(EngineScript.step(it)))
            if let e = evaluations.first(where: { $0.iteration == it }) {
                lines.append(try MessageCoding.jsonLine(EngineScript.evaluation(it, quality: e.mIoU)))
            }
        }
        try (lines.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)

        let voc = try DatasetLoader.open(Fixtures.voc, format: .voc)
        let run = try RunDirectory(existing: dir)
        var best = -1.0
        for e in evaluations {
            var samples: [EvaluatedSample] = []
            for id in saving {
                let sample = try voc.sample(id: id)
                guard case .samplePrediction(let p) = try CompareTests.shiftedPrediction(id, shift: e.shift, iteration: e.iteration) else {
                    throw MessageError("no prediction for \(id)")
                }
                samples.append(EvaluatedSample(id: id, image: sample.image, truth: sample.label, prediction: p.prediction, score: p.score))
            }
            let isBest = e.mIoU > best
            if isBest { best = e.mIoU }
            let metrics = scored.map { figures in
                SampleMetricsFile(iteration: e.iteration, epoch: (e.iteration - 1) / 20 + 1, split: "val", classNames: EngineScript.vocClasses,
                                  samples: Self.ids.compactMap { id in
                                      figures[id].map { SampleMetrics(id: id, mIoU: $0.0, pixelAccuracy: $0.1, pixels: 1000, labelQuality: 0.5) }
                                  })
            }
            try run.writePredictions(samples, iteration: e.iteration, epoch: (e.iteration - 1) / 20 + 1, split: "val",
                                     mIoU: e.mIoU, isBest: isBest, metrics: metrics)
        }
        return dir
    }

    func press(_ runtime: AppRuntime, _ key: Key) {
        runtime.send([.key(key)])
        settle(runtime)
    }

    func shown(_ runtime: AppRuntime) -> Int? {
        guard case .loaded(let e)? = runtime.state.compare.saved else { return nil }
        return e.iteration
    }

    func testBestAndLatestEvaluationsWithGoldens() throws {
        let run = try writeRun([(20, 0.5, 40), (40, 0.8, 4), (60, 0.6, 16)])
        let (runtime, driver) = try openCompare(run)
        XCTAssertEqual(shown(runtime), 60)
        XCTAssertTrue(driver.screen.line(0).contains("saved predictions · latest eval at it 60 · mIoU 0.600 · epoch 3"), driver.screen.line(0))
        XCTAssertTrue(driver.screen.text.contains("predicted at it 60"), driver.screen.text)
        let footer = driver.screen.line(driver.rows - 1)
        XCTAssertTrue(footer.contains("b best/latest") && footer.contains("q quit"), footer)
        assertGolden(driver.screen.text, named: "compare-saved-latest-100x30")
        runtime.send([.key(.down)])
        let selected = try XCTUnwrap(App.compareSelectedID(runtime.state))

        press(runtime, .char("b"))
        XCTAssertEqual(shown(runtime), 40)
        XCTAssertTrue(driver.screen.line(0).contains("saved predictions · best eval at it 40 · mIoU 0.800 · epoch 2"), driver.screen.line(0))
        XCTAssertTrue(driver.screen.text.contains("predicted at it 40"), driver.screen.text)
        XCTAssertFalse(driver.screen.text.contains("before the latest evaluation"), driver.screen.text)
        XCTAssertEqual(App.compareSelectedID(runtime.state), selected, "the image shown stays when the evaluation changes")
        XCTAssertEqual(runtime.state.cockpit.history.predictions[selected]?.iteration, 40)
        assertGolden(driver.screen.text, named: "compare-saved-best-100x30")

        press(runtime, .char("b"))
        XCTAssertEqual(shown(runtime), 60, "b again: back to the latest")

        // [ and ] step through the kept evaluations.
        press(runtime, .char("["))
        XCTAssertEqual(shown(runtime), 40)
        press(runtime, .char("["))
        XCTAssertEqual(shown(runtime), 20)
        XCTAssertTrue(driver.screen.line(0).contains("eval 1 of 3 at it 20 · mIoU 0.500 · epoch 1"), driver.screen.line(0))
        press(runtime, .char("["))
        XCTAssertEqual(shown(runtime), 20)
        XCTAssertEqual(runtime.state.cockpit.notice, "the oldest kept evaluation is shown")
        press(runtime, .char("b"))
        XCTAssertEqual(shown(runtime), 40, "b from an older evaluation goes to the best")
        press(runtime, .char("]"))
        press(runtime, .char("]"))
        XCTAssertEqual(shown(runtime), 60)
        XCTAssertEqual(runtime.state.cockpit.notice, "the latest evaluation is shown")

        runtime.send([.key(.char("?"))])
        assertGolden(driver.screen.text, named: "compare-saved-help-100x30")
        let help = driver.screen.text
        XCTAssertTrue(help.contains("the best evaluation (highest val"), help)
        XCTAssertTrue(help.contains("[ ]"), help)
    }

    /// Worst first on a past run ranks every sample its evaluation scored (samples.json), not
    /// only the few whose masks it saved; those without a mask show their figures and say so.
    func testWorstFirstRanksEveryScoredSampleNotOnlyTheSavedOnes() throws {
        let run = try writeRun([(20, 0.5, 40)], saving: ["2007_000032", "2007_000033"],
                               scored: ["2007_000032": (0.7, 0.95), "2007_000033": (0.6, 0.93), "2007_000039": (0.2, 0.9),
                                        "2007_000042": (0.4, 0.8)])
        let (runtime, driver) = try openCompare(run)
        XCTAssertEqual(App.gallery(runtime.state).map(\.id), ["2007_000039", "2007_000042", "2007_000033", "2007_000032"])
        var text = driver.screen.text
        XCTAssertTrue(text.contains("Worst first (4)"), text)
        XCTAssertTrue(text.contains("2007_000039 · mIoU 0.200 · acc 0.900 · no saved mask"), text)
        XCTAssertTrue(text.contains("mask not saved (the run keeps 2)"), text)
        assertGolden(text, named: "compare-saved-all-scored-100x30")
        press(runtime, .down)
        press(runtime, .down)
        XCTAssertEqual(App.compareSelectedID(runtime.state), "2007_000033")
        text = driver.screen.text
        XCTAssertTrue(text.contains("2007_000033 · mIoU"), text)
        XCTAssertTrue(text.contains("predicted at it 20"), "a saved one shows its mask:\n\(text)")

        // A damaged samples.json: the saved images are ranked, and the log says why.
        try Data("{\"version\": 1, \"samp".utf8).write(to: run.appendingPathComponent("predictions/000020/samples.json"))
        let (again, _) = try openCompare(run)
        XCTAssertEqual(App.gallery(again.state).map(\.id).sorted(), ["2007_000032", "2007_000033"])
        XCTAssertTrue(again.state.cockpit.history.log.contains { $0.text.contains("samples.json") && $0.text.contains("saved images only") },
                      "\(again.state.cockpit.history.log.map(\.text))")
    }

    /// At 160 columns the optional footer entries (`a all`, `[ ] eval`) have room.
    func testBestEvaluationGolden160x48() throws {
        let run = try writeRun([(20, 0.5, 40), (40, 0.8, 4), (60, 0.6, 16)])
        let (runtime, driver) = try openCompare(run, columns: 160, rows: 48)
        press(runtime, .char("b"))
        XCTAssertEqual(shown(runtime), 40)
        let footer = driver.screen.line(driver.rows - 1)
        for wanted in ["a all", "b best/latest", "[ ] eval", "? help", "q quit"] {
            XCTAssertTrue(footer.contains(wanted), "footer lacks \(wanted): \(footer)")
        }
        assertGolden(driver.screen.text, named: "compare-saved-best-160x48")
    }

    func testLatestThatIsBestSaysSoAndBIsOff() throws {
        let run = try writeRun([(20, 0.5, 40), (40, 0.8, 4)])
        let (runtime, driver) = try openCompare(run)
        XCTAssertTrue(driver.screen.line(0).contains("latest eval at it 40 (best) · mIoU 0.800"), driver.screen.line(0))
        let (after, commands) = App.update(runtime.state, .key(.char("b")))
        XCTAssertEqual(commands, [])
        XCTAssertEqual(after.cockpit.notice, "b: the latest evaluation is also the best")
        press(runtime, .char("["))
        XCTAssertTrue(driver.screen.line(0).contains("eval 1 of 2 at it 20"), driver.screen.line(0))
        press(runtime, .char("b"))
        XCTAssertEqual(shown(runtime), 40, "b from an older evaluation goes to the best (here also the latest)")
    }

    func testOneKeptEvaluationAndLiveRunsHaveTheKeysOff() throws {
        let run = try writeRun([(20, 0.5, 40)])
        let (runtime, _) = try openCompare(run)
        for key in [Key.char("b"), .char("["), .char("]")] {
            let (after, commands) = App.update(runtime.state, .key(key))
            XCTAssertEqual(commands, [])
            XCTAssertTrue(after.cockpit.notice?.contains("the run kept the predictions of one evaluation only") ?? false,
                          "\(String(describing: after.cockpit.notice))")
        }
        let (live, _, _) = try CockpitHarness.make(events: EngineScript.twoEpochs())
        live.send([.key(.tab)])
        XCTAssertEqual(live.state.screen, .compare)
        let (after, commands) = App.update(live.state, .key(.char("b")))
        XCTAssertEqual(commands, [])
        XCTAssertEqual(after.cockpit.notice, "b: only on a past run (a live run predicts with its current weights)")
    }

    /// An evaluation whose folder went away after the index was read (a run still pruning):
    /// the one shown stays and the footer says what failed.
    func testAMissingFolderKeepsTheShownEvaluation() throws {
        let run = try writeRun([(20, 0.5, 40), (40, 0.8, 4), (60, 0.6, 16)])
        let (runtime, _) = try openCompare(run)
        try FileManager.default.removeItem(at: run.appendingPathComponent("predictions/000040"))
        press(runtime, .char("b"))
        XCTAssertEqual(shown(runtime), 60)
        let notice = try XCTUnwrap(runtime.state.cockpit.notice)
        XCTAssertTrue(notice.contains("000040"), notice)
        XCTAssertNil(runtime.state.compare.savedTarget)
        press(runtime, .char("["))
        XCTAssertEqual(shown(runtime), 60, "still the latest: 40 cannot be read")
    }
}
