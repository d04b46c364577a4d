import Datasets
import EngineProtocol
import Foundation
import TestSupport
@testable import TUI
import XCTest

/// The browser's per-sample metrics (D-188): `v` reads the dashboard run's
/// `predictions/<latest>/samples.json`, `s` sorts worst first, `c` lists the samples behind a
/// confusion cell; a missing or damaged file is a message in the list, never a crash.
final class BrowserMetricsTests: XCTestCase {
    /// VOC fixture ids with figures chosen so each sort has its own order.
    static let figures: [(id: String, iou: Double, acc: Double, lq: Double, confusions: [[Int]])] = [
        ("2007_000032", 0.61, 0.93, 0.40, [[1, 0, 900], [15, 0, 40]]),
        ("2007_000033", 0.35, 0.97, 0.72, [[1, 0, 120]]),
        ("2007_000039", 0.48, 0.81, 0.05, [[20, 0, 300], [1, 0, 2500]]),
        ("2007_000042", .nan, 0.88, 0.55, []),
    ]

    /// A run directory holding one evaluation's per-sample metrics (and no masks: the file is
    /// read on its own).
    func makeRun(samplesJSON: Data? = nil) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-bmetrics-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        let run = root.appendingPathComponent("20261203-150000-xunet")
        let folder = run.appendingPathComponent("predictions/000030")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let index = PredictionIndex(samples: [], evaluations: [.init(iteration: 30, epoch: 3, mIoU: 0.4, isBest: true, directory: "000030")],
                                    bestIteration: 30)
        try JSONEncoder().encode(index).write(to: run.appendingPathComponent("predictions/index.json"))
        let voc = try DatasetLoader.open(Fixtures.voc, format: .voc)
        let file = SampleMetricsFile(iteration: 30, epoch: 3, split: "val", classNames: voc.classNames, samples: Self.figures.map {
            SampleMetrics(id: $0.id, mIoU: $0.iou, pixelAccuracy: $0.acc, pixels: 1000, labelQuality: $0.lq, confusions: $0.confusions)
        })
        try (samplesJSON ?? JSONEncoder().encode(file)).write(to: folder.appendingPathComponent(SampleMetricsFile.fileName))
        return run
    }

    func open(_ run: URL?, columns: Int = 100, rows: Int = 30, depth: ColorDepth = .direct) throws -> (AppRuntime, HeadlessDriver) {
        let voc = try DatasetLoader.open(Fixtures.voc, format: .voc)
        let driver = HeadlessDriver(columns: columns, rows: rows, colorDepth: depth)
        var state = AppState(columns: columns, rows: rows, depth: depth, theme: try Theme.load(nil, depth: depth),
                             browser: BrowserState(dataset: voc))
        state.browser.datasetName = "Pascal VOC (fixtures/voc)"  // no machine path in goldens
        state.browser.splitIndex = state.browser.splits.firstIndex(of: "trainval") ?? 0
        if let run {
            state.cockpit.history.started = RunStarted(config: TrainingConfig(), model: ModelOverview(name: "xunet", trainableParameters: 1),
                                                       runDirectory: run.path, classNames: voc.classNames, trainSamples: 4,
                                                       valSamples: 4, totalIterations: 30, iterationsPerEpoch: 10)
            state.cockpit.readOnlyName = run.lastPathComponent
        }
        let runtime = AppRuntime(state: state, driver: driver,
                                 performer: CockpitPerformer(inner: DatasetPerformer(dataset: voc), link: nil))
        runtime.start()
        XCTAssertTrue(runtime.waitUntilIdle())
        return (runtime, driver)
    }

    func testSortsWorstFirstByEachFigureAndBackToNames() throws {
        let (runtime, driver) = try open(try makeRun())
        let names = listed(runtime)
        XCTAssertEqual(names, ["2007_000032", "2007_000033", "2007_000039", "2007_000042"])
        XCTAssertFalse(driver.screen.text.contains("IoU"), "no columns before v")
        runtime.send([.key(.char("v"))])
        XCTAssertNotNil(runtime.state.browser.metrics?.loaded, "\(String(describing: runtime.state.browser.metrics))")
        let text = driver.screen.text
        XCTAssertTrue(text.contains("IoU"), text)
        XCTAssertTrue(text.contains("2007_000033  0.35  0.97  0.72"), text)
        XCTAssertTrue(text.contains("2007_000042     —  0.88  0.55"), "an undefined IoU is a dash:\n\(text)")

        runtime.send([.key(.char("s"))])
        XCTAssertEqual(runtime.state.browser.sort, .iou)
        XCTAssertEqual(listed(runtime), ["2007_000033", "2007_000039", "2007_000032", "2007_000042"], "undefined last")
        XCTAssertEqual(runtime.state.browser.selectedID, "2007_000033", "the selection goes to the worst")
        XCTAssertTrue(driver.screen.line(2).contains("worst IoU first"), driver.screen.line(2))
        runtime.send([.key(.char("s"))])
        XCTAssertEqual(listed(runtime), ["2007_000039", "2007_000042", "2007_000032", "2007_000033"])
        runtime.send([.key(.char("s"))])
        XCTAssertEqual(runtime.state.browser.sort, .labelQuality)
        XCTAssertEqual(listed(runtime), ["2007_000039", "2007_000032", "2007_000042", "2007_000033"])
        assertGolden(driver.screen.text, named: "browser-metrics-label-quality-100x30")
        assertGolden(ColorGolden.render(driver.screen, depth: .direct), named: "color-direct-browser-metrics-100x30")
        XCTAssertTrue(driver.screen.text.contains("IoU 0.48 acc 0.81 LQ 0.05"), "the preview title has the selected one's figures")

        // The filter still applies, inside the order.
        runtime.send([.key(.char("/"))] + "!2007_000032".unicodeScalars.map { .key(.char($0)) } + [.key(.enter)])
        XCTAssertEqual(listed(runtime), ["2007_000039", "2007_000042", "2007_000033"])
        runtime.send([.key(.escape), .key(.char("s"))])
        XCTAssertEqual(runtime.state.browser.sort, .name)
        XCTAssertEqual(listed(runtime), names)
        runtime.send([.key(.char("v"))])
        XCTAssertNil(runtime.state.browser.metrics, "v again hides the columns")
    }

    func testConfusionCellListsTheSamplesBehindItMostPixelsFirst() throws {
        let (runtime, driver) = try open(try makeRun())
        runtime.send([.key(.char("v"))])
        let cells = try XCTUnwrap(runtime.state.browser.metrics?.loaded?.cells)
        // aeroplane → background: 900 + 120 + 2500; tvmonitor → background 300; person → background 40.
        XCTAssertEqual(cells.map { [$0.truth, $0.predicted, $0.pixels] }, [[1, 0, 3520], [20, 0, 300], [15, 0, 40]])
        runtime.send([.key(.char("c"))])
        XCTAssertEqual(runtime.state.browser.sort, .confusion(truth: 1, predicted: 0))
        XCTAssertEqual(listed(runtime), ["2007_000039", "2007_000032", "2007_000033"], "only samples with the confusion, most first")
        XCTAssertTrue(driver.screen.line(2).contains("aeroplane → background (3)"), driver.screen.line(2))
        XCTAssertTrue(driver.screen.text.contains("2007_000039  0.48  0.81  2500"), driver.screen.text)
        assertGolden(driver.screen.text, named: "browser-metrics-confusion-100x30")
        runtime.send([.key(.char("c"))])
        XCTAssertEqual(listed(runtime), ["2007_000039"])
        runtime.send([.key(.char("C")), .key(.char("C"))])
        XCTAssertEqual(runtime.state.browser.sort, .confusion(truth: 15, predicted: 0), "C steps back, wrapping")
        XCTAssertEqual(listed(runtime), ["2007_000032"])
    }

    func testMissingOrDamagedMetricsAreAMessageInTheList() throws {
        let damaged = try makeRun(samplesJSON: Data("{\"version\": 1, \"samples\": [".utf8))
        var (runtime, driver) = try open(damaged)
        runtime.send([.key(.char("v"))])
        guard case .failed(_, let message)? = runtime.state.browser.metrics else {
            return XCTFail("\(String(describing: runtime.state.browser.metrics))")
        }
        XCTAssertTrue(message.contains("samples.json is damaged"), message)
        let text = driver.screen.text
        XCTAssertTrue(text.contains("cannot read the per-sample metrics:"), text)
        XCTAssertTrue(text.contains("predictions/000030/samples.json"), "named inside the run:\n\(text)")
        XCTAssertTrue(text.contains("2007_000032"), "the samples stay listed:\n\(text)")
        assertGolden(text.replacingOccurrences(of: damaged.deletingLastPathComponent().path, with: "ROOT"),
                     named: "browser-metrics-damaged-100x30")
        runtime.send([.key(.char("s"))])
        XCTAssertEqual(runtime.state.browser.sort, .name, "no sorting without figures")
        runtime.send([.key(.down), .key(.up)])
        XCTAssertEqual(runtime.state.browser.selectedID, "2007_000032", "the list still moves")

        let missing = try makeRun()
        try FileManager.default.removeItem(at: missing.appendingPathComponent("predictions/000030/samples.json"))
        (runtime, driver) = try open(missing)
        runtime.send([.key(.char("v"))])
        guard case .failed(_, let missingMessage)? = runtime.state.browser.metrics else { return XCTFail("not failed") }
        XCTAssertTrue(missingMessage.contains("000030/samples.json is missing"), missingMessage)
        XCTAssertTrue(driver.screen.text.contains("is missing"), driver.screen.text)

        // Without a run, v is unavailable (and says why in the help).
        (runtime, driver) = try open(nil)
        runtime.send([.key(.char("v"))])
        XCTAssertNil(runtime.state.browser.metrics)
        XCTAssertTrue(App.browserKeys.helpEntries(runtime.state).contains { $0.disabled?.contains("no run") == true })
    }

    /// `iou<…`, `acc>=…`, `lq<…` in the filter after `v`, with class terms and inside a sort; the
    /// footer says how many samples were unscored; before `v` no sample passes, and the list says why.
    func testFilterByFiguresAfterV() throws {
        let (runtime, driver) = try open(try makeRun())
        func filter(_ text: String) {
            runtime.send([.key(.escape), .key(.char("/"))] + text.unicodeScalars.map { .key(.char($0)) } + [.key(.enter)])
        }
        filter("iou<0.5")
        XCTAssertEqual(listed(runtime), [], "no figures before v")
        var text = driver.screen.text
        XCTAssertTrue(text.contains("no sample matches “iou<0.5”"), text)
        XCTAssertTrue(driver.screen.line(29).contains("no sample scored: iou terms false (v loads an evaluation)"), driver.screen.line(29))
        assertGolden(text, named: "browser-query-figures-before-v-100x30")

        runtime.send([.key(.char("v"))])
        XCTAssertEqual(listed(runtime), ["2007_000033", "2007_000039"], "v re-applies the filter")
        text = driver.screen.text
        XCTAssertTrue(driver.screen.line(29).contains("1 unscored: iou terms false"), driver.screen.line(29))
        assertGolden(text, named: "browser-query-figures-100x30")

        filter("acc>=0.9")
        XCTAssertEqual(listed(runtime), ["2007_000032", "2007_000033"])
        XCTAssertFalse(driver.screen.line(29).contains("unscored"), "every sample has an accuracy:\n\(driver.screen.line(29))")
        filter("lq<0.2 | iou>0.6")
        XCTAssertEqual(listed(runtime), ["2007_000032", "2007_000039"])
        filter("aeroplane acc<0.95")
        XCTAssertEqual(listed(runtime), ["2007_000032"], "class and figure terms together")
        filter("!iou<0.5")
        XCTAssertEqual(listed(runtime), ["2007_000032", "2007_000042"], "the unscored IoU's term is false, its negation true")

        // Inside a sort: worst accuracy first among those with label quality at least 0.4.
        filter("lq>=0.4")
        runtime.send([.key(.char("s")), .key(.char("s"))])
        XCTAssertEqual(runtime.state.browser.sort, .accuracy)
        XCTAssertEqual(listed(runtime), ["2007_000042", "2007_000032", "2007_000033"])

        filter("iou<0.5x")
        XCTAssertTrue(driver.screen.text.contains("filter: “iou<0.5x”: expected a"), driver.screen.text)
        XCTAssertTrue(driver.screen.text.contains("number after <, e.g. iou<0.3"), "a bad number names the term:\n\(driver.screen.text)")
    }

    /// With tags the list gains a mark column; the metrics' column names stay over their figures.
    func testTagMarksAndMetricsColumnsLineUp() throws {
        let (runtime, driver) = try open(try makeRun())
        runtime.send([.key(.char("v")), .key(.char("j")), .key(.char("x"))])
        let text = driver.screen.text
        XCTAssertTrue(text.contains("▸●2007_000033  0.35  0.97  0.72"), text)
        XCTAssertTrue(text.contains("  2007_000032  0.61  0.93  0.40"), text)
        let header = driver.screen.line(3), row = driver.screen.line(5)
        func end(_ line: String, _ text: String) -> Int? { line.range(of: text).map { line.distance(from: line.startIndex, to: $0.upperBound) } }
        // As without tags (browser-metrics-*): a column name ends one cell before its figures' last digit.
        XCTAssertEqual(end(header, "IoU").map { $0 + 1 }, end(row, "0.35"), "the names moved with the mark:\n\(header)\n\(row)")
        assertGolden(text, named: "browser-metrics-tags-100x30")
    }

    func testSortOrderIsPureAndKeepsUnscoredLast() {
        let ids = ["a", "b", "c", "d"]
        let file = SampleMetricsFile(iteration: 1, epoch: 1, split: "val", classNames: ["bg", "x"], samples: [
            SampleMetrics(id: "b", mIoU: 0.2, pixelAccuracy: 0.5, pixels: 1, labelQuality: 0.9),
            SampleMetrics(id: "c", mIoU: 0.2, pixelAccuracy: 0.4, pixels: 1, labelQuality: .nan),
            SampleMetrics(id: "d", mIoU: 0.1, pixelAccuracy: 0.6, pixels: 1, labelQuality: 0.3),
        ])
        let m = BrowserMetrics(run: "r", file: file)
        XCTAssertEqual(BrowserState.sorted([0, 1, 2, 3], ids: ids, by: .iou, metrics: m), [3, 1, 2, 0], "ties keep the split's order; a (unscored) last")
        XCTAssertEqual(BrowserState.sorted([0, 1, 2, 3], ids: ids, by: .labelQuality, metrics: m), [3, 1, 0, 2])
        XCTAssertEqual(BrowserState.sorted([2, 0], ids: ids, by: .name, metrics: m), [2, 0])
        XCTAssertEqual(BrowserState.sorted([0, 1, 2, 3], ids: ids, by: .confusion(truth: 1, predicted: 0), metrics: m), [])
    }
}

extension XCTestCase {
    /// The sample ids the browser lists now (filter and order applied).
    func listed(_ runtime: AppRuntime) -> [String] {
        let ids = runtime.state.browser.splitIDs
        return runtime.state.browser.visible.map { ids[$0] }
    }
}
