@testable import TUI
import EngineProtocol
import XCTest

/// Charts as issue #19 asks: legends, a log axis, the EMA control, the learning-rate chart and
/// a y range that an outlier does not squash.
final class ChartControlsTests: XCTestCase {
    let styles = Styles(theme: Theme.builtinDefault, depth: .direct)

    func testRobustRangeLeavesOutASpikeButKeepsASmoothFall() {
        // A first-iteration spike of 20 over losses near 1 is beyond the upper fence.
        let spiky = [20.0] + (1...40).map { 1 + 0.1 * sin(Double($0)) }
        let r = ChartMath.robustRange(spiky)
        XCTAssertLessThan(r.hi, 2, "\(r)")
        XCTAssertGreaterThan(r.hi, 1.05)
        XCTAssertEqual(r.lo, spiky.min()!, accuracy: 1e-12)
        // A loss falling smoothly from 3 to 0.5 keeps its whole range.
        let falling = (0...50).map { 0.5 + 2.5 * exp(-Double($0) / 10) }
        let f = ChartMath.robustRange(falling)
        XCTAssertEqual(f.lo, falling.min()!, accuracy: 1e-12)
        XCTAssertEqual(f.hi, falling.max()!, accuracy: 1e-12)
        // Too few values for quartiles: min and max.
        XCTAssertTrue(ChartMath.robustRange([5, 1, 100]) == (1, 100))
        XCTAssertTrue(ChartMath.robustRange([]) == (0, 1))
    }

    func testSmallTickLabelsAndLogTicks() {
        XCTAssertEqual(ChartMath.label(0.00075, step: 0.00025), "7.5e-4")
        XCTAssertEqual(ChartMath.label(0.0005, step: 0.00025), "5e-4")
        XCTAssertEqual(ChartMath.label(0.001, step: 0.00025), "1e-3")
        let decades = ChartMath.logTicks(lo: -3.2, hi: 0.4, count: 6)
        XCTAssertEqual(decades.ticks, [-4, -3, -2, -1, 0, 1])
        XCTAssertEqual(decades.ticks.map(ChartMath.logLabel), ["1e-4", "1e-3", "0.01", "0.1", "1", "10"])
        XCTAssertEqual(ChartMath.logLabel(log10(300)), "300")
        XCTAssertEqual(ChartMath.logLabel(log10(2.5)), "2.5")
        // Every other decade when there are more decades than ticks; the range ends on a tick.
        let sparse = ChartMath.logTicks(lo: -3.2, hi: 0.4, count: 4)
        XCTAssertEqual(sparse.ticks, [-4, -2, 0, 2])
        XCTAssertEqual(sparse.hi, 2)
    }

    func testSmoothingStepsCycle() {
        var w = 0.9
        var seen: [Double] = []
        for _ in 0..<6 {
            w = DashboardState.nextSmoothing(after: w)
            seen.append(w)
        }
        XCTAssertEqual(seen, [0.95, 0.99, 0, 0.6, 0.8, 0.9])
        XCTAssertEqual(DashboardState.nextSmoothing(after: 0.7), 0.8, "a weight between stops goes up to the next")
    }

    /// A loss chart whose first value is a spike of 20 over values near 1.
    func spikeChart(scale: ChartScale, robust: Bool = true) -> String {
        var grid = CellGrid(width: 32, height: 9)
        let loss = (1...40).map { ChartPoint(Double($0), $0 == 1 ? 20 : 0.6 + 0.5 * exp(-Double($0) / 12)) }
        let val = [10, 20, 30, 40].map { ChartPoint(Double($0), 0.9 - 0.005 * Double($0)) }
        LineChart(series: [ChartSeries(name: "train", points: loss, color: .ansi(3), faint: true),
                           ChartSeries(name: "val", points: val, color: .ansi(2))],
                  xLabel: "iteration", glyphs: .braille, scale: scale, robust: robust)
            .draw(in: grid.bounds, grid: &grid, styles: styles)
        return grid.text
    }

    func testASpikeIsClippedAndCountedNotSquashingTheAxis() {
        let screen = spikeChart(scale: .linear)
        assertGolden(screen, named: "chart-spike-robust")
        XCTAssertTrue(screen.contains("▲1"), screen)
        XCTAssertTrue(screen.contains("━train") && screen.contains("━val"), "legend: \(screen)")
        XCTAssertFalse(screen.contains("20┤"), "the axis does not reach the spike: \(screen)")
        // Without the robust range the spike sets the axis (what the issue saw).
        let squashed = spikeChart(scale: .linear, robust: false)
        XCTAssertTrue(squashed.contains("20┤"), squashed)
        XCTAssertFalse(squashed.contains("▲"), squashed)
    }

    func testLogScaleChartGolden() {
        let screen = spikeChart(scale: .log)
        assertGolden(screen, named: "chart-spike-log")
        XCTAssertTrue(screen.contains("log"), screen)
    }

    func testDashboardKeysToggleLogScaleAndSmoothingAndShowTheLRChart() throws {
        let (runtime, driver, _) = try CockpitHarness.make(events: EngineScript.twoEpochs())
        var screen = driver.screen.text
        XCTAssertTrue(screen.contains("learning rate 4.63e-04"), screen)
        XCTAssertTrue(screen.contains("━lr"), screen)
        XCTAssertTrue(screen.contains("━EMA 0.9 "), screen)
        runtime.send([.key(.char("w"))])
        screen = driver.screen.text
        XCTAssertTrue(screen.contains("━EMA 0.95"), screen)
        XCTAssertEqual(runtime.state.dashboard.smoothing, 0.95)
        runtime.send([.key(.char("l"))])
        XCTAssertTrue(runtime.state.dashboard.logScale)
        assertGolden(driver.screen.text, named: "cockpit-dashboard-log-100x30")
        runtime.send([.key(.char("l"))])
        XCTAssertFalse(runtime.state.dashboard.logScale)
        // Smoothing off: the train loss is drawn once, as "train", with no EMA entry.
        for _ in 0..<3 { runtime.send([.key(.char("w"))]) }
        XCTAssertEqual(runtime.state.dashboard.smoothing, 0.6)
        for _ in 0..<5 { runtime.send([.key(.char("w"))]) }
        XCTAssertEqual(runtime.state.dashboard.smoothing, 0)
        screen = driver.screen.text
        XCTAssertFalse(screen.contains("EMA"), screen)
        XCTAssertTrue(screen.contains("━train  ━val"), screen)
    }
}
