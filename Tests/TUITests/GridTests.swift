@testable import TUI
import XCTest

final class GridTests: XCTestCase {
    func testPutClipsAndTruncates() {
        var g = CellGrid(width: 6, height: 2)
        let end = g.put("abcdefgh", x: 2, y: 0, style: Style())
        XCTAssertEqual(end, 6)
        XCTAssertEqual(g.line(0), "  abcd")
        g.put("xyz", x: -1, y: 1, style: Style())
        XCTAssertEqual(g.line(1), "yz    ")
        g.put("never", x: 0, y: 5, style: Style())  // off the grid: ignored
        XCTAssertEqual(TextWidth.truncate("2007_000032", to: 6), "2007_…")
        XCTAssertEqual(TextWidth.pad("ab", to: 4), "ab  ")
        XCTAssertEqual(g.text, "  abcd\nyz")
    }

    func testWideCharactersNeverBreakTheGrid() {
        var g = CellGrid(width: 4, height: 1)
        g.put("猫a", x: 0, y: 0, style: Style())
        XCTAssertEqual(g.line(0), "?a  ")
    }

    func testDiffFindsOnlyChangedRunsAndMergesCloseOnes() {
        var a = CellGrid(width: 20, height: 3)
        var b = a
        XCTAssertEqual(b.changedRuns(from: a), [])
        b.put("x", x: 2, y: 0, style: Style())
        b.put("y", x: 4, y: 0, style: Style())   // gap of 1 equal cell: merged
        b.put("z", x: 15, y: 0, style: Style())  // far: its own run
        b.set(0, 2, Cell(" ", Style(fg: .rgb(1, 2, 3))))  // same char, new colour: changed
        XCTAssertEqual(b.changedRuns(from: a), [CellRun(y: 0, x: 2, count: 3), CellRun(y: 0, x: 15, count: 1),
                                                 CellRun(y: 2, x: 0, count: 1)])
        // No previous frame or a new size: everything.
        XCTAssertEqual(b.changedRuns(from: nil).count, 3)
        a = CellGrid(width: 10, height: 3)
        XCTAssertEqual(b.changedRuns(from: a).map(\.count), [20, 20, 20])
    }

    func testHeadlessDriverWritesOnlyTheDifference() {
        let driver = HeadlessDriver(columns: 10, rows: 2)
        var g = CellGrid(width: 10, height: 2)
        driver.present(Frame(grid: g))
        XCTAssertEqual(driver.cellsWrittenLastFrame, 20)
        g.put("hi", x: 3, y: 1, style: Style())
        driver.present(Frame(grid: g))
        XCTAssertEqual(driver.cellsWrittenLastFrame, 2)
        XCTAssertEqual(driver.screen, g)
        driver.present(Frame(grid: g))
        XCTAssertEqual(driver.cellsWrittenLastFrame, 0)
        XCTAssertEqual(driver.framesPresented, 3)
    }

    func testBoxBarAndWrap() {
        var g = CellGrid(width: 12, height: 4)
        let inner = g.box(g.bounds, title: "Title", border: Style(), titleStyle: Style())
        XCTAssertEqual(inner, Rect(x: 1, y: 1, width: 10, height: 2))
        g.bar(x: 1, y: 1, width: 4, fraction: 0.5, style: Style(), track: Style())
        g.wrapped("one two three", in: Rect(x: 6, y: 1, width: 5, height: 2), style: Style())
        XCTAssertEqual(g.text, """
            ┌─ Title ──┐
            │██   one  │
            │     two  │
            └──────────┘
            """)
    }

    func testBarEighths() {
        var g = CellGrid(width: 3, height: 1)
        g.bar(x: 0, y: 0, width: 3, fraction: 0.5, style: Style(), track: Style())
        XCTAssertEqual(g.line(0), "█▌ ")
    }

    func testPercentFormatting() {
        XCTAssertEqual(Formatting.percent(0.1234), "12.3%")
        XCTAssertEqual(Formatting.percent(0.0004), "<0.1%")
        XCTAssertEqual(Formatting.percent(1), "100.0%")
    }
}
