import Datasets
import Foundation
import TestSupport
import Training
@testable import TUI
import XCTest

final class CockpitRunsTests: XCTestCase {
    /// A run directory as the engine writes it: config.toml and metrics.jsonl (steps and
    /// evaluations as JSON lines), plus one damaged line.
    func writeRun(_ name: String, quality: Double, steps: Int = 46, root: URL? = nil) throws -> URL {
        let dir = (root ?? FileManager.default.temporaryDirectory.appendingPathComponent("segscope-runs-\(UUID().uuidString)"))
            .appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try EngineScript.config().save(to: dir.appendingPathComponent("config.toml"), header: "test run")
        var lines: [String] = []
        for it in 1...steps {
            lines.append(try MessageCoding.jsonLine(EngineScript.step(it)))
            if it % 20 == 0 { lines.append(try MessageCoding.jsonLine(EngineScript.evaluation(it, quality: quality + Double(it) / 400))) }
            if it == 30 { lines.append("{\"type\":\"step\",\"epoch\":") }
        }
        try (lines.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        return dir
    }

    func testReadsMetricsJSONLAndReportsDamagedLines() throws {
        let dir = try writeRun("20261121-170000-xunet", quality: 0.5)
        let h = try RunLog.read(dir)
        XCTAssertEqual(h.steps.count, 46)
        XCTAssertEqual(h.evaluations.count, 2)
        XCTAssertEqual(h.iterationsPerEpoch, 20, "inferred from the steps of the first epoch")
        XCTAssertEqual(h.started?.config.data, Fixtures.voc.path, "config.toml is read")
        XCTAssertEqual(h.classNames.count, 21)
        XCTAssertEqual(h.engineState, .idle)
        XCTAssertTrue(h.log.contains { $0.kind == .warning && $0.text.contains("metrics.jsonl:32: skipped") }, "\(h.log)")
    }

    func testMissingRunDirectoryIsAClearError() {
        XCTAssertThrowsError(try RunLog.read(URL(fileURLWithPath: "/nonexistent/run"))) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/run/metrics.jsonl"), "\(error)")
            XCTAssertTrue("\(error)".contains("run directory"), "\(error)")
        }
    }

    func testPastRunOpensReadOnlyWithAnOverlayGolden() throws {
        let a = try RunLog.read(try writeRun("20261121-170000-xunet", quality: 0.5), model: { name, classes in
            ModelOverview(name: name, trainableParameters: 2_054_563 + 17 * classes, nonTrainableParameters: 4_416)
        })
        let b = try RunLog.read(try writeRun("20261120-090000-xunet", quality: 0.3, steps: 40))
        let (runtime, _, _) = try CockpitHarness.make(events: [])
        var state = runtime.state
        App.openPastRun(&state, name: "20261121-170000-xunet", history: a, overlay: (name: "20261120-090000-xunet", history: b))
        let grid = App.view(state).grid
        assertGolden(grid.text, named: "cockpit-pastrun-100x30")
        XCTAssertTrue(grid.text.contains("past run 20261121-170000-xunet"), grid.text)
        XCTAssertTrue(grid.text.contains("vs 20261120-090000-xunet"), grid.text)
        XCTAssertTrue(grid.text.contains("xunet (2.1M params)"), "parameters come from the model lookup:\n\(grid.text)")
        XCTAssertFalse(grid.text.contains("ETA"), "a past run has no ETA:\n\(grid.text)")
        // Engine keys are off and say why.
        let (after, commands) = App.update(state, .key(.char("p")))
        XCTAssertEqual(commands, [])
        XCTAssertEqual(after.cockpit.notice, "p: a past run is read-only")
        XCTAssertEqual(App.update(state, .key(.char("q"))).1, [.quit], "a past run quits without asking")
    }

    func testPastRunWithoutAKnownModelShowsNoParameterCount() throws {
        let h = try RunLog.read(try writeRun("20261121-170000-xunet", quality: 0.5), model: { _, _ in nil })
        XCTAssertEqual(h.started?.model.trainableParameters, 0)
        let (runtime, _, _) = try CockpitHarness.make(events: [])
        var state = runtime.state
        App.openPastRun(&state, name: "20261121-170000-xunet", history: h)
        let header = App.view(state).grid.line(0)
        XCTAssertTrue(header.contains("· xunet ·"), header)
        XCTAssertFalse(header.contains("params"), header)
    }

