import Datasets
@testable import TUI
import XCTest

final class ImageRenderingTests: XCTestCase {
    func testAreaAverageAveragesEverySourcePixel() {
        // 4×2 → 2×1: each target pixel is the mean of a 2×2 box.
        let image = RGBImage(width: 4, height: 2, pixels: [
            0, 0, 0, 100, 100, 100, 10, 20, 30, 10, 20, 30,
            100, 100, 100, 200, 200, 200, 10, 20, 30, 50, 60, 70,
        ])
        let out = ImageScaler.areaAverage(image, width: 2, height: 1)
        XCTAssertEqual(out.pixels, [100, 100, 100, 20, 30, 40])
    }

    func testModePoolKeepsTheMajorityClassAndVoidLosesTies() {
        // Boxes of 2×2: {1,1,1,15} → 1; {255,255,7,7} → 7 (void loses the tie); {3,4,4,3} → 3.
        let label = LabelMap(width: 6, height: 2, values: [
            1, 1, 255, 7, 3, 4,
            1, 15, 255, 7, 4, 3,
        ])
        XCTAssertEqual(ImageScaler.modePool(label, width: 3, height: 1).values, [1, 7, 3])
    }

    func testMaskPreviewShowsOnlyPaletteColours() throws {
        let dataset = MemoryDataset(lists: ["train": ["s1"]])
        let sample = try dataset.sample(id: "s1")
        var grid = CellGrid(width: 37, height: 11)
        HalfBlocks.draw(.mask(sample.label, palette: vocColormap), in: grid.bounds, grid: &grid,
                        depth: .direct, background: .default)
        var allowed = Set(sample.label.presentValues.map { v -> TermColor in
            v == LabelMap.void ? TermColor(MaskPainter.voidColor) : TermColor(vocColormap[Int(v)])
        })
        allowed.insert(.default)
        var seen = Set<TermColor>()
        for cell in grid.cells where cell.char == Cell.upperHalf {
            seen.insert(cell.style.fg)
            seen.insert(cell.style.bg)
        }
        XCTAssertTrue(seen.isSubset(of: allowed), "colours not in the palette: \(seen.subtracting(allowed))")
        XCTAssertGreaterThanOrEqual(seen.count, 3)  // background, the object class, person
    }

    func testPhotoPreviewBlendsAcrossTheBox() throws {
        // A one-pixel checkerboard averages to grey instead of aliasing to black or white.
        var image = RGBImage(width: 8, height: 8)
        for y in 0..<8 { for x in 0..<8 where (x + y) % 2 == 0 { image[x, y] = (255, 255, 255) } }
        let out = ImageScaler.areaAverage(image, width: 2, height: 2)
        XCTAssertEqual(Set(out.pixels), [128])
    }

    func testHalfBlockLayoutKeepsAspectAndCentres() {
        // 500×281 into 40×10 cells = 40×20 pixels: height-limited → 36×20 pixels, 10 rows.
        let place = HalfBlocks.layout(width: 500, height: 281, in: Rect(x: 0, y: 0, width: 40, height: 10))
        XCTAssertEqual(place.pixelWidth, 36)
        XCTAssertEqual(place.pixelHeight, 20)
        XCTAssertEqual(place.cells, Rect(x: 2, y: 0, width: 36, height: 10))
    }

    func testHalfBlockCellsCarryTopAndBottomPixels() {
        let image = RGBImage(width: 1, height: 3, pixels: [255, 0, 0, 0, 0, 255, 0, 255, 0])
        var grid = CellGrid(width: 1, height: 2)
        HalfBlocks.draw(pixels: image, at: Rect(x: 0, y: 0, width: 1, height: 2), grid: &grid, depth: .direct,
                        background: .rgb(9, 9, 9))
        XCTAssertEqual(grid[0, 0], Cell(Cell.upperHalf, Style(fg: .rgb(255, 0, 0), bg: .rgb(0, 0, 255))))
        // Odd pixel rows: the last cell's lower half is the background.
        XCTAssertEqual(grid[0, 1], Cell(Cell.upperHalf, Style(fg: .rgb(0, 255, 0), bg: .rgb(9, 9, 9))))
    }

    func testMonochromeUsesShades() {
        let image = RGBImage(width: 2, height: 2, pixels: [0, 0, 0, 255, 255, 255, 0, 0, 0, 255, 255, 255])
        var grid = CellGrid(width: 2, height: 1)
        HalfBlocks.draw(pixels: image, at: Rect(x: 0, y: 0, width: 2, height: 1), grid: &grid, depth: .mono, background: .default)
        XCTAssertEqual(grid.line(0), " █")
        XCTAssertEqual(grid[1, 0].style, Style())
    }

    func testMonochromeMasksDrawEachClassAsItsGlyph() {
        // Left half background, right half class 1 (VOC's dark red, which luma alone would blank).
        var label = LabelMap(width: 4, height: 2, fill: 0)
        for y in 0..<2 { for x in 2..<4 { label[x, y] = 1 } }
        var grid = CellGrid(width: 4, height: 1)
        HalfBlocks.draw(.mask(label, palette: vocColormap), in: grid.bounds, grid: &grid, depth: .mono, background: .default)
        XCTAssertEqual(grid.line(0), "  " + String(repeating: String(ClassDisplay.glyph(1)), count: 2))
        XCTAssertEqual(ClassDisplay.glyph(1), "█")
    }

    func testOverlayOpacityAndTransparentClasses() {
        let image = RGBImage(width: 3, height: 1, pixels: [100, 100, 100, 100, 100, 100, 100, 100, 100])
        let label = LabelMap(width: 3, height: 1, values: [0, 1, 255])
        let palette = [RGB(0, 0, 0), RGB(200, 0, 0)]
        let half = MaskPainter.overlay(image: image, label: label, palette: palette, opacity: 0.5, transparent: [0, 255])
        XCTAssertEqual(half.pixels, [100, 100, 100, 150, 50, 50, 100, 100, 100])
        let full = MaskPainter.overlay(image: image, label: label, palette: palette, opacity: 1, transparent: [0, 255])
        XCTAssertEqual(Array(full.pixels[3..<6]), [200, 0, 0])
        let none = MaskPainter.overlay(image: image, label: label, palette: palette, opacity: 0, transparent: [])
        XCTAssertEqual(none.pixels, image.pixels)
    }

    func testSixelEncodingAndPlacementRules() throws {
        var image = RGBImage(width: 12, height: 12, fill: (255, 0, 0))
        for x in 0..<12 { image[x, 5] = (0, 0, 255) }
        let bytes = try XCTUnwrap(SixelEncoder.encode(image))
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("\u{1B}P"), "a sixel starts with DCS: \(text.prefix(8).debugDescription)")
        XCTAssertTrue(text.hasSuffix("\u{1B}\\"), "a sixel ends with ST")
        XCTAssertTrue(text.contains("#"), "a sixel defines colours")
        // Never on the last row.
        XCTAssertEqual(SixelLayout.safeRect(Rect(x: 3, y: 20, width: 10, height: 10), screenRows: 30),
                       Rect(x: 3, y: 20, width: 10, height: 9))
        XCTAssertEqual(SixelLayout.safeRect(Rect(x: 3, y: 2, width: 10, height: 10), screenRows: 30),
                       Rect(x: 3, y: 2, width: 10, height: 10))
        // Fitted sizes keep the aspect ratio and a height that is a multiple of six.
        let fitted = try XCTUnwrap(SixelEncoder.encode(RGBImage(width: 500, height: 281), fittingWidth: 200, height: 200, isMask: false))
        XCTAssertFalse(fitted.isEmpty)
    }
}
