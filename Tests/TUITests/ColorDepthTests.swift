import Datasets
import Foundation
import TestSupport
@testable import TUI
import XCTest

/// Rendering at every colour depth: the palette mappings, class colours and glyphs, dithering,
/// and colour golden screens (characters + the SGR of every cell) at direct, 256, 16, 8 and mono.
final class ColorDepthTests: XCTestCase {
    private func distance(_ a: (UInt8, UInt8, UInt8), _ b: (UInt8, UInt8, UInt8)) -> Int {
        let dr = Int(a.0) - Int(b.0), dg = Int(a.1) - Int(b.1), db = Int(a.2) - Int(b.2)
        return dr * dr + dg * dg + db * db
    }

    /// index256 picks a colour as near as any of the 240 cube and grey colours (exhaustive check
    /// on a lattice of RGB values and on VOC's palette).
    func testIndex256IsTheNearestPaletteColour() {
        var colours: [(UInt8, UInt8, UInt8)] = vocColormap.prefix(21).map { ($0.r, $0.g, $0.b) }
        for r in stride(from: 0, through: 255, by: 17) {
            for g in stride(from: 0, through: 255, by: 17) {
                for b in stride(from: 0, through: 255, by: 51) { colours.append((UInt8(r), UInt8(g), UInt8(b))) }
            }
        }
        for c in colours {
            let chosen = ColorMapping.index256(c.0, c.1, c.2)
            let best = (16..<256).map { distance(c, ColorMapping.rgb256($0)) }.min()!
            XCTAssertEqual(distance(c, ColorMapping.rgb256(chosen)), best, "\(c) → \(chosen)")
        }
    }

    /// The bug of issue #19: blue was compared with the candidate's green, so VOC bicycle
    /// (0,128,0) became grey 235 and dog / sheep greys too.
    func testVOCClassesKeepTheirColourIn256() {
        XCTAssertEqual(ColorMapping.index256(0, 128, 0), 28)      // bicycle: cube green, not grey 235
        XCTAssertEqual(ColorMapping.index256(64, 0, 128), 54)     // dog
        XCTAssertEqual(ColorMapping.index256(128, 64, 0), 94)     // sheep
        XCTAssertEqual(ColorMapping.index256(128, 128, 128), 244) // car: a real grey stays grey
        let indices = vocColormap.prefix(21).map { ColorMapping.index256($0.r, $0.g, $0.b) }
        XCTAssertEqual(Set(indices).count, 21, "VOC classes sharing a 256-colour index: \(indices)")
    }

    func testClassesGetDistinctANSIColoursAt16() {
        let palette = ClassDisplay.palette(Array(vocColormap.prefix(21)), depth: .ansi16)
        let indices = palette.map { ColorMapping.index16($0.r, $0.g, $0.b) }
        XCTAssertEqual(indices[0], 0, "background stays black")
        XCTAssertEqual(indices.map(UInt8.init), (0..<21).map { ClassDisplay.ansiIndex($0) }, "the encoder maps them back exactly")
        XCTAssertEqual(Set(indices[1...14]).count, 14, "classes 1–14 are distinct")
        XCTAssertFalse(indices[1...14].contains(0), "no object class is drawn black")
        // By nearest colour, VOC's dark classes (cat 64,0,0; dog 64,0,128 …) all collapse to black.
        XCTAssertEqual(ColorMapping.index16(64, 0, 0), 0)
        XCTAssertEqual(ClassDisplay.palette(vocColormap, depth: .direct), vocColormap)
    }

    /// On 8 colours, dim text (bright black) would be bold black: invisible on a dark terminal.
    func testDimTextStaysVisibleOnEightColours() {
        XCTAssertEqual(AnsiEncoder.sgr(Style(fg: .ansi(8)), depth: .ansi16, eightColors: true), "[0;37m")
        XCTAssertEqual(AnsiEncoder.sgr(Style(fg: .ansi(9)), depth: .ansi16, eightColors: true), "[0;1;31m")
        XCTAssertEqual(AnsiEncoder.sgr(Style(fg: .ansi(8)), depth: .ansi16), "[0;90m")
    }

    func testDitheringKeepsShadingIn16Colours() {
        // A horizontal grey ramp: nearest colour gives a few flat bands, dithering mixes
        // neighbours so the mean brightness of each column follows the ramp.
        let w = 64, h = 8
        var image = RGBImage(width: w, height: h)
        for y in 0..<h { for x in 0..<w { let v = UInt8(x * 4); image[x, y] = (v, v, v) } }
        let dithered = HalfBlocks.dither16(image)
        var columnMeans: [Int] = []
        for x in 0..<w {
            var sum = 0
            for y in 0..<h {
                let p = dithered[x, y]
                let c = (p.0, p.1, p.2)
                XCTAssertTrue(ColorMapping.ansi16.contains { $0 == c }, "pixel \(c) is not an ANSI colour")
                sum += ColorMapping.luma(p.0, p.1, p.2)
            }
            columnMeans.append(sum / h)
        }
        // Mean brightness rises with the ramp (within a dither step), and is not flat bands.
        for x in stride(from: 8, to: w, by: 8) { XCTAssertGreaterThan(columnMeans[x], columnMeans[x - 8] - 4) }
        XCTAssertGreaterThan(Set(columnMeans).count, 8, "dithered ramp is a few flat bands: \(columnMeans)")
        let error = (0..<w).map { abs(columnMeans[$0] - $0 * 4) }.reduce(0, +) / w
        XCTAssertLessThan(error, 30, "dithered brightness far from the ramp: \(columnMeans)")
    }

