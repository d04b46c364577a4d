import Datasets
import Foundation
import TestSupport
import XCTest

/// Class colours (D-250): `classes.txt` colours, the built-in ADE20K and Cityscapes palettes
/// (chosen by the dataset's class names or by `DatasetOptions.palette`), checked on real
/// datasets in temporary directories.
final class ClassPaletteTests: XCTestCase {
    /// A few entries of the published tables, typed in from MMSegmentation's `ade.py` and
    /// cityscapesScripts' `labels.py`, not from our own table.
    func testBuiltInPalettesHoldThePublishedColours() {
        XCTAssertEqual(Palette.ade20kClassNames.count, 150)
        XCTAssertEqual(Palette.ade20k.count, 150)
        XCTAssertEqual(Set(Palette.ade20kClassNames).count, 150, "ADE20K names are distinct")
        let ade: [(Int, String, RGB)] = [
            (0, "wall", RGB(120, 120, 120)), (2, "sky", RGB(6, 230, 230)), (12, "person", RGB(150, 5, 61)),
            (20, "car", RGB(0, 102, 200)), (44, "chest of drawers", RGB(6, 51, 255)), (149, "flag", RGB(92, 0, 255)),
        ]
        for (i, name, color) in ade {
            XCTAssertEqual(Palette.ade20kClassNames[i], name, "ADE20K class \(i)")
            XCTAssertEqual(Palette.ade20k[i], color, "ADE20K \(name)")
        }
        XCTAssertEqual(Palette.cityscapesClassNames.count, 19)
        XCTAssertEqual(Palette.cityscapes.count, 19)
        let cityscapes: [(Int, String, RGB)] = [
            (0, "road", RGB(128, 64, 128)), (6, "traffic light", RGB(250, 170, 30)), (10, "sky", RGB(70, 130, 180)),
            (11, "person", RGB(220, 20, 60)), (13, "car", RGB(0, 0, 142)), (18, "bicycle", RGB(119, 11, 32)),
        ]
        for (i, name, color) in cityscapes {
            XCTAssertEqual(Palette.cityscapesClassNames[i], name, "Cityscapes train id \(i)")
            XCTAssertEqual(Palette.cityscapes[i], color, "Cityscapes \(name)")
        }
    }

    private func vocCopy(_ dir: TemporaryDirectory, classes: String? = nil) throws -> URL {
        let root = try dir.copy(Fixtures.voc, as: "voc")
        if let classes { try classes.write(to: root.appendingPathComponent("classes.txt"), atomically: true, encoding: .utf8) }
        return root
    }

    func testClassesTxtColoursAreTheDatasetsPalette() throws {
        let dir = try TemporaryDirectory()
        var lines = Palette.vocClassNames.indices.map { "class\($0) \($0) \(2 * $0) \(255 - $0)" }
        lines[16] = "potted plant 1 2 3"
        let root = try vocCopy(dir, classes: lines.joined(separator: "\n") + "\n")
        let dataset = try DatasetLoader.open(root)
        XCTAssertEqual(dataset.classNames[16], "potted plant")
        XCTAssertEqual(dataset.palette[15], RGB(15, 30, 240))
        XCTAssertEqual(dataset.palette[16], RGB(1, 2, 3))
        XCTAssertEqual(dataset.palette[21], Palette.voc[21], "classes beyond the list keep the VOC colormap")
        XCTAssertEqual(dataset.palette.count, 256)
        // Paletted masks still decode to their indices.
        XCTAssertEqual(try dataset.sample(id: "2007_000032").label.presentValues, [0, 1, 15, 255])
    }