    /// Three run directories under one root (one without a log, which is not a run) and a file.
    func writeRoot() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-runs-\(UUID().uuidString)")
        _ = try writeRun("20261120-090000-xunet", quality: 0.3, steps: 40, root: root)
        _ = try writeRun("20261121-170000-xunet", quality: 0.5, root: root)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("20261122-080000-unet"), withIntermediateDirectories: true)
        try "notes".write(to: root.appendingPathComponent("README"), atomically: true, encoding: .utf8)
        return root
    }

    func testCatalogListsRunsNewestFirstWithTheirBestMIoU() throws {
        let root = try writeRoot()
        let entries = try RunArchive.scan(root)
        XCTAssertEqual(entries.map(\.name), ["20261121-170000-xunet", "20261120-090000-xunet"])
        let a = entries[0]
        XCTAssertEqual(a.model, "xunet")
        XCTAssertEqual(a.date, "2026-11-21 17:00")
        XCTAssertEqual(a.iterations, 46)
        XCTAssertEqual(a.totalIterations, 80)
        XCTAssertEqual(a.evaluations, 2)
        XCTAssertEqual(try XCTUnwrap(a.bestMIoU), try XCTUnwrap(RunLog.read(URL(fileURLWithPath: a.path)).evaluations.map(\.mIoU).max()),
                       accuracy: 1e-12)
        XCTAssertEqual(try RunArchive.scan(root.appendingPathComponent("absent")), [], "no runs directory yet: no runs")
        XCTAssertThrowsError(try RunArchive.scan(root.appendingPathComponent("README"))) { error in
            XCTAssertTrue("\(error)".contains("is not a directory"), "\(error)")
        }
    }

    func testRunsBrowserOpensARunReadOnlyWithAnOverlayPicked() throws {
        let root = try writeRoot()
        let (runtime, driver, _) = try CockpitHarness.make(events: CockpitTests.finishedRun, runsRoot: root.path)
        runtime.send([.key(.char("r"))])
        XCTAssertEqual(runtime.state.screen, .runs)
        assertGolden(driver.screen.text.replacingOccurrences(of: root.path, with: "ROOT"), named: "cockpit-runs-100x30")
        // o on the second (older) run picks it as the overlay; Enter on the first opens both.
        runtime.send([.key(.down), .key(.char("o")), .key(.up)])
        XCTAssertEqual(runtime.state.runs.browser?.overlayPath, root.appendingPathComponent("20261120-090000-xunet").path)
        XCTAssertTrue(driver.screen.text.contains("◆ 20261120-090000-xunet"), driver.screen.text)
        runtime.send([.key(.enter)])
        XCTAssertEqual(runtime.state.screen, .cockpit)
        XCTAssertEqual(runtime.state.cockpit.readOnlyName, "20261121-170000-xunet")
        XCTAssertEqual(runtime.state.cockpit.overlayName, "20261120-090000-xunet")
        XCTAssertEqual(runtime.state.cockpit.history.evaluations.count, 2)
        XCTAssertTrue(driver.screen.text.contains("past run 20261121-170000-xunet"), driver.screen.text)
        // Esc from the runs browser returns to where it was opened.
        runtime.send([.key(.char("r")), .key(.escape)])
        XCTAssertEqual(runtime.state.screen, .cockpit)
        // A new run from a past one: the dashboard belongs to the new run.
        runtime.send([.key(.char("n")), .key(.enter)])
        XCTAssertNil(runtime.state.cockpit.readOnlyName)
        XCTAssertNil(runtime.state.cockpit.overlay)
        XCTAssertTrue(runtime.state.cockpit.history.evaluations.isEmpty)
    }

    func testRunsBrowserIsOffDuringALiveRun() throws {
        let (runtime, driver, _) = try CockpitHarness.make(events: EngineScript.twoEpochs())
        runtime.send([.key(.char("r"))])
        XCTAssertEqual(runtime.state.screen, .cockpit)
        XCTAssertTrue(driver.screen.line(driver.rows - 1).contains("r: a run is in progress"), driver.screen.line(driver.rows - 1))
    }
}
