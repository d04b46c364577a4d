import Datasets
import Foundation
import TestSupport
import Training
@testable import TUI
import XCTest

final class CockpitRunsTests: XCTestCase {
    /// A run directory as the engine writes it: config.toml and metrics.jsonl (steps and
    /// evaluations as JSON lines), plus one damaged line.
    func writeRun(_ name: String, quality: Double, steps: Int = 46) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-runs-\(UUID().uuidString)/\(name)")
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
            ModelSummary(name: name, trainableParameters: 2_054_563 + 17 * classes, nonTrainableParameters: 4_416)
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
}
