@testable import TUI
import XCTest

/// The compare view's four panes: a 2×2 grid where that shows the picture bigger (issue #19).
final class CompareGridTests: XCTestCase {
    func testTwoByTwoWhenItShowsThePictureBigger() {
        // 68×20 cells (the compare pane at 100×30), a VOC-like 500×281 image: in a row each pane
        // is 16 cells wide (a 16×9-pixel picture); in a 2×2 grid 33×10 cells (28×16 pixels).
        let grid = CompareLayout.paneAreas(in: Rect(x: 0, y: 0, width: 68, height: 20), imageWidth: 500, imageHeight: 281)
        XCTAssertEqual(grid, [Rect(x: 0, y: 0, width: 33, height: 10), Rect(x: 34, y: 0, width: 33, height: 10),
                              Rect(x: 0, y: 10, width: 33, height: 10), Rect(x: 34, y: 10, width: 33, height: 10)])
        // A wide, low strip keeps the row.
        let row = CompareLayout.paneAreas(in: Rect(x: 2, y: 1, width: 160, height: 12), imageWidth: 500, imageHeight: 281)
        XCTAssertEqual(row.map(\.y), [1, 1, 1, 1])
        XCTAssertEqual(row.map(\.x), [2, 42, 82, 122])
        XCTAssertEqual(row.map(\.width), [39, 39, 39, 39])
        // No overlap in either shape.
        for areas in [grid, row] {
            for i in 0..<4 {
                for j in (i + 1)..<4 {
                    let a = areas[i], b = areas[j]
                    XCTAssertFalse(a.x < b.maxX && b.x < a.maxX && a.y < b.maxY && b.y < a.maxY, "\(a) overlaps \(b)")
                }
            }
        }
    }
}
