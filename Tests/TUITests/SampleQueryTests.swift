import Datasets
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
