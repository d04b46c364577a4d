import Datasets
import Foundation
import TestSupport
@testable import TUI
import XCTest

final class ThemeAndColorTests: XCTestCase {
    private var themesDirectory: URL { Fixtures.repositoryRoot.appendingPathComponent("themes") }

    func testEveryThemeFileIsCompiledInAsItIs() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: themesDirectory.path).filter { $0.hasSuffix(".theme") }
        XCTAssertEqual(Set(files.map { String($0.dropLast(".theme".count)) }), Set(BuiltinThemes.text.keys),
                       "every file in themes/ is listed in BuiltinThemes.files")
        for name in Theme.builtinNames {
            let file = try String(contentsOf: themesDirectory.appendingPathComponent("\(name).theme"), encoding: .utf8)
            XCTAssertEqual(BuiltinThemes.text[name].map { $0 + "\n" }, file, "themes/\(name).theme and the embedded copy differ")
        }
    }

    func testEveryThemeSetsEveryRoleWithACommentAbove() throws {
        for name in Theme.builtinNames {
            let text = try XCTUnwrap(BuiltinThemes.text[name])
            // Parsing without a base fails on any missing role.
            let theme = try Theme.parse(text, name: name, base: nil)
            XCTAssertEqual(theme.warnings, [])
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            for (i, line) in lines.enumerated() where line.contains("=") && !line.hasPrefix("#") {
                XCTAssertTrue(i > 0 && lines[i - 1].hasPrefix("# "), "\(name).theme: `\(line)` has no comment above it")
            }
        }
    }

    func testMissingKeysFallBackToTheDefault() throws {
        let theme = try Theme.parse("# only one key\nselected_bg = \"#ff0000\"\nfancy = \"#000000\"\nclass_15 = \"#010203\"\n", name: "mine.theme")
        XCTAssertEqual(theme[.selectedBg], .rgb(255, 0, 0))
        XCTAssertEqual(theme[.mainBg], Theme.builtinDefault[.mainBg])
        XCTAssertEqual(theme.warnings, ["mine.theme:3: unknown key fancy (ignored)"])
        let styles = Styles(theme: theme, depth: .direct)
        XCTAssertEqual(styles.palette(vocColormap)[15], RGB(1, 2, 3))
        XCTAssertEqual(styles.palette(vocColormap)[1], vocColormap[1])
    }

    func testBadValuesNameTheFileAndLine() {
        XCTAssertThrowsError(try Theme.parse("main_bg = \"#12345\"\n", name: "bad.theme")) { error in
            XCTAssertTrue("\(error)".hasPrefix("bad.theme:1: main_bg = \"#12345\" is not a colour"), "\(error)")
        }
        XCTAssertThrowsError(try Theme.parse("\n\njust words\n", name: "bad.theme")) { error in
            XCTAssertTrue("\(error)".hasPrefix("bad.theme:3:"), "\(error)")
        }
        XCTAssertThrowsError(try Theme.load("no-such-theme", depth: .direct)) { error in
            XCTAssertTrue("\(error)".contains("built-in themes are default, light, high-contrast, 16color"), "\(error)")
        }
    }

    func testThemeChoiceFollowsColourDepth() throws {
        XCTAssertEqual(try Theme.load(nil, depth: .direct).name, "default")
        XCTAssertEqual(try Theme.load(nil, depth: .ansi256).name, "default")
        let fallback = try Theme.load(nil, depth: .ansi16)
        XCTAssertEqual(fallback.name, "16color")
        XCTAssertEqual(fallback[.selectedBg], .ansi(4))
        XCTAssertEqual(fallback[.mainBg], .default)
        XCTAssertEqual(try Theme.load("light", depth: .ansi16)[.mainBg], .rgb(0xF6, 0xF6, 0xF3))
        // Monochrome drops colours and keeps distinctions as attributes.
        let mono = Styles(theme: try Theme.load(nil, depth: .mono), depth: .mono)
        XCTAssertEqual(mono.selected, Style(attributes: [.reverse, .bold]))
        XCTAssertEqual(mono.main, Style())
    }

    func testColourDepthDetection() throws {
        XCTAssertEqual(ColorDepth.detect(environment: ["TERM": "xterm-256color", "NO_COLOR": "1"]), .mono)
        XCTAssertEqual(ColorDepth.detect(environment: ["TERM": "xterm-256color", "NO_COLOR": ""]), .ansi256)
        XCTAssertEqual(ColorDepth.detect(environment: ["TERM": "xterm-256color", "COLORTERM": "truecolor"]), .direct)
        XCTAssertEqual(ColorDepth.detect(environment: ["TERM": "xterm-direct"]), .direct)
        XCTAssertEqual(ColorDepth.detect(environment: ["TERM": "xterm"]), .ansi16)
        XCTAssertEqual(ColorDepth.detect(environment: ["TERM": "vt100"]), .mono)
        XCTAssertEqual(ColorDepth.detect(environment: ["TERM": "linux"]), .ansi16)
        XCTAssertEqual(try ColorDepth.parse(option: "auto"), nil)
        XCTAssertEqual(try ColorDepth.parse(option: "truecolor"), .direct)
        XCTAssertEqual(try ColorDepth.parse(option: "16"), .ansi16)
        // --color wins over NO_COLOR.
        XCTAssertEqual(ColorDepth.resolve(option: .ansi256, environment: ["NO_COLOR": "1"]), .ansi256)
        XCTAssertThrowsError(try ColorDepth.parse(option: "lots")) { error in
            XCTAssertTrue("\(error)".contains("expected one of auto, direct"), "\(error)")
        }
    }

    func testPaletteMapping() {
        XCTAssertEqual(ColorMapping.index256(0, 0, 0), 16)
        XCTAssertEqual(ColorMapping.index256(255, 255, 255), 231)
        XCTAssertEqual(ColorMapping.index256(255, 0, 0), 196)
        XCTAssertEqual(ColorMapping.index256(128, 128, 128), 244)
        XCTAssertEqual(ColorMapping.index16(128, 0, 0), 1)    // VOC aeroplane → red
        XCTAssertEqual(ColorMapping.index16(250, 250, 250), 15)
        XCTAssertEqual(ColorMapping.index16(0, 0, 0), 0)
    }
}
