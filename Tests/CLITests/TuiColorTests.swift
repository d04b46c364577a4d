import Foundation
import TestSupport
import XCTest

/// `segscope tui` at each colour depth in a real terminal (tmux), read back with
/// `capture-pane -e`: the colours tmux was told to show, not what the renderer meant.
final class TuiColorTests: XCTestCase {
    private func start(_ args: String, environment: String) throws -> TmuxSession {
        try XCTSkipUnless(TmuxSession.isAvailable, "tmux is not installed (scripts/install-deps.sh installs it)")
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Fixtures.voc.path), "fixtures not found at \(Fixtures.voc.path)")
        let command = "env -u COLORTERM -u NO_COLOR \(environment) LANG=C.UTF-8 LC_ALL= '\(CLI.executable.path)' tui --data '\(Fixtures.voc.path)' --split trainval \(args); sleep 60"
        return try TmuxSession(command: command, columns: 100, rows: 30)
    }

    /// The escaped line holding `text`.
    private func line(_ screen: String, containing text: String) -> String? {
        screen.split(separator: "\n").map(String.init).first { $0.contains(text) }
    }

    /// TERM=xterm-256color without COLORTERM (default tmux, ssh): 256 colours, and VOC's train
    /// (128,192,0) is cube colour 106, not the grey 242 the old index256 gave it.
    func testTwoHundredFiftySixColoursKeepClassColours() throws {
        let session = try start("", environment: "TERM=xterm-256color")
        _ = try session.waitFor(timeout: 60) { $0.contains("▸2007_000032") && $0.contains("person") }
        for _ in 0..<3 { try session.sendKeys("j") }
        let plain = try session.waitFor { $0.contains("▸2007_000042") && $0.contains("██ train") }
        XCTAssertTrue(plain.contains("██ train"), plain)
        var escaped = try session.captureWithEscapes()
        let deadline = Date().addingTimeInterval(10)
        while line(escaped, containing: "38;5;106m██") == nil && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.1)
            escaped = try session.captureWithEscapes()
        }
        let legend = line(escaped, containing: "train ")
        XCTAssertNotNil(line(escaped, containing: "38;5;106m██"), "no train swatch in colour 106:\n\(legend ?? escaped)")
        XCTAssertFalse(escaped.contains("38;5;242m██"), "a class swatch in grey 242:\n\(escaped)")
    }

    /// 16 colours: aeroplane and person (both in 2007_000032) get different ANSI colours.
    func testSixteenColoursGiveClassesTheirOwnANSIColour() throws {
        let session = try start("--color 16", environment: "TERM=xterm-256color")
        _ = try session.waitFor(timeout: 60) { $0.contains("██ aeroplane") && $0.contains("██ person") }
        let escaped = try session.captureWithEscapes()
        // The legend's swatches: red (31) for aeroplane, blue (34) for person.
        XCTAssertTrue(escaped.contains("31m██\u{1B}[39m aeroplane"), escaped)
        XCTAssertTrue(escaped.contains("34m██\u{1B}[39m person"), escaped)
    }

    /// NO_COLOR: no colour at all, and each class keeps its own glyph in the legend and mask.
    func testNoColorUsesGlyphsPerClass() throws {
        let session = try start("", environment: "TERM=xterm-256color NO_COLOR=1")
        let screen = try session.waitFor(timeout: 60) { $0.contains("██ aeroplane") && $0.contains("\\\\ person") }
        XCTAssertTrue(screen.contains("██ aeroplane") && screen.contains("\\\\ person"), screen)
        XCTAssertTrue(screen.contains("·· void (ignored)"), screen)
        let escaped = try session.captureWithEscapes()
        XCTAssertFalse(escaped.contains("38;5;") || escaped.contains("38;2;") || escaped.contains("[31m"), "colours under NO_COLOR:\n\(escaped)")
    }
}
