import Foundation
import TestSupport
import Training
@testable import TUI
import XCTest

/// Issue #16: the launcher with unet and the default crop 160 (not divisible by unet's 64) shows
/// the model's own stride rule in the form and does not start — the run that used to crash in a
/// skip concat and leave the terminal in the alternate screen.
final class LauncherBadCropTests: XCTestCase {
    func type(_ text: String) -> [InputEvent] { text.unicodeScalars.map { .key(.char($0)) } }

    func testUNetWithTheDefaultCropShowsTheStrideErrorAndDoesNotStart() throws {
        let (runtime, driver, link) = try CockpitHarness.make(events: [.state(.idle)])
        XCTAssertEqual(runtime.state.launcher.form?.focusedKey, "model")
        runtime.send([.key(.ctrl("u"))] + type("unet"))
        let form = try XCTUnwrap(runtime.state.launcher.form)
        XCTAssertEqual(form.parsed.config.model, "unet")
        let error = try XCTUnwrap(form.parsed.errors["crop"], "no crop error in \(form.parsed.errors)")
        XCTAssertTrue(error.contains("unet needs height and width divisible by 64") && error.contains("192x192"), error)
        // The field's note is cut at the box edge; the whole message is shown under the fields.
        XCTAssertTrue(driver.screen.text.contains("✗ crop: 160x160 does not suit unet: unet needs height and width divisible by 64"),
                      driver.screen.text)
        XCTAssertTrue(driver.screen.text.contains("(try 192x192)"), driver.screen.text)

        runtime.send([.key(.enter)])
        XCTAssertEqual(CockpitHarness.sent(link), [], "a form with a crop unet cannot take must not start")
        XCTAssertEqual(runtime.state.screen, .launcher)
        XCTAssertTrue(driver.screen.text.contains("fix 1 field before starting"), driver.screen.text)

        // Enter moved the focus to the field at fault; the crop the message suggests is taken.
        XCTAssertEqual(runtime.state.launcher.form?.focusedKey, "crop")
        runtime.send([.key(.ctrl("u"))] + type("192"))
        XCTAssertEqual(runtime.state.launcher.form?.parsed.errors, [:])
        runtime.send([.key(.enter)])
        var want = TrainingConfig()
        want.model = "unet"
        want.crop = PixelSize(square: 192)
        XCTAssertEqual(CockpitHarness.sent(link), [.start(want)])
    }
}
