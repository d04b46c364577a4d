import Datasets
import Foundation
import TestSupport
import XCTest

final class ReaderTests: XCTestCase {
    /// The per-image mask values the fixtures README lists.
    static let vocClassSets: [String: [UInt8]] = [
        "2007_000032": [0, 1, 15, 255], "2007_000033": [0, 1, 255],
        "2007_000039": [0, 20, 255], "2007_000042": [0, 19, 255],
    ]

    func testVOCFixtures() throws {
        XCTAssertEqual(try DatasetLoader.detect(Fixtures.voc), .voc)
        let dataset = try DatasetLoader.open(Fixtures.voc)
        XCTAssertEqual(dataset.format, .voc)
        XCTAssertEqual(dataset.splits, ["train", "val", "trainval"])
        XCTAssertEqual(try dataset.ids(split: "train"), ["2007_000032", "2007_000039"])
        XCTAssertEqual(try dataset.ids(split: "val"), ["2007_000033", "2007_000042"])
        XCTAssertEqual(dataset.classNames.count, 21)
        XCTAssertEqual(dataset.classNames[15], "person")
        XCTAssertEqual(dataset.palette[1], RGB(128, 0, 0))
        for id in try dataset.ids(split: "trainval") {
            let sample = try dataset.sample(id: id)
            XCTAssertEqual(sample.label.presentValues, Self.vocClassSets[id], id)
            XCTAssertEqual(sample.image.width, sample.label.width)
            XCTAssertEqual(sample.image.height, sample.label.height)
            XCTAssertTrue(sample.warnings.isEmpty, "\(sample.warnings)")
        }
        XCTAssertThrowsError(try dataset.ids(split: "test")) { error in
            XCTAssertTrue("\(error)".contains("no split 'test'"), "\(error)")
        }
    }

    func testLimitReadsTheFirstNIds() throws {
        let dataset = try DatasetLoader.open(Fixtures.voc, options: DatasetOptions(limit: 1))
        XCTAssertEqual(try dataset.ids(split: "train"), ["2007_000032"])
        XCTAssertEqual(try dataset.ids(split: "trainval").count, 1)
    }

    func testVOCWithRGBMasksMapsColoursAndReportsUnknownOnes() throws {
        let dir = try TemporaryDirectory()
        let root = try dir.copy(Fixtures.voc, as: "voc")
        let maskURL = root.appendingPathComponent("SegmentationClass/2007_000032.png")
        var rgb = try ImageCodec.readPNG(maskURL).rgbImage()
        // Paint a 10x10 block an unknown colour.
        for y in 0..<10 { for x in 0..<10 { rgb[x, y] = (1, 2, 3) } }
        try ImageCodec.writeRGBPNG(rgb, to: maskURL)
        let sample = try DatasetLoader.open(root).sample(id: "2007_000032")
        XCTAssertEqual(sample.label.presentValues, [0, 1, 15, 255])
        XCTAssertEqual(sample.label[0, 0], 255)
        XCTAssertEqual(sample.warnings.count, 1)
        XCTAssertTrue(sample.warnings[0].contains("100 pixels") && sample.warnings[0].contains("(1,2,3)"), sample.warnings[0])
    }

    func testCustomClassListAndOutOfRangeValues() throws {
        let dir = try TemporaryDirectory()
        let root = try dir.copy(Fixtures.voc, as: "voc")
        try "# label:color_rgb:parts:actions\nbackground:0,0,0::\naeroplane:128,0,0::\n"
            .write(to: root.appendingPathComponent("labelmap.txt"), atomically: true, encoding: .utf8)
        let dataset = try DatasetLoader.open(root)
        XCTAssertEqual(dataset.classNames, ["background", "aeroplane"])
        let sample = try dataset.sample(id: "2007_000032")
        XCTAssertEqual(sample.label.presentValues, [0, 1, 255], "15 is out of range for 2 classes")
        XCTAssertTrue(sample.warnings.contains { $0.contains("label values out of range (15") }, "\(sample.warnings)")

        try FileManager.default.removeItem(at: root.appendingPathComponent("labelmap.txt"))
        try "background\nthing 10 20 30\n".write(to: root.appendingPathComponent("classes.txt"), atomically: true, encoding: .utf8)
        let custom = try DatasetLoader.open(root)
        XCTAssertEqual(custom.classNames, ["background", "thing"])
        XCTAssertEqual(custom.palette[1], RGB(128, 0, 0), "colours are used only when every line has one")
    }

