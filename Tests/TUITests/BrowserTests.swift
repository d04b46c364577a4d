import Datasets
@testable import TUI
import XCTest

final class BrowserTests: XCTestCase {
    private let dataset = MemoryDataset(lists: ["train": (1...40).map { "img_\(String(format: "%03d", $0))" },
                                                "val": ["val_001", "val_002"]])

    func testStartListsSamplesScansThemAndLoadsTheFirst() throws {
        let (runtime, driver) = try Harness.make(dataset)
        let b = runtime.state.browser
        XCTAssertEqual(b.splitIDs.count, 40)
        XCTAssertEqual(b.scanProgress.done, 40)
        XCTAssertEqual(b.selectedID, "img_001")
        guard case .loaded? = b.slot(for: "img_001") else { return XCTFail("first sample not loaded") }
        let screen = driver.screen.text
        XCTAssertTrue(screen.contains("▸img_001"), screen)
        XCTAssertTrue(screen.contains("Samples · train (40)"), screen)
        XCTAssertTrue(screen.contains("person"), screen)
    }

    func testUpdateIsPureAndAsksForTheNewSample() throws {
        let (runtime, _) = try Harness.make(dataset)
        let before = runtime.state
        let (after, commands) = App.update(before, .key(.char("j")))
        XCTAssertEqual(before.browser.selection, 0, "update must not change its input")
        XCTAssertEqual(after.browser.selection, 1)
        XCTAssertEqual(commands, [.loadSample(id: "img_002")])
        let (back, again) = App.update(after, .key(.up))
        XCTAssertEqual(back.browser.selection, 0)
        XCTAssertEqual(again, [], "img_001 is cached")
    }

    func testPagingScrollsTheListAndKeepsTheSelectionVisible() throws {
        let (runtime, driver) = try Harness.make(dataset)
        runtime.send([.key(.pageDown), .key(.pageDown)])
        let b = runtime.state.browser
        XCTAssertGreaterThan(b.scroll, 0)
        XCTAssertTrue(driver.screen.text.contains("▸\(b.selectedID!)"))
        runtime.send([.key(.end)])
        XCTAssertEqual(runtime.state.browser.selectedID, "img_040")
        XCTAssertTrue(driver.screen.text.contains("▸img_040"))
        runtime.send([.key(.home)])
        XCTAssertEqual(runtime.state.browser.scroll, 0)
    }

    func testFilterByIdAndByClassName() throws {
        let (runtime, driver) = try Harness.make(dataset)
        runtime.send([.key(.char("/")), .key(.char("0")), .key(.char("3")), .key(.char("5"))])
        XCTAssertEqual(runtime.state.browser.visible.count, 1)
        XCTAssertTrue(driver.screen.text.contains("/ 035"), driver.screen.text)
        runtime.send([.key(.escape)])
        XCTAssertEqual(runtime.state.browser.visible.count, 40)
        // Sample n holds class 1 + n % 20: "cow" (10) is in img_009, img_029.
        runtime.send([.key(.char("/"))] + "cow".unicodeScalars.map { .key(.char($0)) } + [.key(.enter)])
        XCTAssertFalse(runtime.state.browser.editingFilter)
        XCTAssertEqual(runtime.state.browser.visible.map { runtime.state.browser.splitIDs[$0] }, ["img_009", "img_029"])
        XCTAssertEqual(runtime.state.browser.selectedID, "img_009")
        XCTAssertTrue(driver.screen.text.contains("/cow 2/40"), driver.screen.text)
    }

    func testSplitSwitchWithTab() throws {
        let (runtime, driver) = try Harness.make(dataset)
        runtime.send([.key(.tab)])
        XCTAssertEqual(runtime.state.browser.split, "val")
        XCTAssertEqual(runtime.state.browser.selectedID, "val_001")
        XCTAssertTrue(driver.screen.text.contains("Samples · val (2)"))
    }

