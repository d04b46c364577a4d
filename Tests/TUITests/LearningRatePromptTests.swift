import EngineProtocol
import Foundation
import TUI
import XCTest

/// `L` shows and changes the base learning rate (not the step's scheduled rate), and the
/// engine's `learningRateChanged` lands in the cockpit's log (D-260).
final class LearningRatePromptTests: XCTestCase {
    private func footer(_ driver: HeadlessDriver) -> String { driver.screen.line(driver.rows - 1) }

    func testThePromptShowsTheBaseRateAndTheChangeIsLogged() throws {
        let (runtime, driver, link) = try CockpitHarness.make(events: EngineScript.twoEpochs())
        let scheduled = try XCTUnwrap(runtime.state.cockpit.history.lastStep?.learningRate)
        XCTAssertLessThan(scheduled, 1e-3, "the poly schedule has lowered the step's rate")
        runtime.send([.key(.char("L"))])
        XCTAssertEqual(runtime.state.dashboard.prompt?.text, "0.001", "the base rate, not the scheduled \(scheduled)")
        XCTAssertTrue(footer(driver).contains("base learning rate: 0.001"), footer(driver))
        XCTAssertTrue(footer(driver).contains("after the schedule"), footer(driver))

        runtime.send([.key(.ctrl("u"))] + "5e-4".unicodeScalars.map { .key(.char($0)) } + [.key(.enter)])
        XCTAssertEqual(CockpitHarness.sent(link), [.setLearningRate(5e-4)])
        XCTAssertEqual(runtime.state.cockpit.notice, "base learning rate 0.001 → 0.0005")

        runtime.dispatch(.cockpit(.engine(.learningRateChanged(LearningRateChanged(iteration: 46, from: 1e-3, to: 5e-4)))))
        XCTAssertEqual(runtime.state.cockpit.history.baseLearningRate, 5e-4)
        XCTAssertEqual(runtime.state.cockpit.history.log.last, LogLine(.info, place: "it 46", "base learning rate 0.001 → 0.0005"))
        runtime.send([])
        XCTAssertTrue(driver.screen.text.contains("base learning rate 0.001 → 0.0005"), driver.screen.text)

        // The next prompt starts from the new base; Enter on it unchanged sends nothing.
        runtime.send([.key(.char("L"))])
        XCTAssertEqual(runtime.state.dashboard.prompt?.text, "0.0005")
        runtime.send([.key(.enter)])
        XCTAssertEqual(CockpitHarness.sent(link), [])
        XCTAssertEqual(runtime.state.cockpit.notice, "base learning rate unchanged (0.0005)")
    }

    func testAResumedRunStartsFromTheRateItsConfigRecords() {
        var started = EngineScript.started()
        started.config.lrChanges = "10:0.002,30:0.004"
        started.resumedFromIteration = 20
        var history = RunHistory()
        history.apply(.runStarted(started))
        XCTAssertEqual(history.baseLearningRate, 0.002, "the change after 10 applies at 21; the one after 30 is still to come")
        history.apply(.learningRateChanged(LearningRateChanged(iteration: 30, from: 0.002, to: 0.004, replayed: true)))
        XCTAssertEqual(history.log.last?.text, "base learning rate 0.002 → 0.004 (lr_changes of the config)")
    }

    func testANewRunFromTheLastOneDoesNotReplayItsChanges() throws {
        var events = EngineScript.twoEpochs()
        guard case .runStarted(var started) = events[1] else { return XCTFail() }
        started.config.lrChanges = "3:0.002"
        events[1] = .runStarted(started)
        events.append(.finished(RunSummary(reason: .stopped, iterations: 46, epochs: 3, bestMIoU: nil, bestIteration: nil,
                                           lastMIoU: nil, seconds: 10, runDirectory: started.runDirectory)))
        events.append(.state(.idle))
        let (runtime, _, _) = try CockpitHarness.make(events: events)
        runtime.send([.key(.char("n"))])
        XCTAssertEqual(runtime.state.screen, .launcher)
        XCTAssertEqual(runtime.state.launcher.form?.base.lrChanges, "")
        XCTAssertEqual(runtime.state.launcher.form?.base.lr, started.config.lr)
    }
}
