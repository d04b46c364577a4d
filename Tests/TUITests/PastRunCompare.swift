import Datasets
import Foundation
import TestSupport
import EngineProtocol
@testable import TUI
import XCTest

// A past run opened read-only on compare, for the tests of its saved predictions.

extension XCTestCase {
    /// Steps the runtime until nothing is being read, then draws.
    func settle(_ runtime: AppRuntime) {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            runtime.step(timeoutMilliseconds: 10)
            if case .loading? = runtime.state.compare.saved { continue }
            if runtime.state.compare.savedTarget != nil { continue }
            if let id = App.compareSelectedID(runtime.state), case .loading? = runtime.state.compare.slot(for: id) { continue }
            break
        }
        runtime.render()
    }

    /// `run` opened read-only (as `tui --run DIR`) with the VOC fixtures, then Tab to compare.
    func openCompare(_ run: URL, columns: Int = 100, rows: Int = 30) throws -> (AppRuntime, HeadlessDriver) {
        let voc = try DatasetLoader.open(Fixtures.voc, format: .voc)
        let driver = HeadlessDriver(columns: columns, rows: rows)
        var state = AppState(columns: columns, rows: rows, depth: .direct, theme: try Theme.load(nil, depth: .direct),
                             browser: BrowserState(dataset: voc))
        App.openPastRun(&state, name: run.lastPathComponent, history: try RunLog.read(run))
        let runtime = AppRuntime(state: state, driver: driver,
                                 performer: CockpitPerformer(inner: DatasetPerformer(dataset: voc), link: nil))
        runtime.start()
        XCTAssertTrue(runtime.waitUntilIdle())
        runtime.send([.key(.tab)])
        XCTAssertEqual(runtime.state.screen, .compare)
        settle(runtime)
        return (runtime, driver)
    }
}
