import Datasets
import Foundation
import TestSupport
import EngineProtocol
@testable import TUI
import XCTest

final class CompareTests: XCTestCase {
    /// A "prediction" for a fixture sample: its true mask shifted right by `shift` pixels, with
    /// void pixels predicted as background.
    static func shiftedPrediction(_ id: String, shift: Int, iteration: Int) throws -> EngineEvent {
        let voc = try DatasetLoader.open(Fixtures.voc, format: .voc)
        let truth = try voc.sample(id: id).label
        var p = LabelMap(width: truth.width, height: truth.height)
        for y in 0..<truth.height {
            for x in 0..<truth.width {
                let v = truth[max(0, x - shift), y]
                p[x, y] = v == LabelMap.void ? 0 : v
            }
        }
        let score = ImageScore(id: id, truth: truth.values, prediction: p.values, classCount: EngineScript.vocClasses.count)
        return .samplePrediction(SamplePrediction(sampleID: id, iteration: iteration, prediction: p, score: score))
    }

    func openCompare(columns: Int = 100, rows: Int = 30) throws -> (AppRuntime, HeadlessDriver, EngineLink) {
        let (runtime, driver, link) = try CockpitHarness.make(columns: columns, rows: rows, events: EngineScript.twoEpochs())
        _ = CockpitHarness.sent(link)
        runtime.send([.key(.tab)])
        XCTAssertEqual(runtime.state.screen, .compare)
        return (runtime, driver, link)
    }

    func testGalleryIsWorstFirstAndAsksForThePrediction() throws {
        let (runtime, driver, link) = try openCompare()
        let ids = App.gallery(runtime.state).map(\.id)
        // Scores of the script at quality 0.72: i = 0…3 → 0.72, 0.67, 0.62, 0.87.
        XCTAssertEqual(ids, ["2007_000039", "2007_000033", "2007_000032", "2007_000042"])
        XCTAssertEqual(CockpitHarness.sent(link), [.predict(sampleID: "2007_000039")])
        XCTAssertTrue(driver.screen.text.contains("▸2007_000039"), driver.screen.text)
        XCTAssertTrue(driver.screen.text.contains("predicting…"), driver.screen.text)
    }

    func testCompareGolden100x30() throws {
        let (runtime, driver, _) = try openCompare()
        runtime.dispatch(.cockpit(.engine(try Self.shiftedPrediction("2007_000039", shift: 12, iteration: 46))))
        runtime.send([])
        assertGolden(driver.screen.text, named: "compare-100x30")
    }

    func testCompareGolden160x48() throws {
        let (runtime, driver, _) = try openCompare(columns: 160, rows: 48)
        runtime.dispatch(.cockpit(.engine(try Self.shiftedPrediction("2007_000039", shift: 12, iteration: 46))))
        runtime.send([])
        assertGolden(driver.screen.text, named: "compare-160x48")
    }

    func testErrorMapColoursCorrectWrongAndIgnoredPixelsApart() throws {
        let truth = LabelMap(width: 4, height: 1, values: [0, 1, 255, 2])
        let prediction = LabelMap(width: 4, height: 1, values: [0, 2, 1, 2])
        XCTAssertEqual(CompareMath.errorMap(truth: truth, prediction: prediction)?.values, [0, 1, 2, 0])
        XCTAssertNil(CompareMath.errorMap(truth: truth, prediction: LabelMap(width: 2, height: 1)))
        let palette = App.errorPalette(Styles(theme: Theme.builtinDefault, depth: .direct))
        XCTAssertEqual(Set(palette.map { "\($0.r),\($0.g),\($0.b)" }).count, 3, "three distinct colours")
        // Pooling keeps thin error bands: 1 wrong pixel in 4 labelled ones marks the target pixel wrong.
        let errors = LabelMap(width: 4, height: 2, values: [0, 0, 1, 0,
                                                           2, 2, 0, 0])
        XCTAssertEqual(CompareMath.poolErrors(errors, width: 2, height: 1).values, [0, 1])
        XCTAssertEqual(CompareMath.poolErrors(LabelMap(width: 2, height: 2, fill: 2), width: 1, height: 1).values, [2])
        let ious = CompareMath.classIoU(truth: truth, prediction: prediction, classCount: 3)
        XCTAssertEqual(ious.map(\.0), [0, 1, 2])
        XCTAssertEqual(ious[2].1, 0.5, accuracy: 1e-12)
    }

