import Foundation
import TestSupport
import XCTest

final class DataCommandTests: XCTestCase {
    private var temp: URL!

    override func setUpWithError() throws {
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-cli-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: temp)
    }

    private func json(_ text: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try XCTUnwrap(object as? [String: Any], "not a JSON object:\n\(text)")
    }

    func testInfoJSONOnVOCFixtures() throws {
        let result = try CLI.run(["data", "info", Fixtures.voc.path, "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let info = try json(result.stdout)
        XCTAssertEqual(info["format"] as? String, "voc")
        XCTAssertEqual(info["numClasses"] as? Int, 21)
        let splits = try XCTUnwrap(info["splits"] as? [[String: Any]])
        let counts = Dictionary(uniqueKeysWithValues: splits.map { ($0["split"] as? String ?? "", $0["samples"] as? Int ?? -1) })
        XCTAssertEqual(counts["train"], 2)
        XCTAssertEqual(counts["val"], 2)
        let images = try XCTUnwrap(info["images"] as? [[String: Any]])
        let sets = Dictionary(uniqueKeysWithValues: images.map { ($0["id"] as? String ?? "", $0["classes"] as? [Int] ?? []) })
        XCTAssertEqual(sets, ["2007_000032": [0, 1, 15, 255], "2007_000033": [0, 1, 255],
                              "2007_000039": [0, 20, 255], "2007_000042": [0, 19, 255]])
        XCTAssertEqual((info["bad"] as? [Any])?.count, 0)
    }

    func testInfoTextAndPets() throws {
        let voc = try CLI.run(["data", "info", Fixtures.voc.path])
        XCTAssertEqual(voc.status, 0, voc.stderr)
        XCTAssertTrue(voc.stdout.contains("person") && voc.stdout.contains("train 2, val 2"), voc.stdout)
        let pets = try CLI.run(["data", "info", Fixtures.pets.path, "--json"])
        XCTAssertEqual(pets.status, 0, pets.stderr)
        let info = try json(pets.stdout)
        XCTAssertEqual(info["format"] as? String, "pets")
        let splits = try XCTUnwrap(info["splits"] as? [[String: Any]])
        XCTAssertEqual(splits.map { $0["samples"] as? Int ?? -1 }, [7, 3])
        let images = try XCTUnwrap(info["images"] as? [[String: Any]])
        XCTAssertTrue(images.allSatisfy { ($0["classes"] as? [Int]) == [0, 1, 2] })
        let limited = try CLI.run(["data", "info", Fixtures.pets.path, "--json", "--limit", "2"])
        XCTAssertEqual(try json(limited.stdout)["samples"] as? Int, 4)
    }

    func testCheckPassesOnFixturesAndNamesEveryProblemOfACorruptCopy() throws {
        let good = try CLI.run(["data", "check", Fixtures.voc.path])
        XCTAssertEqual(good.status, 0, good.stdout + good.stderr)
        XCTAssertTrue(good.stdout.hasPrefix("ok"), good.stdout)

        let (root, problems) = try CorruptFixtures.voc(in: temp)
        let bad = try CLI.run(["data", "check", root.path])
        XCTAssertEqual(bad.status, 1, bad.stdout + bad.stderr)
        XCTAssertTrue(bad.stdout.contains("4 problem(s)"), bad.stdout)
        XCTAssertTrue(bad.stdout.contains("1 warning(s)"), bad.stdout)
        for problem in problems {
            let lines = bad.stdout.split(separator: "\n").filter { $0.contains("\(problem.id):") }.joined(separator: "\n")
            for text in problem.mustMention { XCTAssertTrue(lines.contains(text), "\(problem.id): '\(text)' missing in\n\(bad.stdout)") }
        }
    }

    /// Only warnings (an unknown mask colour, mapped to void): exit 0 with the warning printed;
    /// `--strict` fails on it.
    func testCheckPassesWithWarningsUnlessStrict() throws {
        let (root, problems) = try CorruptFixtures.voc(in: temp)
        let lists = root.appendingPathComponent("ImageSets/Segmentation")
        for split in ["train", "val", "trainval"] {
            try (CorruptFixtures.loadable.joined(separator: "\n") + "\n")
                .write(to: lists.appendingPathComponent("\(split).txt"), atomically: true, encoding: .utf8)
        }
        let warned = try CLI.run(["data", "check", root.path])
        XCTAssertEqual(warned.status, 0, warned.stdout + warned.stderr)
        XCTAssertTrue(warned.stdout.hasPrefix("ok"), warned.stdout)
        XCTAssertTrue(warned.stdout.contains("1 warning(s)"), warned.stdout)
        let unknown = try XCTUnwrap(problems.first { $0.id == "extra_unknown" })
        for text in unknown.mustMention { XCTAssertTrue(warned.stdout.contains(text), "'\(text)' missing in\n\(warned.stdout)") }
        let strict = try CLI.run(["data", "check", root.path, "--strict"])
        XCTAssertEqual(strict.status, 1, strict.stdout + strict.stderr)
        let json = try CLI.run(["data", "check", root.path, "--json"])
        XCTAssertEqual(json.status, 0, json.stdout + json.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["ok"] as? Bool, true)
        XCTAssertEqual((report["warnings"] as? [Any])?.count, 1)
        XCTAssertEqual((report["errors"] as? [Any])?.count, 0)
    }

    func testDemoWritesASetThatPassesCheck() throws {
        let out = temp.appendingPathComponent("demo")
        let demo = try CLI.run(["data", "demo", "--out", out.path, "--seed", "3", "--train", "20", "--val", "5"])
        XCTAssertEqual(demo.status, 0, demo.stderr)
        XCTAssertTrue(demo.stdout.contains("wrote 25 images"), demo.stdout)
        let check = try CLI.run(["data", "check", out.path])
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
        let info = try json(try CLI.run(["data", "info", out.path, "--json"]).stdout)
        XCTAssertEqual(info["format"] as? String, "demo")
        XCTAssertEqual(info["numClasses"] as? Int, 6)
        let mask = try Data(contentsOf: out.appendingPathComponent("SegmentationClass/val_0004.png"))
        XCTAssertEqual(mask[25], 3, "IHDR colour type 3 (paletted)")
        // Refuses to overwrite a directory that is not a demo set.
        let refused = try CLI.run(["data", "demo", "--out", Fixtures.voc.path])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("not a Segscope demo set"), refused.stderr)
    }

    func testUnrecognisedDirectorySaysWhatWasExpected() throws {
        let result = try CLI.run(["data", "info", temp.path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("JPEGImages/") && result.stderr.contains("annotations/trimaps/"), result.stderr)
        let forced = try CLI.run(["data", "info", Fixtures.pets.path, "--format", "voc"])
        XCTAssertNotEqual(forced.status, 0)
        XCTAssertTrue(forced.stderr.contains("not a VOC layout"), forced.stderr)
    }

    func testBenchDataReportsThroughput() throws {
        let help = try CLI.run(["bench", "--help"])
        XCTAssertTrue(help.stdout.contains("data"), help.stdout)
        let result = try CLI.run(["bench", "data", Fixtures.voc.path, "--json", "--seconds", "0.3"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let report = try json(result.stdout)
        XCTAssertGreaterThan(report["imagesPerSecond"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(report["imagesPerCPUSecond"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(report["images"] as? Int ?? 0, 0)
        XCTAssertEqual(report["samples"] as? Int, 4)
        XCTAssertEqual(report["crop"] as? String, "480x320")
    }
}