    func testModesOpacityAndZoom() throws {
        let (runtime, driver) = try Harness.make(dataset)
        XCTAssertTrue(driver.screen.text.contains("image 140×100"), driver.screen.text)
        runtime.send([.key(.char("o"))])
        XCTAssertEqual(runtime.state.browser.opacity, 0.5, "o only works in overlay mode")
        runtime.send([.key(.char("m")), .key(.char("m")), .key(.char("m"))])
        XCTAssertEqual(runtime.state.browser.mode, .overlay)
        runtime.send([.key(.char("o"))])
        XCTAssertEqual(runtime.state.browser.opacity, 0.75)
        XCTAssertTrue(driver.screen.text.contains("overlay 75%"))
        runtime.send([.key(.enter)])
        XCTAssertFalse(driver.screen.text.contains("Samples ·"), "zoomed: no list")
        runtime.send([.key(.enter)])
        XCTAssertTrue(driver.screen.text.contains("Samples ·"))
    }

    func testHelpOverlayAndFooterComeFromTheKeyTable() throws {
        let (runtime, driver) = try Harness.make(dataset)
        let footer = driver.screen.line(driver.rows - 1)
        for entry in App.browserKeys.footerEntries(runtime.state) {
            XCTAssertTrue(footer.contains("\(entry.key) \(entry.text)"), "footer lacks \(entry): \(footer)")
        }
        XCTAssertFalse(footer.contains("opacity"), "o is unavailable outside overlay mode")
        runtime.send([.key(.char("?"))])
        let help = driver.screen.text
        for binding in App.browserKeys.bindings {
            XCTAssertTrue(help.contains(binding.help.prefix(30)), "help lacks \(binding.help)\n\(help)")
        }
        XCTAssertTrue(help.contains("only in overlay mode (m)"), help)
        runtime.send([.key(.char("j"))])
        XCTAssertFalse(runtime.state.showHelp)
        XCTAssertEqual(runtime.state.browser.selection, 0, "the key that closes help does nothing else")
    }

    /// `r` (past runs) is in the footer at 100 columns, with help and quit; the optional paging
    /// entry gives way to them there and comes back when the width allows.
    func testFooterShowsRunsKeyAndDropsOptionalEntriesFirst() throws {
        for (columns, pageShown) in [(100, false), (160, true)] {
            let (runtime, driver) = try Harness.make(dataset, columns: columns, rows: 30)
            for state in [runtime.state, App.update(runtime.state, .key(.char("m"))).0, App.update(App.update(App.update(runtime.state,
                          .key(.char("m"))).0, .key(.char("m"))).0, .key(.char("m"))).0] {
                var grid = CellGrid(width: columns, height: 1)
                grid.footer(App.browserKeys.footerEntries(state), y: 0, styles: state.styles)
                let footer = grid.line(0)
                for wanted in ["r runs", "t train", "? help", "q quit"] {
                    XCTAssertTrue(footer.contains(wanted), "\(columns) columns, mode \(state.browser.mode): footer lacks \(wanted): \(footer)")
                }
                XCTAssertEqual(footer.contains("PgUp PgDn page"), pageShown, "\(columns) columns: \(footer)")
            }
            XCTAssertTrue(driver.screen.line(driver.rows - 1).contains("r runs"), driver.screen.line(driver.rows - 1))
        }
        // A table whose optional entries cannot all fit drops the last optional ones first.
        let table = KeyTable<Int>([
            KeyBinding([.char("a")], footer: "aaaaaaaaaa", footerOptional: true, help: "", action: 0),
            KeyBinding([.char("b")], footer: "bbbbbbbbbb", footerOptional: true, help: "", action: 1),
            KeyBinding([.char("q")], footer: "quit", help: "", action: 2),
        ])
        var state = try Harness.make(dataset).0.state
        for (columns, shown) in [(40, ["a", "b", "q"]), (26, ["a", "q"]), (12, ["q"])] {
            state.columns = columns
            XCTAssertEqual(table.footerEntries(state).map(\.key), shown, "\(columns) columns")
        }
    }

