import EngineProtocol
import Foundation
@testable import TUI
import XCTest

/// Runs are processes of their own (D-261): quitting during one asks detach / stop; the runs
/// browser marks live runs and attaches to one with Enter.
final class DetachQuestionTests: XCTestCase {
    private func quitting(_ configure: (inout AppState) -> Void) throws -> AppState {
        let (runtime, _, _) = try CockpitHarness.make(events: EngineScript.twoEpochs())
        var state = runtime.state
        configure(&state)
        XCTAssertEqual(App.update(&state, .key(.char("q"))), [])
        XCTAssertEqual(state.cockpit.quitQuestion, .asking)
        XCTAssertFalse(state.quit)
        return state
    }

    func testARunStartedHereAsksDetachOrStopGolden() throws {
        let state = try quitting { $0.cockpit.detachable = true }
        let screen = App.view(state).grid.text
        assertGolden(screen, named: "cockpit-quit-detach-100x30")
        XCTAssertTrue(screen.contains("d  detach (it keeps training)"), screen)

        var detach = state
        XCTAssertEqual(App.update(&detach, .key(.char("d"))), [.quit])
        XCTAssertTrue(detach.quit, "d quits at once: the run goes on in its own process")
        var stop = state
        XCTAssertEqual(App.update(&stop, .key(.char("s"))), [.cockpit(.engine(.stop))])
        XCTAssertEqual(stop.cockpit.quitQuestion, .stoppingThenQuit)
        var keep = state
        XCTAssertEqual(App.update(&keep, .key(.escape)), [])
        XCTAssertNil(keep.cockpit.quitQuestion)
    }

    func testAnAttachedRunAsksDetachOrStopGolden() throws {
        let state = try quitting { $0.cockpit.attachment = Attachment(name: "20261121-170000-xunet", control: true) }
        assertGolden(App.view(state).grid.text, named: "cockpit-quit-attached-100x30")
    }

    func testAnEngineInThisProcessCannotBeDetachedFrom() throws {
        var state = try quitting { _ in }
        XCTAssertTrue(App.view(state).grid.text.contains("k/Esc  keep training"))
        XCTAssertEqual(App.update(&state, .key(.char("d"))), [])
        XCTAssertFalse(state.quit)
    }

    private func entry(_ name: String, live: EngineState?) -> RunEntry {
        var e = RunEntry(name: name, path: "/runs/\(name)", model: "xunet", date: "2026-12-04 19:00", iterations: 12,
                         totalIterations: 100, evaluations: 1, bestMIoU: 0.25)
        e.liveState = live
        return e
    }

    func testTheRunsBrowserMarksLiveRunsAndEnterAttaches() throws {
        let (runtime, _, _) = try CockpitHarness.make(events: [])
        var state = runtime.state
        state.cockpit.detachable = true
        state.screen = .browser
        XCTAssertEqual(App.update(&state, .key(.char("r"))), [.cockpit(.scanRuns(root: "runs"))])
        let entries = [entry("20261204-190000-xunet", live: .running), entry("20261204-180000-xunet", live: .paused),
                       entry("20261204-170000-xunet", live: .idle), entry("20261204-160000-xunet", live: nil)]
        _ = App.update(&state, .cockpit(.runs(root: "runs", .success(entries))))
        let screen = App.view(state).grid.text
        let rows = screen.split(separator: "\n").map(String.init)
        func status(_ name: String) -> String? {
            rows.first { $0.contains(name) }.map { $0.replacingOccurrences(of: "  +", with: "|", options: .regularExpression) }
        }
        XCTAssertTrue(status("190000")?.contains("|live|") == true, screen)
        XCTAssertTrue(status("180000")?.contains("|paused|") == true, screen)
        XCTAssertFalse(status("170000")?.contains("live") == true, "a finished run's process is only ending:\n\(screen)")
        XCTAssertTrue(screen.contains("Enter attaches to the selected live run"), screen)

        XCTAssertEqual(App.update(&state, .key(.enter)),
                       [.cockpit(.attachRun(socket: "/runs/20261204-190000-xunet/engine.sock", name: "20261204-190000-xunet"))])
        _ = App.update(&state, .cockpit(.attached(name: "20261204-190000-xunet",
                                                  .success(Attachment(name: "20261204-190000-xunet", control: true)))))
        XCTAssertEqual(state.screen, .cockpit)
        XCTAssertEqual(state.cockpit.attachment, Attachment(name: "20261204-190000-xunet", control: true))
        XCTAssertNil(state.cockpit.readOnlyName)

        // A past run still opens read-only.
        XCTAssertEqual(App.update(&state, .key(.char("r"))), [.cockpit(.scanRuns(root: "runs"))])
        _ = App.update(&state, .cockpit(.runs(root: "runs", .success(entries))))
        _ = App.update(&state, .key(.down))
        _ = App.update(&state, .key(.down))
        _ = App.update(&state, .key(.down))
        XCTAssertEqual(App.update(&state, .key(.enter)), [.cockpit(.openRun(path: "/runs/20261204-160000-xunet", overlay: nil))])
    }

    func testAnAttachThatFailsSaysWhy() throws {
        let (runtime, _, _) = try CockpitHarness.make(events: [])
        var state = runtime.state
        state.screen = .browser
        _ = App.update(&state, .key(.char("r")))
        _ = App.update(&state, .cockpit(.attached(name: "x", .failure(MessageError("/runs/x/engine.sock: cannot connect")))))
        XCTAssertEqual(state.cockpit.notice, "/runs/x/engine.sock: cannot connect")
        XCTAssertNil(state.cockpit.attachment)
    }
}
