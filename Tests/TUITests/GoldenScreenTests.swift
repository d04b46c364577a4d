import Datasets
import TestSupport
@testable import TUI
import XCTest

/// Whole screens on the real fixtures, compared with `Golden/*.txt` (RECORD_SNAPSHOTS=1 records).
/// The dataset name is pinned so the screens do not depend on where the fixtures live.
final class GoldenScreenTests: XCTestCase {
    private func open(_ url: URL, _ name: String, columns: Int, rows: Int) throws -> (AppRuntime, HeadlessDriver) {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: url.path), "fixtures not found at \(url.path)")
        let dataset = try DatasetLoader.open(url)
        let driver = HeadlessDriver(columns: columns, rows: rows, colorDepth: .direct)
        var browser = BrowserState(dataset: dataset)
        browser.datasetName = name
        let state = AppState(columns: columns, rows: rows, depth: .direct, theme: try Theme.load(nil, depth: .direct),
                             browser: browser)
        let runtime = AppRuntime(state: state, driver: driver, performer: DatasetPerformer(dataset: dataset))
        runtime.start()
        XCTAssertTrue(runtime.waitUntilIdle())
        return (runtime, driver)
    }

    private func keys(_ text: String) -> [InputEvent] { text.unicodeScalars.map { .key(.char($0)) } }

    func testVOCBrowser() throws {
        for (columns, rows) in [(100, 30), (160, 48)] {
            let (runtime, driver) = try open(Fixtures.voc, "Pascal VOC (fixtures/voc)", columns: columns, rows: rows)
            let size = "\(columns)x\(rows)"
            assertGolden(driver.screen.text, named: "voc-browser-\(size)")
            runtime.send([.key(.tab)])  // val split, second sample
            runtime.send([.key(.down)])
            assertGolden(driver.screen.text, named: "voc-val-second-\(size)")
            runtime.send(keys("mmm") + keys("o"))  // overlay at 75%
            assertGolden(driver.screen.text, named: "voc-overlay-\(size)")
            runtime.send([.key(.enter)])
            assertGolden(driver.screen.text, named: "voc-zoomed-\(size)")
            runtime.send([.key(.enter), .key(.char("?"))])
            assertGolden(driver.screen.text, named: "voc-help-\(size)")
            runtime.send([.key(.escape), .key(.tab)] + keys("/pers"))
            assertGolden(driver.screen.text, named: "voc-filter-\(size)")
        }
    }

    func testPetsBrowser() throws {
        for (columns, rows) in [(100, 30), (160, 48)] {
            let (runtime, driver) = try open(Fixtures.pets, "Oxford-IIIT Pet (fixtures/pets)", columns: columns, rows: rows)
            let size = "\(columns)x\(rows)"
            assertGolden(driver.screen.text, named: "pets-browser-\(size)")
            runtime.send(keys("m"))  // image only
            assertGolden(driver.screen.text, named: "pets-image-\(size)")
        }
    }

    func testTooSmall() throws {
        let (_, driver) = try open(Fixtures.voc, "Pascal VOC (fixtures/voc)", columns: 50, rows: 12)
        assertGolden(driver.screen.text, named: "too-small-50x12")
    }

    /// The real VOC mask of 2007_000032 ({0, 1, 15, 255}) previews in exactly those classes' colours.
    func testVOCMaskPreviewUsesOnlyItsClassColours() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Fixtures.voc.path), "fixtures not found")
        let dataset = try DatasetLoader.open(Fixtures.voc)
        let sample = try dataset.sample(id: "2007_000032")
        var grid = CellGrid(width: 80, height: 24)
        HalfBlocks.draw(.mask(sample.label, palette: dataset.palette), in: grid.bounds, grid: &grid, depth: .direct,
                        background: .default)
        var seen = Set<TermColor>()
        for cell in grid.cells where cell.char == Cell.upperHalf {
            seen.insert(cell.style.fg)
            seen.insert(cell.style.bg)
        }
        let expected: Set<TermColor> = Set([0, 1, 15].map { TermColor(dataset.palette[$0]) } + [TermColor(MaskPainter.voidColor), .default])
        XCTAssertTrue(seen.isSubset(of: expected), "unexpected colours \(seen.subtracting(expected))")
        XCTAssertTrue(seen.isSuperset(of: Set([0, 1, 15].map { TermColor(dataset.palette[$0]) })), "a class went missing: \(seen)")
    }
}
