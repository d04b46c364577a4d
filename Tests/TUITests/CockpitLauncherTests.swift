import Datasets
import Foundation
import TestSupport
import EngineProtocol
@testable import TUI
import XCTest

final class CockpitLauncherTests: XCTestCase {
    func type(_ text: String) -> [InputEvent] { text.unicodeScalars.map { .key(.char($0)) } }

    func testTOpensTheLauncherWithTheDefaultsWhenNoRunStarted() throws {
        let (runtime, driver, _) = try CockpitHarness.make(events: [.state(.idle)])
        XCTAssertEqual(runtime.state.screen, .launcher)
        let form = try XCTUnwrap(runtime.state.launcher.form)
        XCTAssertEqual(form.parsed.config, TrainingConfig(), "the form starts from TrainingConfig's defaults")
        XCTAssertEqual(form.parsed.errors, [:])
        XCTAssertTrue(driver.screen.text.contains("ready: xunet on the demo set"), driver.screen.text)
        assertGolden(driver.screen.text, named: "cockpit-launcher-100x30")
    }

    func testEditsAreValidatedAsYouTypeAndEnterStarts() throws {
        let (runtime, driver, link) = try CockpitHarness.make(events: [.state(.idle)])
        // To "batch" (field 6), clear it, type 0: invalid at once.
        runtime.send(Array(repeating: InputEvent.key(.down), count: 6) + [.key(.ctrl("u"))] + type("0"))
        XCTAssertEqual(runtime.state.launcher.form?.focusedKey, "batch")
        XCTAssertNotNil(runtime.state.launcher.form?.parsed.errors["batch"])
        XCTAssertTrue(driver.screen.text.contains("✗ 0 is out of range"), driver.screen.text)
        runtime.send([.key(.enter)])
        XCTAssertEqual(CockpitHarness.sent(link), [], "an invalid form does not start")
        XCTAssertEqual(runtime.state.screen, .launcher)
        runtime.send([.key(.backspace)] + type("4"))
        XCTAssertNil(runtime.state.launcher.form?.parsed.errors["batch"])
        // The optimizer cycles through its choices.
        runtime.send([.key(.down), .key(.down), .key(.down), .key(.right)])
        XCTAssertEqual(runtime.state.launcher.form?.texts["optimizer"], "adamw")
        // lr: text that is not a number.
        runtime.send([.key(.down), .key(.ctrl("u"))] + type("fast"))
        XCTAssertTrue(driver.screen.text.contains("'fast' is not a number"), driver.screen.text)
        runtime.send([.key(.ctrl("u"))] + type("0.01") + [.key(.enter)])
        var want = TrainingConfig()
        want.batch = 4
        want.optimizer = .adamw
        want.lr = 0.01
        XCTAssertEqual(CockpitHarness.sent(link), [.start(want)])
        XCTAssertEqual(runtime.state.screen, .cockpit)
    }

    /// The Pets border (class or void) is a field of the form, cycled with ← →, and the run
    /// starts with it (issue #15); `tui --pets-border` sets the form's starting value.
    func testPetsBorderIsAFieldOfTheForm() throws {
        let (runtime, driver, link) = try CockpitHarness.make(events: [.state(.idle)], launchBase: {
            var c = TrainingConfig()
            c.petsBorder = .void
            return c
        }())
        XCTAssertEqual(runtime.state.launcher.form?.texts["pets_border"], "void")
        runtime.send([.key(.backTab)])
        XCTAssertEqual(runtime.state.launcher.form?.focusedKey, "pets_border")
        XCTAssertTrue(driver.screen.text.contains("pets_border   ‹ void ›"), driver.screen.text)
        runtime.send([.key(.right)])
        XCTAssertEqual(runtime.state.launcher.form?.texts["pets_border"], "class")
        runtime.send([.key(.right), .key(.enter)])
        var want = TrainingConfig()
        want.petsBorder = .void
        XCTAssertEqual(CockpitHarness.sent(link), [.start(want)])
    }

    func testNewRunFromAFinishedRunStartsFromItsConfiguration() throws {
        let (runtime, _, _) = try CockpitHarness.make(events: CockpitTests.finishedRun)
        runtime.send([.key(.char("n"))])
        XCTAssertEqual(runtime.state.screen, .launcher)
        XCTAssertEqual(runtime.state.launcher.form?.texts["data"], Fixtures.voc.path)
        XCTAssertEqual(runtime.state.launcher.form?.texts["epochs"], "4")
        runtime.send([.key(.escape)])
        XCTAssertEqual(runtime.state.screen, .browser)
    }

    func testLauncherStartsFromTheSessionsDatasetAndCountsEpochsOrIterations() throws {
        let (runtime, _, link) = try CockpitHarness.make(events: [.state(.idle)], launchBase: {
            var c = TrainingConfig()
            c.data = Fixtures.voc.path
            c.format = .voc
            return c
        }())
        XCTAssertEqual(runtime.state.launcher.form?.texts["data"], Fixtures.voc.path, "tui --data fills the launcher's data")
        // To "iterations" (field 8): typing a positive count sets epochs to 0, and back.
        runtime.send(Array(repeating: InputEvent.key(.down), count: 8) + [.key(.ctrl("u"))] + type("12"))
        XCTAssertEqual(runtime.state.launcher.form?.focusedKey, "iterations")
        XCTAssertEqual(runtime.state.launcher.form?.texts["epochs"], "0")
        XCTAssertEqual(runtime.state.launcher.form?.parsed.errors, [:])
        runtime.send([.key(.enter)])
        var want = TrainingConfig()
        want.data = Fixtures.voc.path
        want.format = .voc
        want.epochs = 0
        want.iterations = 12
        XCTAssertEqual(CockpitHarness.sent(link), [.start(want)])
    }
}
