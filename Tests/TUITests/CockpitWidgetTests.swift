@testable import TUI
import XCTest

final class CockpitWidgetTests: XCTestCase {
    let styles = Styles(theme: Theme.builtinDefault, depth: .direct)

    func testEMAIsDebiasedAndSkipsNonFiniteValues() {
        let cases: [(values: [Double], weight: Double, want: [Double])] = [
            ([4, 4, 4], 0.9, [4, 4, 4]),  // debiasing: a constant stays constant from the first value
            ([1, 3], 0.5, [1, (0.25 + 1.5) / 0.75]),
            ([2, .nan, 2], 0.9, [2, 2, 2]),
            ([.nan, 5], 0.6, [.nan, 5]),
        ]
        for c in cases {
            let got = ChartMath.ema(c.values, weight: c.weight)
            XCTAssertEqual(got.count, c.want.count)
            for (g, w) in zip(got, c.want) {
                if w.isNaN { XCTAssertTrue(g.isNaN, "\(c)") } else { XCTAssertEqual(g, w, accuracy: 1e-12, "\(c)") }
            }
        }
    }

    func testNiceTicksAndLabels() {
        let cases: [(lo: Double, hi: Double, count: Int, ticks: [Double])] = [
            (0.03, 0.97, 5, [0, 0.25, 0.5, 0.75, 1.0].map { $0 }),
            (0.31, 2.4, 3, [0, 1, 2, 3]),
            (120, 980, 4, [0, 250, 500, 750, 1000]),
            (5, 5, 3, [4.5, 5, 5.5]),
        ]
        for c in cases {
            let t = ChartMath.ticks(lo: c.lo, hi: c.hi, count: c.count)
            XCTAssertEqual(t.ticks.count, c.ticks.count, "\(c) → \(t.ticks)")
            for (g, w) in zip(t.ticks, c.ticks) { XCTAssertEqual(g, w, accuracy: 1e-9, "\(c) → \(t.ticks)") }
            XCTAssertLessThanOrEqual(t.lo, c.lo)
            XCTAssertGreaterThanOrEqual(t.hi, c.hi)
        }
        XCTAssertEqual(ChartMath.label(0.25, step: 0.25), "0.25")
        XCTAssertEqual(ChartMath.label(2, step: 1), "2")
        XCTAssertEqual(ChartMath.label(0.0003, step: 0.0001), "3e-4")
        XCTAssertEqual(ChartMath.label(25_000, step: 5000), "25k")
    }

    func testGlyphDetectionFollowsTheLocale() {
        XCTAssertEqual(ChartGlyphs.detect(environment: ["LANG": "en_US.UTF-8"]), .braille)
        XCTAssertEqual(ChartGlyphs.detect(environment: ["LC_ALL": "C", "LANG": "en_US.UTF-8"]), .blocks)
        XCTAssertEqual(ChartGlyphs.detect(environment: [:]), .blocks)
    }

    func lineChart(_ glyphs: ChartGlyphs) -> String {
        var grid = CellGrid(width: 30, height: 8)
        let rising = ChartSeries(name: "acc", points: (0...20).map { ChartPoint(Double($0), Double($0) / 20) }, color: .ansi(2))
        let falling = ChartSeries(name: "loss", points: (0...20).map { ChartPoint(Double($0), 1 - Double($0 * $0) / 400) },
                                  color: .ansi(3), faint: true)
        LineChart(series: [falling, rising], xLabel: "iteration", glyphs: glyphs)
            .draw(in: grid.bounds, grid: &grid, styles: styles)
        return grid.text
    }

    func testBrailleChartGolden() {
        assertGolden(lineChart(.braille), named: "cockpit-chart-braille")
    }

    func testBlockChartGolden() {
        assertGolden(lineChart(.blocks), named: "cockpit-chart-blocks")
    }

    func testChartDotsLandWhereTheValuesAre() {
        // One point at the top-left, one at the bottom-right of a 1-cell-tall braille plot.
        let chart = LineChart(series: [], xLabel: "x")
        let dots = chart.rasterize([ChartPoint(0, 1), ChartPoint(10, 0)], width: 6, height: 4, xlo: 0, xhi: 10, ylo: 0, yhi: 1)
        XCTAssertTrue(dots[0 * 6 + 0], "(0, 1) is the top-left dot")
        XCTAssertTrue(dots[3 * 6 + 5], "(10, 0) is the bottom-right dot")
        XCTAssertFalse(dots[3 * 6 + 0])
        XCTAssertFalse(dots[0 * 6 + 5])
        // A connected line: every column has a dot.
        for x in 0..<6 { XCTAssertTrue((0..<4).contains { dots[$0 * 6 + x] }, "column \(x) empty") }
    }

