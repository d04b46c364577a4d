import Datasets
import EngineProtocol
import Foundation
import TestSupport
@testable import TUI
import XCTest

final class SampleQueryTests: XCTestCase {
    let names = ["background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
                 "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"]

    /// A scanned sample whose labelled pixels are split as `shares` (class → pixels), plus void.
    func info(_ id: String, _ pixels: [Int: Int], void: Int = 0) -> SampleInfo {
        var counts = [Int](repeating: 0, count: 256)
        for (k, v) in pixels { counts[k] = v }
        counts[255] = void
        return SampleInfo(id: id, width: 10, height: 10, counts: counts)
    }

    func objectClasses(_ info: SampleInfo) -> [String] {
        (1..<names.count).filter { info.counts[$0] > 0 }.map { names[$0] }
    }

    func select(_ query: String, _ samples: [SampleInfo]) throws -> [String] {
        let q = try SampleQuery.parse(query, classNames: names)
        return samples.filter { q.matches(id: $0.id, info: $0, objectClasses: objectClasses($0)) }.map(\.id)
    }

    lazy var samples = [
        info("a-dog-sheep", [0: 50, 12: 30, 17: 20]),
        info("b-dog", [0: 90, 12: 10]),
        info("c-sheep-person", [0: 40, 17: 10, 15: 50]),
        info("d-cat", [0: 70, 8: 30], void: 100),
        info("2008_e-person", [0: 95, 15: 5]),
    ]

    func testWordsAreANDedAndOrAndNotCombine() throws {
        XCTAssertEqual(try select("dog sheep", samples), ["a-dog-sheep"])  // was: substring "dog sheep", nothing
        XCTAssertEqual(try select("dog and sheep", samples), ["a-dog-sheep"])
        XCTAssertEqual(try select("dog | cat", samples), ["a-dog-sheep", "b-dog", "d-cat"])
        XCTAssertEqual(try select("sheep !person", samples), ["a-dog-sheep"])
        XCTAssertEqual(try select("not person -dog", samples), ["d-cat"])
        XCTAssertEqual(try select("(dog | cat) !sheep", samples), ["b-dog", "d-cat"])
        XCTAssertEqual(try select("pers", samples), ["c-sheep-person", "2008_e-person"])  // class prefix, as before
        XCTAssertEqual(try select("id:2008", samples), ["2008_e-person"])
        XCTAssertEqual(try select("", samples).count, 5)
    }

    func testPixelShareThresholds() throws {
        XCTAssertEqual(try select("person>20%", samples), ["c-sheep-person"])
        XCTAssertEqual(try select("person>=5%", samples), ["c-sheep-person", "2008_e-person"])
        XCTAssertEqual(try select("dog<0.2 dog", samples), ["b-dog"])     // 0.2 = 20%; dog present
        XCTAssertEqual(try select("background>80", samples), ["b-dog", "2008_e-person"])  // >1 reads as percent
        // Void is not a labelled pixel: d-cat is 30% cat, not 15%.
        XCTAssertEqual(try select("cat=30%", samples), ["d-cat"])
        XCTAssertEqual(try select("tv<=0%", samples).count, 5)  // unique prefix tv → tvmonitor
    }

    func testBadQueriesSayWhatIsWrong() {
        func message(_ q: String) -> String {
            do { _ = try SampleQuery.parse(q, classNames: names); return "parsed" } catch { return "\(error)" }
        }
        XCTAssertEqual(message("zebra>10%"), "no class named “zebra” (classes: background, aeroplane, bicycle, bird, boat, bottle, bus, car, …)")
        XCTAssertEqual(message("bo>10%"), "“bo” could be boat or bottle")
        XCTAssertEqual(message("person>lots"), "“person>lots”: expected a share after >, e.g. person>20%")
        XCTAssertEqual(message("person>150%"), "“person>150%”: a share is at most 100%")
        XCTAssertEqual(message("(dog | cat"), "missing “)”")
        XCTAssertEqual(message("dog)"), "unmatched “)”")
        XCTAssertEqual(message("dog |"), "“or” needs something after it")
        XCTAssertEqual(message("!"), "“!” needs a class or word after it")
    }

