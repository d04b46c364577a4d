import Datasets
import Foundation
import TestSupport
import XCTest

final class DemoTests: XCTestCase {
    func testRenderIsDeterministicAndVaried() {
        let a = DemoDataset.render(split: "train", index: 3, options: .init(seed: 4))
        let b = DemoDataset.render(split: "train", index: 3, options: .init(seed: 4))
        let c = DemoDataset.render(split: "train", index: 3, options: .init(seed: 5))
        XCTAssertEqual(a.0, b.0)
        XCTAssertEqual(a.1, b.1)
        XCTAssertNotEqual(a.0, c.0)
    }

    func testGeneratedSetIsAValidVOCLayoutWithPalettedMasks() throws {
        let dir = try TemporaryDirectory()
        let root = dir.url.appendingPathComponent("demo")
        let report = try DemoDataset.generate(to: root, options: .init(seed: 2, train: 40, val: 10))
        XCTAssertEqual(report.images, 50)
        XCTAssertEqual(try DatasetLoader.detect(root), .demo)
        let dataset = try DatasetLoader.open(root)
        XCTAssertEqual(dataset.classNames, ["background", "disc", "box", "triangle", "star", "ring"])
        XCTAssertEqual(try dataset.ids(split: "train").count, 40)
        XCTAssertEqual(try dataset.ids(split: "val").count, 10)
        let stats = try DatasetStatistics.compute(dataset)
        XCTAssertEqual(stats.bad, [])
        XCTAssertEqual(stats.warnings, [])
        XCTAssertTrue(stats.classes.allSatisfy { $0.images > 0 }, "every class appears: \(stats.classes)")
        XCTAssertGreaterThan(stats.voidPixels, 0, "void band present")
        let widths = stats.images.map(\.width), heights = stats.images.map(\.height)
        XCTAssertTrue(widths.allSatisfy { (96...200).contains($0) } && heights.allSatisfy { (96...200).contains($0) })
        XCTAssertTrue(stats.images.contains { $0.width < 128 || $0.height < 128 }, "some are smaller than a 128 crop")
        XCTAssertGreaterThan(Set(widths).count, 10)
        // Masks are 8-bit paletted PNGs (IHDR colour type 3) with the VOC palette.
        let mask = root.appendingPathComponent("SegmentationClass/train_0000.png")
        let bytes = try Data(contentsOf: mask)
        XCTAssertEqual(Array(bytes[12..<16]), Array("IHDR".utf8))
        XCTAssertEqual(bytes[24], 8, "bit depth")
        XCTAssertEqual(bytes[25], 3, "colour type 3 = paletted")
        guard case .paletted(let palette) = try ImageCodec.readPNG(mask).kind else { return XCTFail("not paletted") }
        XCTAssertEqual(palette, Palette.voc)
        // Regenerating into the same directory replaces it; a foreign directory is refused.
        try DemoDataset.generate(to: root, options: .init(seed: 2, train: 2, val: 1))
        XCTAssertEqual(try DatasetLoader.open(root).ids(split: "train").count, 2)
        XCTAssertThrowsError(try DemoDataset.generate(to: Fixtures.voc)) { error in
            XCTAssertTrue("\(error)".contains("not a Segscope demo set"), "\(error)")
        }
    }

    /// Colour alone must not separate the classes: classify each object pixel by the nearest
    /// class-mean colour (fitted on the same pixels, so this is optimistic) and expect it to
    /// stay near chance (1/5).
    func testColourIsNotACue() {
        var sums = [SIMD3<Double>](repeating: .zero, count: 6), counts = [Double](repeating: 0, count: 6)
        var pixels: [(SIMD3<Double>, Int)] = []
        for i in 0..<60 {
            let (image, label) = DemoDataset.render(split: "train", index: i)
            for p in stride(from: 0, to: label.values.count, by: 7) {
                let c = Int(label.values[p])
                guard c >= 1 && c <= 5 else { continue }
                let rgb = SIMD3(Double(image.pixels[3 * p]), Double(image.pixels[3 * p + 1]), Double(image.pixels[3 * p + 2]))
                sums[c] += rgb
                counts[c] += 1
                pixels.append((rgb, c))
            }
        }
        let means = (0..<6).map { counts[$0] > 0 ? sums[$0] / counts[$0] : SIMD3<Double>(repeating: 1e9) }
        var correct = 0
        for (rgb, c) in pixels {
            func distance(_ k: Int) -> Double {
                let d = means[k] - rgb
                return (d * d).sum()
            }
            let best = (1...5).min { distance($0) < distance($1) }
            if best == c { correct += 1 }
        }
        let accuracy = Double(correct) / Double(pixels.count)
        XCTAssertLessThan(accuracy, 0.35, "nearest-colour accuracy \(accuracy) — colour gives the classes away")
    }

    func testDefaultLocationFollowsXDG() throws {
        let dir = try TemporaryDirectory()
        let saved = ProcessInfo.processInfo.environment["XDG_CACHE_HOME"]
        setenv("XDG_CACHE_HOME", dir.url.path, 1)
        defer { if let saved { setenv("XDG_CACHE_HOME", saved, 1) } else { unsetenv("XDG_CACHE_HOME") } }
        XCTAssertEqual(DemoDataset.defaultURL.path, dir.url.appendingPathComponent("segscope/demo").path)
        setenv("XDG_CACHE_HOME", "relative/ignored", 1)
        XCTAssertTrue(DemoDataset.defaultURL.path.hasSuffix("/.cache/segscope/demo"), DemoDataset.defaultURL.path)
    }

    func testEnsureDefaultCreatesOnceThenReuses() throws {
        let dir = try TemporaryDirectory()
        let root = dir.url.appendingPathComponent("cache/segscope/demo")
        let options = DemoDataset.Options(seed: 1, train: 3, val: 2)
        XCTAssertEqual(try DemoDataset.ensureDefault(at: root, options: options), root)
        let list = root.appendingPathComponent("ImageSets/Segmentation/train.txt")
        let created = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: list.path)[.modificationDate] as? Date)
        try "marker".write(to: root.appendingPathComponent("JPEGImages/untouched.txt"), atomically: true, encoding: .utf8)
        _ = try DemoDataset.ensureDefault(at: root, options: options)
        XCTAssertTrue(FileManager.default.fileExists(atPath: root.appendingPathComponent("JPEGImages/untouched.txt").path),
                      "an existing set of the same version and options is reused, not regenerated")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: list.path)[.modificationDate] as? Date, created)
        // Different options: regenerated.
        _ = try DemoDataset.ensureDefault(at: root, options: DemoDataset.Options(seed: 1, train: 4, val: 2))
        XCTAssertEqual(try DatasetLoader.open(root).ids(split: "train").count, 4)
    }
}
