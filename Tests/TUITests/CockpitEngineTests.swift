import Datasets
import Foundation
import TestSupport
import Training
@testable import TUI
import XCTest

/// The cockpit driving a real training engine in this process (`EngineLink(host:)` on a
/// `TrainingEngine` with `ModelTrainingSession`, as the program makes it), as `segscope tui` does: launcher → run → first evaluation → compare
/// with an engine prediction → quit asks → stop with a checkpoint → quit.
final class CockpitEngineTests: XCTestCase {
    /// Steps the runtime (as its loop does) until `done` holds; false after `timeout` seconds.
    @discardableResult
    func pump(_ runtime: AppRuntime, timeout: TimeInterval = 120, until done: (AppState) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !done(runtime.state) {
            if Date() > deadline { return false }
            runtime.step(timeoutMilliseconds: 10)
        }
        return true
    }

    func testLauncherStartsARealRunThatEvaluatesComparesAndStopsWithACheckpoint() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-cockpit-engine-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let data = root.appendingPathComponent("demo")
        try DemoDataset.generate(to: data, options: DemoDataset.Options(train: 4, val: 2))
        let dataset = try DatasetLoader.open(data)
        var config = TrainingConfig()
        config.data = data.path
        config.crop = PixelSize(square: 32)
        config.batch = 2
        config.epochs = 0
        config.iterations = 400
        config.evalInterval = 2
        config.threads = 1
        config.runsDir = root.appendingPathComponent("runs").path

        let driver = HeadlessDriver(columns: 100, rows: 30)
        var state = AppState(columns: 100, rows: 30, depth: .direct, theme: try Theme.load(nil, depth: .direct),
                             browser: BrowserState(dataset: dataset))
        state.launcher.base = config
        let link = EngineLink(host: TrainingEngine { config, context in try ModelTrainingSession(config: config, context: context) })
        let runtime = AppRuntime(state: state, driver: driver, performer: CockpitPerformer(inner: DatasetPerformer(dataset: dataset), link: link))
        let poster = runtime.poster
        link.pump { poster(.cockpit(.engine($0))) }
        defer { link.shutdown(timeout: 60) }
        runtime.start()
        XCTAssertTrue(runtime.waitUntilIdle())
        XCTAssertFalse(link.isLaunched, "browsing does not start the engine")

        runtime.send([.key(.char("t"))])
        XCTAssertEqual(runtime.state.launcher.form?.texts["data"], data.path)
        runtime.send([.key(.enter)])
        XCTAssertTrue(link.isLaunched)
        XCTAssertTrue(pump(runtime) { $0.cockpit.history.evaluationCount > 0 || $0.cockpit.history.failure != nil },
                      "no evaluation arrived:\n\(driver.screen.text)")
        XCTAssertNil(runtime.state.cockpit.history.failure)
        runtime.render()
        XCTAssertTrue(driver.screen.text.contains("val mIoU ·"), driver.screen.text)
        XCTAssertTrue(driver.screen.text.contains("eval val: mIoU"), driver.screen.text)

        // Compare: the gallery lists the validation images; the engine predicts the selected one.
        runtime.send([.key(.tab)])
        XCTAssertEqual(runtime.state.screen, .compare)
        let shown = try XCTUnwrap(App.compareSelectedID(runtime.state))
        XCTAssertTrue(pump(runtime) { $0.cockpit.history.predictions[shown] != nil }, "no prediction for \(shown)")
        XCTAssertTrue(pump(runtime) { state in
            if case .loaded? = state.compare.slot(for: shown) { return true } else { return false }
        })
        runtime.render()
        XCTAssertTrue(driver.screen.text.contains("val_0000") && driver.screen.text.contains("val_0001"), driver.screen.text)
        XCTAssertTrue(driver.screen.text.contains("predicted at it"), driver.screen.text)

        // Pause and resume reach the engine and come back as its state.
        runtime.send([.key(.tab), .key(.char("p"))])
        XCTAssertTrue(pump(runtime) { $0.cockpit.history.engineState == .paused }, "not paused")
        runtime.send([.key(.char("p"))])
        XCTAssertTrue(pump(runtime) { $0.cockpit.history.engineState == .running }, "not running again")

        // Quitting asks; s stops with a checkpoint and quits once the engine is idle.
        runtime.send([.key(.char("q"))])
        XCTAssertEqual(runtime.state.cockpit.quitQuestion, .asking)
        XCTAssertFalse(runtime.state.quit)
        runtime.send([.key(.char("s"))])
        XCTAssertTrue(pump(runtime) { $0.quit }, "did not quit after the stop:\n\(driver.screen.text)")
        let finished = try XCTUnwrap(runtime.state.cockpit.history.finished)
        XCTAssertEqual(finished.reason, .stopped)
        XCTAssertTrue(link.shutdown(timeout: 60), "the engine thread did not end")
        let last = URL(fileURLWithPath: finished.runDirectory).appendingPathComponent("checkpoints/last.safetensors")
        XCTAssertTrue(FileManager.default.fileExists(atPath: last.path), "no checkpoint at \(last.path)")
        XCTAssertEqual(runtime.state.cockpit.history.lastCheckpoint?.iteration, finished.iterations,
                       "the last checkpoint is of the iteration the run stopped at")
    }
}
