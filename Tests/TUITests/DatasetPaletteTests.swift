import Datasets
import Foundation
import TestSupport
@testable import TUI
import XCTest

/// The browser's masks and legend take the dataset's palette (D-250): a class list with
/// Cityscapes' names is drawn in the Cityscapes colours, and the palette key overrides it.
final class DatasetPaletteTests: XCTestCase {
    func testBrowserLegendColoursComeFromTheDatasetsPalette() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-palette-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let root = dir.appendingPathComponent("voc")
        try FileManager.default.copyItem(at: Fixtures.voc, to: root)
        try (Palette.cityscapesClassNames + ["extra 1", "extra 2"]).prefix(21).joined(separator: "\n")
            .write(to: root.appendingPathComponent("classes.txt"), atomically: true, encoding: .utf8)
        let browser = BrowserState(dataset: try DatasetLoader.open(root))
        XCTAssertEqual(browser.palette[0], Palette.voc[0], "21 names are not Cityscapes' 19: VOC colours")
        var options = DatasetOptions()
        options.palette = .cityscapes
        let recolored = BrowserState(dataset: try DatasetLoader.open(root, options: options))
        XCTAssertEqual(recolored.palette[0], RGB(128, 64, 128), "road")
        XCTAssertEqual(recolored.palette[15], RGB(0, 60, 100), "bus")
        XCTAssertEqual(recolored.classNames[15], "bus")
    }
}