    func testMonoMasksUseOneGlyphPerClass() throws {
        let dataset = MemoryDataset(lists: ["train": ["s1"]])
        let sample = try dataset.sample(id: "s1")  // class 2 (bicycle) rectangle, person (15) block, void line
        var grid = CellGrid(width: 60, height: 24)
        HalfBlocks.draw(.mask(sample.label, palette: vocColormap), in: grid.bounds, grid: &grid, depth: .mono, background: .default)
        let glyphs = Set(grid.cells.map(\.char))
        XCTAssertTrue(glyphs.isSuperset(of: [ClassDisplay.glyph(2), ClassDisplay.glyph(15), " "]), "\(glyphs)")
        XCTAssertNotEqual(ClassDisplay.glyph(2), ClassDisplay.glyph(15))
        XCTAssertEqual(Set((1...20).map(ClassDisplay.glyph)).count, 20, "VOC's 20 object classes have distinct glyphs")
        XCTAssertTrue(grid.cells.allSatisfy { $0.style == Style() })
    }

    // MARK: Whole screens

    private func openVOC(depth: ColorDepth, columns: Int = 80, rows: Int = 24) throws -> (AppRuntime, HeadlessDriver) {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Fixtures.voc.path), "fixtures not found at \(Fixtures.voc.path)")
        let dataset = try DatasetLoader.open(Fixtures.voc)
        let driver = HeadlessDriver(columns: columns, rows: rows, colorDepth: depth)
        var browser = BrowserState(dataset: dataset)
        browser.datasetName = "Pascal VOC (fixtures/voc)"
        let state = AppState(columns: columns, rows: rows, depth: depth, theme: try Theme.load(nil, depth: depth), browser: browser)
        let runtime = AppRuntime(state: state, driver: driver, performer: DatasetPerformer(dataset: dataset))
        runtime.start()
        XCTAssertTrue(runtime.waitUntilIdle())
        return (runtime, driver)
    }

    /// The browser (image | mask, class bars, legend) and the overlay, at every depth, with
    /// every cell's colours. The 256 screen changes under the old index256.
    func testColourGoldenScreensAtEveryDepth() throws {
        for (depth, eight) in [(ColorDepth.direct, false), (.ansi256, false), (.ansi16, false), (.ansi16, true), (.mono, false)] {
            let (runtime, driver) = try openVOC(depth: depth)
            let name = eight ? "8" : depth.rawValue
            assertGolden(ColorGolden.render(driver.screen, depth: depth, eightColors: eight), named: "color-\(name)-voc-browser-80x24")
            runtime.send("mmmo".unicodeScalars.map { .key(.char($0)) })  // overlay at 75%
            assertGolden(ColorGolden.render(driver.screen, depth: depth, eightColors: eight), named: "color-\(name)-voc-overlay-80x24")
        }
    }

    /// Mono: the class bars are visible blocks, and legend swatches differ per class (the
    /// theme's reverse bar style used to turn "█" into blanks, and every swatch was "██").
    func testMonoBarsAndLegendStayReadable() throws {
        let (_, driver) = try openVOC(depth: .mono, columns: 100, rows: 30)
        let text = driver.screen.text
        let classesRow = text.split(separator: "\n").first { $0.contains("background") && $0.contains("%") && $0.contains("█") }
        XCTAssertNotNil(classesRow, "no visible class bar in mono:\n\(text)")
        // 2007_000032: aeroplane and person in its legend, with their own glyphs.
        let aeroplane = String(repeating: String(ClassDisplay.glyph(1)), count: 2) + " aeroplane"
        let person = String(repeating: String(ClassDisplay.glyph(15)), count: 2) + " person"
        XCTAssertTrue(text.contains(aeroplane) && text.contains(person), "legend swatches:\n\(text)")
    }

    /// Every depth keeps text legible: no cell's foreground equals its background (after the
    /// depth's mapping), wherever it carries a visible character other than a picture block.
    func testNoTextIsDrawnInItsBackgroundColour() throws {
        for (depth, eight) in [(ColorDepth.ansi256, false), (.ansi16, false), (.ansi16, true)] {
            let (_, driver) = try openVOC(depth: depth, columns: 100, rows: 30)
            let screen = driver.screen
            for y in 0..<screen.height {
                for x in 0..<screen.width {
                    let cell = screen[x, y]
                    guard cell.char != " ", cell.char != Cell.upperHalf, !"█▏▎▍▌▋▊▉".unicodeScalars.contains(cell.char) else { continue }
                    let sgr = AnsiEncoder.sgr(cell.style, depth: depth, eightColors: eight)
                    XCTAssertFalse(Self.sameColours(sgr), "\(depth) \(eight ? "8" : ""): '\(cell.char)' at \(x),\(y) is drawn as \(sgr)\n\(screen.line(y))")
                }
            }
        }
    }

    /// Whether an SGR sets the same colour for foreground and background (30+n with 40+n, …).
    static func sameColours(_ sgr: String) -> Bool {
        let parts = sgr.dropFirst().dropLast().split(separator: ";").compactMap { Int($0) }
        var fg: [Int]?, bg: [Int]?
        var i = 0
        while i < parts.count {
            let p = parts[i]
            if p == 38 || p == 48 {
                let n = parts[i + 1] == 5 ? 3 : 5
                if p == 38 { fg = Array(parts[i..<(i + n)].dropFirst()) } else { bg = Array(parts[i..<(i + n)].dropFirst()) }
                i += n
                continue
            }
            if (30...37).contains(p) { fg = [p - 30] }
            if (90...97).contains(p) { fg = [p - 90 + 8] }
            if (40...47).contains(p) { bg = [p - 40] }
            if (100...107).contains(p) { bg = [p - 100 + 8] }
            i += 1
        }
        guard let fg, let bg else { return false }
        return fg == bg
    }
}