    func testPetsFixtures() throws {
        XCTAssertEqual(try DatasetLoader.detect(Fixtures.pets), .pets)
        let dataset = try DatasetLoader.open(Fixtures.pets)
        XCTAssertEqual(dataset.splits, ["trainval", "test"])
        XCTAssertEqual(try dataset.ids(split: "trainval").count, 7)
        XCTAssertEqual(try dataset.ids(split: "test"), ["Abyssinian_11", "Bengal_100", "american_bulldog_101"])
        XCTAssertEqual(dataset.classNames, ["pet", "background", "border"])
        for id in try dataset.allIDs() {
            let sample = try dataset.sample(id: id)
            XCTAssertEqual(sample.label.presentValues, [0, 1, 2], id)
            XCTAssertEqual(sample.image.width, sample.label.width, id)
        }
        let void = try DatasetLoader.open(Fixtures.pets, options: DatasetOptions(petsBorder: .void))
        XCTAssertEqual(try void.sample(id: "Abyssinian_1").label.presentValues, [0, 1, 255])
    }

    func testPetsWithoutListFilesSplitsDeterministically() throws {
        let dir = try TemporaryDirectory()
        let root = try dir.copy(Fixtures.pets, as: "pets")
        for name in ["trainval.txt", "test.txt"] {
            try FileManager.default.removeItem(at: root.appendingPathComponent("annotations/\(name)"))
        }
        let a = try DatasetLoader.open(root), b = try DatasetLoader.open(root)
        let trainval = try a.ids(split: "trainval"), test = try a.ids(split: "test")
        XCTAssertEqual(trainval.count + test.count, 10)
        XCTAssertEqual(Set(trainval).intersection(test), [])
        XCTAssertEqual(trainval, try b.ids(split: "trainval"))
    }

    func testFolderLayout() throws {
        let dir = try TemporaryDirectory()
        let root = dir.url.appendingPathComponent("folder")
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("images"), withIntermediateDirectories: true)
        try fm.createDirectory(at: root.appendingPathComponent("masks"), withIntermediateDirectories: true)
        for id in ["2007_000032", "2007_000033"] {
            try fm.copyItem(at: Fixtures.voc.appendingPathComponent("JPEGImages/\(id).jpg"),
                            to: root.appendingPathComponent("images/\(id).jpg"))
            try fm.copyItem(at: Fixtures.voc.appendingPathComponent("SegmentationClass/\(id).png"),
                            to: root.appendingPathComponent("masks/\(id).png"))
        }
        try "2007_000032\n".write(to: root.appendingPathComponent("train.txt"), atomically: true, encoding: .utf8)
        try "2007_000033\n".write(to: root.appendingPathComponent("val.txt"), atomically: true, encoding: .utf8)
        XCTAssertEqual(try DatasetLoader.detect(root), .folder)
        let dataset = try DatasetLoader.open(root)
        XCTAssertEqual(dataset.splits, ["train", "val"])
        XCTAssertEqual(try dataset.sample(id: "2007_000033").label.presentValues, [0, 1, 255])
    }

    func testUnrecognisedDirectoryExplainsWhatWasExpected() throws {
        let dir = try TemporaryDirectory()
        try Data().write(to: dir.url.appendingPathComponent("notes.txt"))
        XCTAssertThrowsError(try DatasetLoader.open(dir.url)) { error in
            let text = "\(error)"
            for expected in ["notes.txt", "JPEGImages/", "annotations/trimaps/", "masks/", "--format"] {
                XCTAssertTrue(text.contains(expected), "missing \(expected) in: \(text)")
            }
        }
        XCTAssertThrowsError(try DatasetLoader.open(dir.url.appendingPathComponent("nope"))) { error in
            XCTAssertTrue("\(error)".contains("no such directory"), "\(error)")
        }
    }

    func testMissingListedFileAndWrongSizeMaskNameTheFiles() throws {
        let dir = try TemporaryDirectory()
        let root = try dir.copy(Fixtures.voc, as: "voc")
        try FileManager.default.removeItem(at: root.appendingPathComponent("JPEGImages/2007_000033.jpg"))
        // 2007_000039's mask (500x375) paired with 2007_000042's image (500x335).
        try FileManager.default.removeItem(at: root.appendingPathComponent("SegmentationClass/2007_000042.png"))
        try FileManager.default.copyItem(at: root.appendingPathComponent("SegmentationClass/2007_000039.png"),
                                         to: root.appendingPathComponent("SegmentationClass/2007_000042.png"))
        let dataset = try DatasetLoader.open(root)
        XCTAssertThrowsError(try dataset.sample(id: "2007_000033")) { error in
            XCTAssertTrue("\(error)".contains("JPEGImages/2007_000033.jpg"), "\(error)")
        }
        XCTAssertThrowsError(try dataset.sample(id: "2007_000042")) { error in
            XCTAssertTrue("\(error)".contains("500x375") && "\(error)".contains("500x335"), "\(error)")
        }
    }
}