    func testMouseClickSelectsAndWheelScrolls() throws {
        let (runtime, _) = try Harness.make(dataset)
        let layout = BrowserLayout(columns: 100, rows: 30, zoomed: false)
        runtime.send([.mouse(MouseEvent(x: layout.list.x + 3, y: layout.list.y + 1 + 4, kind: .press))])
        XCTAssertEqual(runtime.state.browser.selectedID, "img_005")
        runtime.send([.mouse(MouseEvent(x: layout.list.x + 3, y: layout.list.y + 3, kind: .wheelDown))])
        XCTAssertEqual(runtime.state.browser.selectedID, "img_008")
        runtime.send([.mouse(MouseEvent(x: 0, y: 0, kind: .press))])
        XCTAssertEqual(runtime.state.browser.selectedID, "img_008", "a click outside the list changes nothing")
    }

    func testTooSmallTerminalSaysSoAndRecoversOnResize() throws {
        let (runtime, driver) = try Harness.make(dataset)
        driver.resize(columns: 50, rows: 12)
        runtime.waitUntilIdle()
        XCTAssertTrue(driver.screen.text.contains("needs at least 64×18"), driver.screen.text)
        XCTAssertTrue(driver.screen.text.contains("this terminal is 50×12"))
        runtime.send([.key(.char("j"))])
        XCTAssertEqual(runtime.state.browser.selection, 0)
        driver.resize(columns: 120, rows: 40)
        runtime.waitUntilIdle()
        XCTAssertEqual(driver.screen.width, 120)
        XCTAssertTrue(driver.screen.text.contains("Samples · train"))
    }

    func testUnreadableSampleShowsItsErrorInThePane() throws {
        var broken = dataset
        broken.broken = ["img_002"]
        let (runtime, driver) = try Harness.make(broken)
        runtime.send([.key(.down)])
        let screen = driver.screen.text
        XCTAssertTrue(screen.contains("cannot read this sample"), screen)
        XCTAssertTrue(screen.contains("CRC error"), screen)
        XCTAssertTrue(screen.contains("img_002  error"), screen)
        runtime.send([.key(.down)])
        XCTAssertFalse(driver.screen.text.contains("cannot read this sample"))
    }

    func testQuitKeys() throws {
        let (runtime, _) = try Harness.make(dataset)
        XCTAssertEqual(App.update(runtime.state, .key(.char("q"))).1, [.quit])
        XCTAssertEqual(App.update(runtime.state, .key(.ctrl("c"))).1, [.quit])
        var filtering = runtime.state
        filtering.browser.editingFilter = true
        XCTAssertEqual(App.update(filtering, .key(.char("q"))).0.browser.filter, "q", "q types while filtering")
    }

    func testSixelPlacementsOnlyWhenGraphicsAndNotUnderTheHelp() throws {
        let (runtime, driver) = try Harness.make(dataset, graphics: true)
        XCTAssertEqual(driver.graphics.map(\.key), ["img_001/image", "img_001/mask"])
        for g in driver.graphics { XCTAssertLessThan(g.rect.maxY, driver.rows, "graphics never on the last row") }
        runtime.send([.key(.char("?"))])
        XCTAssertEqual(driver.graphics, [])
        let (_, plain) = try Harness.make(dataset, graphics: false)
        XCTAssertEqual(plain.graphics, [])
    }

    func testEveryColourDepthRenders() throws {
        for depth in ColorDepth.allCases {
            let (_, driver) = try Harness.make(dataset, depth: depth)
            XCTAssertTrue(driver.screen.text.contains("▸img_001"), "\(depth)")
            if depth == .mono {
                XCTAssertTrue(driver.screen.cells.allSatisfy { $0.style.fg == .default && $0.style.bg == .default }, "mono uses no colour")
            }
        }
    }
}