    /// Per-sample figures (D-188) in queries: iou / acc / lq thresholds combine with class terms;
    /// a figure term is false on a sample without that figure.
    func testFigureTermsCombineWithClassTermsAndAreFalseWhenUnscored() throws {
        let figures: [String: SampleMetrics] = [
            "a-dog-sheep": SampleMetrics(id: "a-dog-sheep", mIoU: 0.25, pixelAccuracy: 0.95, pixels: 100, labelQuality: 0.8),
            "b-dog": SampleMetrics(id: "b-dog", mIoU: 0.6, pixelAccuracy: 0.9, pixels: 100, labelQuality: 0.1),
            "c-sheep-person": SampleMetrics(id: "c-sheep-person", mIoU: .nan, pixelAccuracy: 0.5, pixels: 0, labelQuality: .nan),
            // d-cat and 2008_e-person: not scored.
        ]
        func select(_ query: String) throws -> [String] {
            let q = try SampleQuery.parse(query, classNames: names)
            return samples.filter { q.matches(id: $0.id, info: $0, objectClasses: objectClasses($0), metrics: figures[$0.id]) }.map(\.id)
        }
        XCTAssertEqual(try select("iou<0.3"), ["a-dog-sheep"])
        XCTAssertEqual(try select("iou<30%"), ["a-dog-sheep"], "30% is 0.3")
        XCTAssertEqual(try select("IoU<30"), ["a-dog-sheep"], "above 1 reads as percent, any case")
        XCTAssertEqual(try select("acc>=0.9"), ["a-dog-sheep", "b-dog"])
        XCTAssertEqual(try select("accuracy>0.9"), ["a-dog-sheep"])
        XCTAssertEqual(try select("lq<0.2"), ["b-dog"])
        XCTAssertEqual(try select("iou<0.3 | lq<0.2"), ["a-dog-sheep", "b-dog"])
        XCTAssertEqual(try select("dog acc>=0.9 !sheep"), ["b-dog"])
        XCTAssertEqual(try select("sheep>=10% iou<=0.5"), ["a-dog-sheep"], "share and figure thresholds together")
        XCTAssertEqual(try select("acc<0.6"), ["c-sheep-person"])
        XCTAssertEqual(try select("iou>=0"), ["a-dog-sheep", "b-dog"], "an undefined IoU (NaN) is no figure")
        XCTAssertEqual(try select("!iou<0.3"), ["b-dog", "c-sheep-person", "d-cat", "2008_e-person"],
                       "the term is false when unscored, so its negation holds")
        XCTAssertEqual(try SampleQuery.parse("(iou<0.3 | dog) !lq>0.5", classNames: names).figures, [.iou, .lq])
        XCTAssertEqual(try SampleQuery.parse("dog person>2%", classNames: names).figures, [])
        XCTAssertEqual(try SampleQuery.parse("iou", classNames: names), .word("iou"), "without a comparison, a word as always")
        // Without figures (no v), every figure term is false.
        let q = try SampleQuery.parse("acc>=0", classNames: names)
        XCTAssertFalse(samples.contains { q.matches(id: $0.id, info: $0, objectClasses: objectClasses($0)) })
    }

