import Datasets
import Foundation
import TestSupport
import XCTest

/// A temporary directory removed when the value is released.
final class TemporaryDirectory {
    let url: URL

    init(_ label: String = "segscope-datasets") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Copies a fixture directory into this one and returns the copy.
    func copy(_ source: URL, as name: String) throws -> URL {
        let destination = url.appendingPathComponent(name)
        try FileManager.default.copyItem(at: source, to: destination)
        return destination
    }
}

/// Files of the committed image-format fixtures (written by scripts/golden/image_formats.py).
enum Golden {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// The pattern every Golden image encodes: R = 16x, G = 20y, B = 8(x+y) on 16x12 px.
    static func pattern(x: Int, y: Int) -> (Int, Int, Int) { (16 * x, 20 * y, 8 * (x + y)) }
}

/// Mean absolute difference between an image and the Golden pattern, per channel value.
func meanDifferenceFromPattern(_ image: RGBImage) -> Double {
    var total = 0
    for y in 0..<image.height {
        for x in 0..<image.width {
            let p = image[x, y], e = Golden.pattern(x: x, y: y)
            total += abs(Int(p.r) - e.0) + abs(Int(p.g) - e.1) + abs(Int(p.b) - e.2)
        }
    }
    return Double(total) / Double(image.width * image.height * 3)
}
