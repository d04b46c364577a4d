import Datasets
import EngineProtocol
import Foundation
import TestSupport
@testable import TUI
import XCTest

/// Tags on samples and the list's export (D-241): the tags file, `tag:` / `tagged` in queries,
/// `x` / `X` in the browser with the list's mark, and `e` / `E` writing the list as shown.
final class SampleTagsTests: XCTestCase {
    func temporaryRoot() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-tags-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        return root
    }

    func testToggleKeepsSortedNamesAndDropsEmptySamples() {
        var tags = SampleTags(dataset: "/data/voc")
        XCTAssertTrue(tags.toggle("a", "marked"))
        XCTAssertTrue(tags.toggle("a", "bad-label"))
        XCTAssertEqual(tags.names(of: "a"), ["bad-label", "marked"])
        XCTAssertFalse(tags.toggle("a", "marked"))
        XCTAssertFalse(tags.toggle("a", "bad-label"))
        XCTAssertTrue(tags.isEmpty, "a sample without tags leaves no entry")
        XCTAssertNil(SampleTags.problem("bad-label_2.v"))
        XCTAssertEqual(SampleTags.problem(""), "a tag needs a name")
        XCTAssertEqual(SampleTags.problem("two words"), "“two words”: a tag name is letters, digits, - _ and . (no spaces)")
    }

    func testTheFileIsPerDatasetUnderTheRunsRootAndRoundTrips() throws {
        let root = try temporaryRoot()
        let a = SampleTags.fileURL(runsRoot: root, dataset: URL(fileURLWithPath: "/data/VOC2012"))
        XCTAssertEqual(a, SampleTags.fileURL(runsRoot: root, dataset: URL(fileURLWithPath: "/data/x/../VOC2012/")), "the same directory")
        XCTAssertNotEqual(a, SampleTags.fileURL(runsRoot: root, dataset: URL(fileURLWithPath: "/other/VOC2012")))
        XCTAssertEqual(a.deletingLastPathComponent().path, root.appendingPathComponent("tags").path)
        XCTAssertTrue(a.lastPathComponent.hasPrefix("VOC2012-") && a.lastPathComponent.hasSuffix(".json"), a.lastPathComponent)

        XCTAssertEqual(try SampleTags.read(a, dataset: "/data/VOC2012"), SampleTags(dataset: "/data/VOC2012"), "missing: no tags")
        var tags = SampleTags(dataset: "/data/VOC2012")
        tags.toggle("2007_000032", "marked")
        try tags.write(to: a)
        XCTAssertEqual(try SampleTags.read(a, dataset: "/data/VOC2012"), tags)
        let names = try FileManager.default.contentsOfDirectory(atPath: a.deletingLastPathComponent().path)
        XCTAssertEqual(names, [a.lastPathComponent], "no temporary file left")

        try Data("{\"version\": 1, \"samp".utf8).write(to: a)
        XCTAssertThrowsError(try SampleTags.read(a, dataset: "")) { error in
            XCTAssertTrue("\(error)".contains("\(a.path) is damaged"), "\(error)")
            XCTAssertTrue("\(error)".contains("move it away"), "\(error)")
        }
        try Data("{\"version\": 9, \"dataset\": \"x\", \"samples\": {}}".utf8).write(to: a)
        XCTAssertThrowsError(try SampleTags.read(a, dataset: "")) { XCTAssertTrue("\($0)".contains("version 9 is newer"), "\($0)") }
    }

    func testTagTermsInQueries() throws {
        let names = ["background", "dog"]
        XCTAssertEqual(try SampleQuery.parse("tag:Suspect", classNames: names), .tag("suspect"))
        XCTAssertEqual(try SampleQuery.parse("tagged !dog", classNames: names), .and([.tag(nil), .not(.word("dog"))]))
        XCTAssertThrowsError(try SampleQuery.parse("tag:", classNames: names)) {
            XCTAssertEqual("\($0)", "“tag:”: a tag name goes after tag:, e.g. tag:marked")
        }
        let q = try SampleQuery.parse("tag:suspect | tagged id:7", classNames: names)
        XCTAssertTrue(q.matches(id: "1", info: nil, objectClasses: [], tags: ["marked", "suspect"]))
        XCTAssertTrue(q.matches(id: "7", info: nil, objectClasses: [], tags: ["marked"]))
        XCTAssertFalse(q.matches(id: "1", info: nil, objectClasses: [], tags: ["marked"]))
        XCTAssertFalse(q.matches(id: "7", info: nil, objectClasses: []))
    }

    /// The export is the list as shown: filter, order, columns (figures, tags, classes), quoting.
    func testExportIsTheListAsShown() throws {
        var b = BrowserState(name: "set", classNames: ["background", "cat", "dog"], palette: [], splits: ["val"])
        let ids = ["a", "b,2", "c"]
        b.ids["val"] = .success(ids)
        func info(_ id: String, _ pixels: [Int: Int]) -> SampleInfo {
            var counts = [Int](repeating: 0, count: 256)
            for (k, v) in pixels { counts[k] = v }
            return SampleInfo(id: id, width: 4, height: 3, counts: counts)
        }
        b.info = ["a": info("a", [0: 6, 1: 6]), "b,2": info("b,2", [0: 2, 1: 5, 2: 5])]  // c not scanned
        b.metrics = .loaded(BrowserMetrics(run: "/runs/r", file: SampleMetricsFile(iteration: 7, epoch: 1, split: "val",
            classNames: b.classNames, samples: [
                SampleMetrics(id: "a", mIoU: 0.5, pixelAccuracy: 0.75, pixels: 12, labelQuality: 0.25),
                SampleMetrics(id: "b,2", mIoU: 0.125, pixelAccuracy: 0.5, pixels: 12, labelQuality: .nan),
            ])))
        b.tags.toggle("b,2", "marked")
        b.tags.toggle("b,2", "odd")
        b.filter = "cat | tagged"
        b.sort = .iou
        b.applyFilter()
        let export = b.export()
        XCTAssertEqual(export.samples.map(\.id), ["b,2", "a"], "worst IoU first, c filtered out")
        XCTAssertEqual(export.query, "cat | tagged")
        XCTAssertEqual(export.sort, "worst IoU first")
        XCTAssertEqual(export.evaluation, .init(run: "/runs/r", iteration: 7, split: "val"))
        XCTAssertEqual(export.csv, """
            id,width,height,classes,tags,iou,acc,lq
            "b,2",4,3,cat dog,marked odd,0.1250,0.5000,
            a,4,3,cat,,0.5000,0.7500,0.2500

            """)
        let decoded = try JSONDecoder().decode(SampleExport.self, from: export.encoded(.json))
        XCTAssertEqual(decoded, export)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: export.encoded(.json)) as? [String: Any])
        let rows = try XCTUnwrap(object["samples"] as? [[String: Any]])
        XCTAssertNil(rows[0]["lq"], "an undefined figure is left out")
        XCTAssertEqual(rows[1]["lq"] as? Double, 0.25)
        XCTAssertEqual(SampleExport.Format(path: "x/list.JSON"), .json)
        XCTAssertNil(SampleExport.Format(path: "list.txt"))
    }

    // MARK: The browser

    func open(tagsFile: URL?, runsRoot: URL) throws -> (AppRuntime, HeadlessDriver) {
        let voc = try DatasetLoader.open(Fixtures.voc, format: .voc)
        let driver = HeadlessDriver(columns: 100, rows: 30)
        var browser = BrowserState(dataset: voc)
        browser.datasetName = "Pascal VOC (fixtures/voc)"
        browser.splitIndex = browser.splits.firstIndex(of: "trainval") ?? 0
        browser.tagsFile = tagsFile
        var state = AppState(columns: 100, rows: 30, depth: .direct, theme: try Theme.load(nil, depth: .direct), browser: browser)
        state.runs.root = runsRoot.path
        let runtime = AppRuntime(state: state, driver: driver, performer: DatasetPerformer(dataset: voc))
        runtime.start()
        XCTAssertTrue(runtime.waitUntilIdle())
        return (runtime, driver)
    }

    func testTaggingMarksTheListKeepsTheFileAndFilters() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Fixtures.voc.path), "fixtures not found")
        let root = try temporaryRoot()
        let file = SampleTags.fileURL(runsRoot: root, dataset: Fixtures.voc)
        let (runtime, driver) = try open(tagsFile: file, runsRoot: root)
        XCTAssertFalse(driver.screen.text.contains(App.tagMark), "no mark column before a tag")
        runtime.send([.key(.char("x"))])
        XCTAssertTrue(runtime.waitUntilIdle())
        XCTAssertEqual(runtime.state.browser.tags.names(of: "2007_000032"), ["marked"])
        XCTAssertTrue(driver.screen.text.contains("▸●2007_000032"), driver.screen.text)
        XCTAssertTrue(driver.screen.line(29).contains("tagged 2007_000032 “marked”"), driver.screen.line(29))
        XCTAssertEqual(try SampleTags.read(file, dataset: "").samples, ["2007_000032": ["marked"]], "written at once")

        // X names a tag: typed in the list's prompt row, Enter toggles it on the selection.
        runtime.send([.key(.down), .key(.down), .key(.char("X"))] + "Bad-Label".unicodeScalars.map { .key(.char($0)) })
        XCTAssertTrue(driver.screen.text.contains("tag: Bad-Label▏"), driver.screen.text)
        runtime.send([.key(.enter)])
        XCTAssertTrue(runtime.waitUntilIdle())
        XCTAssertEqual(runtime.state.browser.currentTag, "bad-label")
        XCTAssertEqual(runtime.state.browser.tags.names(of: "2007_000039"), ["bad-label"])
        XCTAssertTrue(driver.screen.text.contains("▸●2007_000039"), driver.screen.text)
        XCTAssertTrue(driver.screen.text.contains("· ● bad-label"), "the preview title names the tags:\n\(driver.screen.text)")
        assertGolden(driver.screen.text, named: "browser-tags-100x30")
        runtime.send([.key(.char("X"))] + "two words".unicodeScalars.map { .key(.char($0)) } + [.key(.enter)])
        XCTAssertTrue(driver.screen.line(29).contains("a tag name is letters"), driver.screen.line(29))
        runtime.send([.key(.escape)])
        XCTAssertNil(runtime.state.browser.tagPrompt)

        // Filters: tag:NAME and tagged.
        runtime.send([.key(.char("/"))] + "tagged".unicodeScalars.map { .key(.char($0)) } + [.key(.enter)])
        XCTAssertEqual(listed(runtime), ["2007_000032", "2007_000039"])
        runtime.send([.key(.escape), .key(.char("/"))] + "(tag:marked | tag:bad-label) !aeroplane".unicodeScalars.map { .key(.char($0)) } + [.key(.enter)])
        XCTAssertEqual(listed(runtime), ["2007_000039"])
        runtime.send([.key(.escape), .key(.char("/"))] + "tagged".unicodeScalars.map { .key(.char($0)) } + [.key(.enter)])
        runtime.send([.key(.char("g")), .key(.char("x"))])  // the first, 2007_000032: x toggles bad-label (named last) on it
        XCTAssertTrue(runtime.waitUntilIdle())
        XCTAssertEqual(runtime.state.browser.tags.names(of: "2007_000032"), ["bad-label", "marked"])

        // e / E: the list as shown, under the runs root's exports/, the path in the footer.
        runtime.send([.key(.char("e"))])
        XCTAssertTrue(runtime.waitUntilIdle())
        let csv = root.appendingPathComponent("exports/samples-trainval-1.csv")
        XCTAssertEqual(runtime.state.browser.notice, "exported 2 samples → \(csv.path)")
        let text = try String(contentsOf: csv, encoding: .utf8)
        XCTAssertEqual(text.split(separator: "\n").map { $0.split(separator: ",").prefix(5).joined(separator: ",") }, [
            "id,width,height,classes,tags",
            "2007_000032,500,281,aeroplane person,bad-label marked",
            "2007_000039,500,375,tvmonitor,bad-label",
        ])
        runtime.send([.key(.char("E")), .key(.char("e"))])
        XCTAssertTrue(runtime.waitUntilIdle())
        let json = try JSONDecoder().decode(SampleExport.self, from: Data(contentsOf: root.appendingPathComponent("exports/samples-trainval-1.json")))
        XCTAssertEqual(json.query, "tagged")
        XCTAssertEqual(json.samples.map(\.id), ["2007_000032", "2007_000039"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent("exports/samples-trainval-2.csv").path),
                      "a second export never overwrites the first")
        XCTAssertEqual(try SampleTags.read(file, dataset: "").samples.count, 2)
    }

    /// A tags file that cannot be read turns tagging off (never overwritten) and says so.
    func testUnreadableTagsTurnTaggingOff() throws {
        let root = try temporaryRoot()
        var browser = BrowserState(name: "set", classNames: ["background"], palette: [], splits: ["val"])
        browser.ids["val"] = .success(["a"])
        browser.applyFilter()
        browser.tagsFile = root.appendingPathComponent("tags/set.json")
        browser.tagsProblem = "cannot read the tags: tags/set.json is damaged"
        var state = AppState(columns: 100, rows: 30, depth: .direct, theme: try Theme.load(nil, depth: .direct), browser: browser)
        XCTAssertEqual(App.update(&state, .key(.char("x"))), [], "no write")
        XCTAssertTrue(state.browser.tags.isEmpty)
        XCTAssertEqual(state.browser.status, "x X: the tags file cannot be read (see the footer)")
        XCTAssertEqual(App.update(&state, .key(.down)), [])
        XCTAssertEqual(state.browser.status, "tags off: cannot read the tags: tags/set.json is damaged")
    }
}
