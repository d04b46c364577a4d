import Datasets
import EngineProtocol
import Foundation
import TestSupport
@testable import TUI
import XCTest

/// The runs table's dataset, status and duration columns, the config diff of two runs (`d`),
/// and the warning when runs of different datasets or lengths are overlaid.
final class RunsTableTests: XCTestCase {
    /// A run directory: config.toml (with `edit` applied), `steps` logged steps of `total`, and a
    /// last checkpoint when `checkpoint`.
    func writeRun(_ name: String, root: URL, steps: Int, total: Int = 80, checkpoint: Bool = false,
                  edit: (inout TrainingConfig) -> Void = { _ in }) throws {
        let dir = root.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        var config = EngineScript.config()
        config.data = "/data/voc"  // not the fixtures' path, which depends on where the clone is
        edit(&config)
        try config.save(to: dir.appendingPathComponent("config.toml"), header: "test run")
        var lines: [String] = []
        for it in 1...steps {
            lines.append(try MessageCoding.jsonLine(EngineScript.step(it, total: total)))
            if it % 20 == 0 { lines.append(try MessageCoding.jsonLine(EngineScript.evaluation(it, quality: 0.4 + Double(it) / 400))) }
        }
        try (lines.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        if checkpoint {
            try Data([0]).write(to: dir.appendingPathComponent("checkpoints/last.safetensors"))
        }
    }

    /// Three runs: VOC stopped at 46/80 with a checkpoint, VOC done 80/80, and Pets at 30/120
    /// with another learning rate, crop and no checkpoint.
    func writeRoot() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-runs-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: root) }
        try writeRun("20261121-170000-xunet", root: root, steps: 46, checkpoint: true)
        try writeRun("20261120-090000-xunet", root: root, steps: 80, checkpoint: true)
        try writeRun("20261119-120000-xunet", root: root, steps: 30, total: 120) { c in
            c.data = "/data/pets"
            c.format = .pets
            c.lr = 0.01
            c.epochs = 0
            c.iterations = 120
        }
        return root
    }

    func testSummariesCarryDatasetStatusAndDuration() throws {
        let entries = try RunArchive.scan(try writeRoot())
        XCTAssertEqual(entries.map(\.name), ["20261121-170000-xunet", "20261120-090000-xunet", "20261119-120000-xunet"])
        XCTAssertEqual(entries.map(\.dataset), ["voc", "voc", "pets"])
        XCTAssertEqual(entries.map(\.status), ["stopped", "done", "no ckpt"])
        XCTAssertEqual(try XCTUnwrap(entries[0].seconds), 46 * 0.37, accuracy: 1e-9, "the last step's elapsed time")
    }

    func testConfigDifferencesInKeyOrder() throws {
        var a = EngineScript.config(), b = a
        XCTAssertTrue(RunComparison.differences(a, b).isEmpty)
        b.lr = 0.01
        b.data = "/data/pets"
        a.model = "unet"
        let d = RunComparison.differences(a, b)
        XCTAssertEqual(d.map(\.key), TrainingConfig.keys.map(\.name).filter { ["lr", "data", "model"].contains($0) })
        let lr = try XCTUnwrap(d.first { $0.key == "lr" })
        XCTAssertEqual(lr.b, ConfigValue.float(0.01).description)
    }

    func testOverlayWarnings() {
        XCTAssertEqual(RunComparison.overlayWarnings(dataA: "/d/voc", totalA: 80, dataB: "/d/voc/", totalB: 80), [])
        XCTAssertEqual(RunComparison.overlayWarnings(dataA: "/d/voc", totalA: 80, dataB: "/e/pets", totalB: 120),
                       ["other dataset (voc vs pets)", "other length (80 vs 120 iterations)"])
        XCTAssertEqual(RunComparison.overlayWarnings(dataA: "", totalA: 0, dataB: "/e/pets", totalB: 120), [], "unknown is not different")
    }

    func testRunsTableDiffAndOverlayWarningGoldens() throws {
        let root = try writeRoot()
        let (runtime, driver, _) = try CockpitHarness.make(events: CockpitTests.finishedRun, runsRoot: root.path)
        runtime.send([.key(.char("r"))])
        func screen() -> String { driver.screen.text.replacingOccurrences(of: root.path, with: "ROOT") }
        XCTAssertTrue(screen().contains("dataset") && screen().contains("status") && screen().contains("duration"), screen())
        // d needs a picked run first, and says so.
        runtime.send([.key(.char("d"))])
        XCTAssertEqual(runtime.state.cockpit.notice, "d: pick a second run with o first")
        // Pick the Pets run (third) as the overlay, select the first, show the diff.
        runtime.send([.key(.down), .key(.down), .key(.char("o")), .key(.up), .key(.up), .key(.char("d"))])
        XCTAssertEqual(runtime.state.runs.browser?.showDiff, true)
        let diffScreen = screen()
        assertGolden(diffScreen, named: "runs-diff-100x30")
        XCTAssertTrue(diffScreen.contains("⚠ overlay: other dataset (voc vs pets), other length (80 vs 120 iterations)"), diffScreen)
        XCTAssertTrue(diffScreen.contains("config: 20261121-170000-xunet (▸) vs 20261119-120000-xunet (◆)"), diffScreen)
        for key in ["data", "format", "lr", "epochs", "iterations"] {
            XCTAssertTrue(diffScreen.split(separator: "\n").contains { $0.contains("  \(key) ") }, "\(key) missing:\n\(diffScreen)")
        }
        // Opening with that overlay: the dashboard warns too, in its log.
        runtime.send([.key(.enter)])
        XCTAssertEqual(runtime.state.screen, .cockpit)
        XCTAssertTrue(runtime.state.cockpit.history.log.contains { $0.kind == .warning && $0.text.contains("other dataset (voc vs pets)") },
                      "\(runtime.state.cockpit.history.log)")
        XCTAssertTrue(driver.screen.text.contains("overlay 20261119-120000-xunet: other dataset (voc vs pets)"), driver.screen.text)
    }
}