    func testLaterSeriesColourTheirCellsAndFaintSeriesAreDim() {
        var grid = CellGrid(width: 20, height: 6)
        let a = ChartSeries(name: "a", points: [ChartPoint(0, 0), ChartPoint(1, 1)], color: .ansi(1), faint: true)
        let b = ChartSeries(name: "b", points: [ChartPoint(0, 0), ChartPoint(1, 1)], color: .ansi(4))
        LineChart(series: [a, b], xLabel: "x").draw(in: grid.bounds, grid: &grid, styles: styles)
        let plotted = grid.cells.filter { (0x2801...0x28FF).contains($0.char.value) }
        XCTAssertFalse(plotted.isEmpty)
        XCTAssertTrue(plotted.allSatisfy { $0.style.fg == .ansi(4) && !$0.style.attributes.contains(.dim) })
        var faintOnly = CellGrid(width: 20, height: 6)
        LineChart(series: [a], xLabel: "x").draw(in: faintOnly.bounds, grid: &faintOnly, styles: styles)
        XCTAssertTrue(faintOnly.cells.filter { (0x2801...0x28FF).contains($0.char.value) }.allSatisfy { $0.style.attributes.contains(.dim) })
    }

    func testEmptyChartSaysSo() {
        var grid = CellGrid(width: 30, height: 6)
        LineChart(series: [ChartSeries(name: "x", points: [], color: .default)], xLabel: "it", emptyText: "no evaluation yet")
            .draw(in: grid.bounds, grid: &grid, styles: styles)
        XCTAssertTrue(grid.text.contains("no evaluation yet"))
    }

    func testBarsGolden() {
        var grid = CellGrid(width: 40, height: 5)
        let items = [BarItem(label: "background", value: 0.912), BarItem(label: "aeroplane", value: 0.5),
                     BarItem(label: "bicycle", value: .nan), BarItem(label: "bird", value: 0.0625),
                     BarItem(label: "boat", value: 0.25), BarItem(label: "bottle", value: 1)]
        BarList(items: items).draw(in: grid.bounds, grid: &grid, styles: styles)
        assertGolden(grid.text, named: "cockpit-bars")
    }

    func testHeatmapNormalisesRowsAndGolden() {
        // truth 0: 90 right, 10 as 1; truth 1: 30 as 0, 70 right; truth 2: none; truth 3: all as 1.
        let counts = [90, 10, 0, 0,
                      30, 70, 0, 0,
                      0, 0, 0, 0,
                      0, 40, 0, 0]
        let map = Heatmap(counts: counts, classCount: 4, labels: ["background", "cat", "dog", "person"])
        XCTAssertEqual(map.normalized(0, 0), 0.9, accuracy: 1e-12)
        XCTAssertEqual(map.normalized(1, 0), 0.3, accuracy: 1e-12)
        XCTAssertEqual(map.normalized(2, 2), 0)
        XCTAssertEqual(map.normalized(3, 1), 1)
        XCTAssertEqual(map.classesToShow(rows: 10, columns: 10), [0, 1, 3], "a class without true pixels is left out")
        XCTAssertEqual(map.classesToShow(rows: 2, columns: 10), [0, 1], "the largest rows when space is short")
        var grid = CellGrid(width: 30, height: 5)
        map.draw(in: grid.bounds, grid: &grid, styles: styles, depth: .direct)
        assertGolden(grid.text, named: "cockpit-heatmap")
        // Diagonal cells are drawn green-ish, off-diagonal red-ish.
        let diagonal = grid[8, 1].style.fg, offDiagonal = grid[8, 2].style.fg
        XCTAssertNotEqual(diagonal, offDiagonal)
    }

    func testLogPaneShowsTheNewestLines() {
        var grid = CellGrid(width: 40, height: 2)
        let lines = [LogLine(.info, place: "it 1", "first"), LogLine(.warning, place: "it 2", "skipped a sample"),
                     LogLine(.checkpoint, place: "it 30", "checkpoint last: runs/x/checkpoints/last.safetensors")]
        LogPane.draw(lines, in: grid.bounds, grid: &grid, styles: styles)
        XCTAssertEqual(grid.line(0).trimmingCharacters(in: .whitespaces), "it 2  ! skipped a sample")
        XCTAssertTrue(grid.line(1).hasPrefix("it 30 ✓ checkpoint last: runs/x/checkpo"), grid.line(1))
        XCTAssertTrue(grid.line(1).hasSuffix("…"))
    }
}