    func testBadColourLinesNameTheFileLineAndValue() throws {
        let cases: [(line: String, expected: [String])] = [
            ("cat 12 300 7", ["g value '300'", "0 to 255"]),
            ("cat 12 7", ["ends in 2 numbers"]),
            ("cat -1 2 3", ["r value '-1'"]),
            ("cat 1.5 2 3", ["r value '1.5'"]),
            ("10 20 30", ["no class name"]),
            ("cat:1,2", ["colour '1,2'"]),
        ]
        for (line, expected) in cases {
            let dir = try TemporaryDirectory()
            let root = try vocCopy(dir, classes: "background 0 0 0\n# a comment\nthing 10 20 30\n\(line)\n")
            XCTAssertThrowsError(try DatasetLoader.open(root), line) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(root.appendingPathComponent("classes.txt").path), text)
                XCTAssertTrue(text.contains("line 4"), "the line as numbered in the file: \(text)")
                for part in expected { XCTAssertTrue(text.contains(part), "'\(part)' missing from: \(text)") }
            }
        }
        // One trailing number is part of a name, not a colour.
        let dir = try TemporaryDirectory()
        let root = try vocCopy(dir, classes: "background\nlevel 2\n")
        XCTAssertEqual(try DatasetLoader.open(root).classNames, ["background", "level 2"])
    }

    func testADE20KAndCityscapesPalettesFollowTheClassNames() throws {
        let dir = try TemporaryDirectory()
        // ADE20K as it is stored: 0 = "other", then the 150 classes.
        let ade = try vocCopy(dir, classes: (["other"] + Palette.ade20kClassNames).joined(separator: "\n") + "\n")
        let raw = try DatasetLoader.open(ade)
        XCTAssertEqual(raw.palette[1], RGB(120, 120, 120), "wall")
        XCTAssertEqual(raw.palette[13], RGB(150, 5, 61), "person")
        var options = DatasetOptions()
        options.reduceZeroLabel = true
        let reduced = try DatasetLoader.open(ade, options: options)
        XCTAssertEqual(reduced.classNames.first, "wall")
        XCTAssertEqual(reduced.palette[0], RGB(120, 120, 120), "wall")
        XCTAssertEqual(reduced.palette[12], RGB(150, 5, 61), "person")
        XCTAssertEqual(reduced.palette[149], RGB(92, 0, 255), "flag")

        let other = try TemporaryDirectory()
        // Spelled with underscores and capitals, as some exports write them.
        let names = Palette.cityscapesClassNames.map { $0.replacingOccurrences(of: " ", with: "_").capitalized }
        let city = try vocCopy(other, classes: names.joined(separator: "\n") + "\n")
        let cityscapes = try DatasetLoader.open(city)
        XCTAssertEqual(cityscapes.palette[0], RGB(128, 64, 128), "road")
        XCTAssertEqual(cityscapes.palette[7], RGB(220, 220, 0), "traffic sign")
        XCTAssertEqual(cityscapes.palette[13], RGB(0, 0, 142), "car")
        XCTAssertEqual(cityscapes.palette[19], Palette.voc[19])
    }

    func testPaletteOptionOverridesTheDatasetsColours() throws {
        let dir = try TemporaryDirectory()
        let colored = try vocCopy(dir, classes: Palette.vocClassNames.map { "\($0) 9 9 9" }.joined(separator: "\n"))
        var options = DatasetOptions()
        options.palette = .cityscapes
        let city = try DatasetLoader.open(colored, options: options)
        XCTAssertEqual(city.palette[0], RGB(128, 64, 128), "the key wins over classes.txt")
        XCTAssertEqual(city.palette[18], RGB(119, 11, 32))
        XCTAssertEqual(city.palette[20], Palette.voc[20], "classes beyond the palette's 19 keep the VOC colormap")
        XCTAssertEqual(try city.sample(id: "2007_000032").label.presentValues, [0, 1, 15, 255], "labels unchanged")
        options.palette = .ade20k
        XCTAssertEqual(try DatasetLoader.open(Fixtures.voc, options: options).palette[20], RGB(0, 102, 200))
        options.palette = .voc
        XCTAssertEqual(try DatasetLoader.open(colored, options: options).palette, Palette.voc)
        // Pets keeps its own colours under auto and takes the key's otherwise.
        XCTAssertEqual(try DatasetLoader.open(Fixtures.pets).palette[1], RGB(0, 0, 0))
        XCTAssertEqual(try DatasetLoader.open(Fixtures.pets, options: options).palette[1], RGB(128, 0, 0))
    }
}