    func testPredictionPaneShowsPerImageScoresAndErrors() throws {
        let (runtime, driver, _) = try openCompare()
        let event = try Self.shiftedPrediction("2007_000039", shift: 12, iteration: 46)
        runtime.dispatch(.cockpit(.engine(event)))
        runtime.send([])
        runtime.send([])
        guard case .samplePrediction(let p) = event else { return XCTFail() }
        let screen = driver.screen.text
        XCTAssertTrue(screen.contains(String(format: "mIoU %.3f · acc %.3f · predicted at it 46", p.score.mIoU, p.score.pixelAccuracy)), screen)
        XCTAssertTrue(screen.contains("errors"), screen)
        XCTAssertTrue(screen.contains("wrong"), screen)
        XCTAssertLessThan(p.score.pixelAccuracy, 1, "a shifted mask is not perfect")
        // The error pane (the rightmost quarter of the panes) shows the correct and the wrong colour.
        let palette = App.errorPalette(runtime.state.styles).map { TermColor($0) }
        let layout = CompareLayout(columns: driver.columns, rows: driver.rows)
        var seen = Set<Int>()
        for y in layout.panes.y..<layout.panes.maxY {
            for x in (layout.panes.maxX - layout.panes.width / 4)..<layout.panes.maxX {
                let cell = driver.screen[x, y]
                guard cell.char == Cell.upperHalf else { continue }
                for (k, color) in palette.enumerated() where cell.style.fg == color || cell.style.bg == color { seen.insert(k) }
            }
        }
        XCTAssertTrue(seen.contains(0) && seen.contains(1), "correct and wrong pixels are drawn: \(seen)")
        XCTAssertGreaterThan(p.score.pixelAccuracy, 0.5)
    }

    func testClassTogglesAndOpacity() throws {
        let (runtime, driver, _) = try openCompare()
        runtime.dispatch(.cockpit(.engine(try Self.shiftedPrediction("2007_000039", shift: 12, iteration: 46))))
        runtime.send([])
        let before = driver.screen
        runtime.send([.key(.right), .key(.char(" "))])
        XCTAssertEqual(runtime.state.compare.hidden, [20], "→ moves to the image's second class (tvmonitor)")
        XCTAssertTrue(driver.screen.text.contains("[ ]"), driver.screen.text)
        runtime.send([.key(.char("a"))])
        XCTAssertEqual(runtime.state.compare.hidden, [])
        runtime.send([.key(.char("o"))])
        XCTAssertEqual(runtime.state.compare.opacity, 0.25)
        XCTAssertTrue(driver.screen.text.contains("mask opacity 25%"))
        XCTAssertNotEqual(driver.screen.cells, before.cells, "the truth pane blends the image in")
    }

    func testANewEvaluationRefreshesTheShownPrediction() throws {
        let (runtime, _, link) = try openCompare()
        _ = CockpitHarness.sent(link)
        runtime.dispatch(.cockpit(.engine(try Self.shiftedPrediction("2007_000039", shift: 12, iteration: 46))))
        runtime.send([.key(.down), .key(.up)])
        XCTAssertEqual(CockpitHarness.sent(link), [.predict(sampleID: "2007_000033")], "a fresh prediction is not asked again")
        runtime.dispatch(.cockpit(.engine(EngineScript.evaluation(60, quality: 0.8))))
        runtime.send([])
        XCTAssertEqual(CockpitHarness.sent(link), [.predict(sampleID: "2007_000039")], "a new evaluation re-predicts the shown image")
    }

    func testCompareIsOffUntilTheFirstEvaluation() throws {
        let (runtime, driver, _) = try CockpitHarness.make(events: [.runStarted(EngineScript.started()), EngineScript.step(1)])
        runtime.send([.key(.tab)])
        XCTAssertEqual(runtime.state.screen, .cockpit)
        XCTAssertTrue(driver.screen.line(driver.rows - 1).contains("no evaluation yet"), driver.screen.line(driver.rows - 1))
    }
}
