import Foundation
import TestSupport
import XCTest

final class ModelCommandTests: XCTestCase {
    private func object(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    /// The counts of the issue, as `model summary --json` prints them.
    func testSummaryJSONGivesTheExactCounts() throws {
        for (name, args, trainable, nonTrainable, total, output) in [
            ("xunet", [String](), 2_055_203, 3_776, 2_058_979, [1, 3, 160, 160]),
            ("unet", ["--input", "128x128"], 26_917_781, 0, 26_917_781, [1, 21, 128, 128]),
            ("fcn-resnet18", [], 12_993_642, 9_600, 13_003_242, [1, 21, 320, 480]),
        ] {
            let result = try CLI.run(["model", "summary", name, "--json"] + args)
            XCTAssertEqual(result.status, 0, result.stderr)
            let json = try object(result.stdout)
            XCTAssertEqual(json["model"] as? String, name)
            XCTAssertEqual(json["trainable"] as? Int, trainable, name)
            XCTAssertEqual(json["non_trainable"] as? Int, nonTrainable, name)
            XCTAssertEqual(json["total"] as? Int, total, name)
            XCTAssertEqual(json["output_shape"] as? [Int], output, name)
            let layers = try XCTUnwrap(json["layers"] as? [[String: Any]])
            XCTAssertEqual(layers.compactMap { $0["params"] as? Int }.reduce(0, +), total, name)
        }
    }

    func testSummaryTableAndClasses() throws {
        let result = try CLI.run(["model", "summary", "xunet", "--classes", "5", "--input", "64x96"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("out_conv (Conv2d)"), result.stdout)
        XCTAssertTrue(result.stdout.contains("(None, 5, 64, 96)"), result.stdout)
        XCTAssertTrue(result.stdout.contains("Non-trainable params: 3,776"), result.stdout)
    }

    func testListNamesEveryModel() throws {
        let result = try CLI.run(["model", "list", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let list = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(list.compactMap { $0["name"] as? String }, ["xunet", "unet", "fcn-resnet18", "fcn-resnet50", "fcn-resnet101", "deeplabv3-resnet50", "deeplabv3-resnet101", "lraspp-mobilenet-v3-large"])
        XCTAssertEqual(list.compactMap { $0["total"] as? Int }, [2_058_979, 26_917_781, 13_003_242, 35_376_874, 54_421_226, 42_061_290, 61_105_642, 3_246_194])
        let table = try CLI.run(["model", "list"])
        XCTAssertTrue(table.stdout.contains("2,058,979 (2,055,203 + 3,776)"), table.stdout)
    }

    func testBadArgumentsAreExplained() throws {
        let unknown = try CLI.run(["model", "summary", "resnet50"])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.stderr.contains("unknown model 'resnet50'; available: xunet, unet, fcn-resnet18, fcn-resnet50"), unknown.stderr)
        let size = try CLI.run(["model", "summary", "fcn-resnet18", "--input", "300x500"])
        XCTAssertNotEqual(size.status, 0)
        XCTAssertTrue(size.stderr.contains("divisible by 32 (try 288x512)"), size.stderr)
        let malformed = try CLI.run(["model", "summary", "xunet", "--input", "160by160"])
        XCTAssertNotEqual(malformed.status, 0)
        XCTAssertTrue(malformed.stderr.contains("expected HxW"), malformed.stderr)
        let backbone = try CLI.run(["model", "summary", "xunet", "--backbone-weights", "/nonexistent.safetensors"])
        XCTAssertNotEqual(backbone.status, 0)
        XCTAssertTrue(backbone.stderr.contains("fcn-resnet18"), backbone.stderr)
        let missing = try CLI.run(["model", "summary", "xunet", "--weights", "/nonexistent/w.safetensors"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("/nonexistent/w.safetensors"), missing.stderr)
    }

    /// A weights file for another class count is refused with every mismatch named.
    func testSummaryChecksWeights() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-model-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("xunet5.safetensors").path
        let initialise = try CLI.run(["model", "init", "xunet", "--classes", "5", "--seed", "3", "--out", file])
        XCTAssertEqual(initialise.status, 0, initialise.stderr)
        XCTAssertTrue(initialise.stdout.contains("127 tensors"), initialise.stdout)
        let ok = try CLI.run(["model", "summary", "xunet", "--classes", "5", "--weights", file])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(ok.stdout.contains("all 127 tensors matched"), ok.stdout)
        let bad = try CLI.run(["model", "summary", "xunet", "--weights", file])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("2 problems"), bad.stderr)
        XCTAssertTrue(bad.stderr.contains("'out_conv.weight': shape [5, 32, 3, 3] in the file, the model needs [3, 32, 3, 3]"), bad.stderr)
        XCTAssertTrue(bad.stderr.contains("'out_conv.bias'"), bad.stderr)
    }
}