    func testBadFigureNumbersNameTheTerm() {
        func message(_ q: String) -> String {
            do { _ = try SampleQuery.parse(q, classNames: names); return "parsed" } catch { return "\(error)" }
        }
        XCTAssertEqual(message("iou<abc"), "“iou<abc”: expected a number after <, e.g. iou<0.3")
        XCTAssertEqual(message("dog acc>=nine"), "“acc>=nine”: expected a number after >=, e.g. acc>=0.3")
        XCTAssertEqual(message("lq<"), "“lq<”: expected a number after <, e.g. lq<0.3")
        XCTAssertEqual(message("iou<-0.2"), "“iou<-0.2”: expected a number after <, e.g. iou<0.3")
        XCTAssertEqual(message("quality>150%"), "“quality>150%”: label quality is at most 1 (100%)")
        XCTAssertEqual(message("<0.3"), "“<0.3”: a class name or iou / acc / lq goes before <")
    }

    /// The unscored note the footer shows: counts the samples lacking a compared figure.
    func testUnscoredNoteCountsSamplesWithoutTheFigure() {
        let file = SampleMetricsFile(iteration: 1, epoch: 1, split: "val", classNames: ["bg", "x"], samples: [
            SampleMetrics(id: "a", mIoU: 0.2, pixelAccuracy: 0.5, pixels: 1, labelQuality: .nan),
            SampleMetrics(id: "b", mIoU: 0.4, pixelAccuracy: 0.5, pixels: 1, labelQuality: 0.3),
        ])
        let m = BrowserMetrics(run: "r", file: file)
        let ids = ["a", "b", "c"]
        XCTAssertNil(BrowserState.unscoredNote([], ids: ids, metrics: m, split: "val"))
        XCTAssertEqual(BrowserState.unscoredNote([.iou], ids: ids, metrics: m, split: "val"), "1 unscored: iou terms false")
        XCTAssertEqual(BrowserState.unscoredNote([.lq, .iou], ids: ids, metrics: m, split: "val"), "2 unscored: iou / lq terms false")
        XCTAssertEqual(BrowserState.unscoredNote([.acc], ids: ids, metrics: m, split: "train"),
                       "1 unscored: acc terms false (scored: val)")
        XCTAssertNil(BrowserState.unscoredNote([.acc], ids: ["a", "b"], metrics: m, split: "val"))
        XCTAssertEqual(BrowserState.unscoredNote([.acc], ids: ids, metrics: nil, split: "val"),
                       "no sample scored: acc terms false (v loads an evaluation)")
    }

    /// The browser: `/` with a query on the VOC fixtures, and a bad query's message in the list.
    func testBrowserFiltersWithTheQueryLanguage() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Fixtures.voc.path), "fixtures not found")
        let dataset = try DatasetLoader.open(Fixtures.voc)
        let driver = HeadlessDriver(columns: 100, rows: 30)
        var browser = BrowserState(dataset: dataset)
        browser.datasetName = "Pascal VOC (fixtures/voc)"
        browser.splitIndex = browser.splits.firstIndex(of: "trainval") ?? 0
        let state = AppState(columns: 100, rows: 30, depth: .direct, theme: try Theme.load(nil, depth: .direct), browser: browser)
        let runtime = AppRuntime(state: state, driver: driver, performer: DatasetPerformer(dataset: dataset))
        runtime.start()
        XCTAssertTrue(runtime.waitUntilIdle())
        func type(_ text: String) { runtime.send(text.unicodeScalars.map { .key(.char($0)) }) }
        type("/aeroplane !person")
        runtime.send([.key(.enter)])
        assertGolden(driver.screen.text, named: "voc-query-100x30")
        XCTAssertTrue(driver.screen.text.contains("▸2007_000033"), driver.screen.text)
        XCTAssertFalse(driver.screen.text.contains("2007_000032 500"), driver.screen.text)
        runtime.send([.key(.escape)])
        type("/person>90%")
        assertGolden(driver.screen.text, named: "voc-query-error-100x30")
        XCTAssertTrue(driver.screen.text.contains("no sample matches"), driver.screen.text)
        runtime.send([.key(.escape)])
        type("/bo>1")
        XCTAssertTrue(driver.screen.text.contains("filter: “bo” could be boat or"), driver.screen.text)  // wrapped in the list
    }
}
