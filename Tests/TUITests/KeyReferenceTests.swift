import Foundation
import TestSupport
@testable import TUI
import XCTest

/// `segscope tui --help` lists every key binding of every screen, from the tables the screens
/// dispatch on.
final class KeyReferenceTests: XCTestCase {
    /// Whitespace collapsed, so the help's line wrapping does not matter.
    private func words(_ text: String) -> String {
        text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    private var tables: [(String, [(key: String, text: String)])] {
        [("browser", App.browserKeys.referenceEntries), ("dashboard", App.cockpitKeys.referenceEntries),
         ("compare", App.compareKeys.referenceEntries), ("runs", App.runsKeys.referenceEntries),
         ("launcher", App.launcherHelp.map { ($0.key, $0.text) })]
    }

    func testReferenceHasEveryBindingOfEveryScreen() {
        let reference = App.keyReference
        var count = 0
        for (screen, entries) in tables {
            XCTAssertFalse(entries.isEmpty, screen)
            for entry in entries {
                let line = reference.components(separatedBy: "\n").first {
                    $0.hasPrefix("  \(entry.key) ") && $0.hasSuffix("  \(entry.text)")
                }
                XCTAssertNotNil(line, "\(screen): '\(entry.key)' missing:\n\(reference)")
                count += 1
            }
        }
        XCTAssertEqual(reference.components(separatedBy: "\n").filter { $0.hasPrefix("  ") }.count, count,
                       "one line per binding, nothing else indented")
    }

    func testTuiHelpShowsTheReference() throws {
        let result = try CLI.run(["tui", "--help"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let help = words(result.stdout)
        for (screen, entries) in tables {
            for entry in entries {
                XCTAssertTrue(help.contains(words("\(entry.key) \(entry.text)")), "\(screen): '\(entry.key)' missing:\n\(result.stdout)")
            }
        }
    }
}
