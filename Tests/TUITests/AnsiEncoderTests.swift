@testable import TUI
import XCTest

final class AnsiEncoderTests: XCTestCase {
    private func encode(_ grid: CellGrid, previous: CellGrid?, depth: ColorDepth, eight: Bool = false) -> String {
        var e = AnsiEncoder(depth: depth, eightColors: eight)
        for run in grid.changedRuns(from: previous) { e.encode(run, of: grid) }
        e.finish()
        return String(decoding: e.bytes, as: UTF8.self)
    }

    func testOnlyChangedRunsWithOneStyleChangePerStyle() {
        let before = CellGrid(width: 8, height: 2)
        var after = before
        let red = Style(fg: .rgb(255, 0, 0), bg: .rgb(0, 0, 8), attributes: .bold)
        after.put("ab", x: 2, y: 1, style: red)
        after.set(4, 1, Cell("▀", red))
        XCTAssertEqual(encode(after, previous: before, depth: .direct),
                       "\u{1B}[2;3H\u{1B}[0;1;38;2;255;0;0;48;2;0;0;8mab▀\u{1B}[0m")
        XCTAssertEqual(encode(after, previous: after, depth: .direct), "", "an unchanged frame writes nothing")
    }

    func testEachColourDepth() {
        var g = CellGrid(width: 1, height: 1)
        g.set(0, 0, Cell("x", Style(fg: .rgb(255, 0, 0), bg: .ansi(12), attributes: .underline)))
        XCTAssertEqual(encode(g, previous: nil, depth: .ansi256), "\u{1B}[1;1H\u{1B}[0;4;38;5;196;104mx\u{1B}[0m")
        XCTAssertEqual(encode(g, previous: nil, depth: .ansi16), "\u{1B}[1;1H\u{1B}[0;4;91;104mx\u{1B}[0m")
        // 8 colours: bright red foreground → bold red; bright blue background → blue.
        XCTAssertEqual(encode(g, previous: nil, depth: .ansi16, eight: true), "\u{1B}[1;1H\u{1B}[0;1;4;31;44mx\u{1B}[0m")
        XCTAssertEqual(encode(g, previous: nil, depth: .mono), "\u{1B}[1;1H\u{1B}[0;4mx\u{1B}[0m")
        var d = CellGrid(width: 1, height: 1)
        d.set(0, 0, Cell("é", Style()))
        XCTAssertEqual(encode(d, previous: nil, depth: .direct), "\u{1B}[1;1H\u{1B}[0mé\u{1B}[0m")
    }

    func testLargeCoordinates() {
        var e = AnsiEncoder(depth: .direct)
        e.moveTo(row: 1233, column: 9)
        XCTAssertEqual(String(decoding: e.bytes, as: UTF8.self), "\u{1B}[1234;10H")
    }
}
