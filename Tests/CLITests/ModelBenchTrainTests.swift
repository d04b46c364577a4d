import Foundation
import TestSupport
import XCTest

final class ModelBenchTrainTests: XCTestCase {
    /// A tiny run: the JSON has torch_reference.py's keys with real, positive figures.
    func testBenchTrainJSON() throws {
        let result = try CLI.run(["bench", "train", "--model", "xunet", "--batch", "2", "--size", "32x32",
                                  "--threads", "1", "--iters", "1", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                                 result.stdout)
        XCTAssertEqual(json["model"] as? String, "xunet")
        XCTAssertEqual(json["batch"] as? Int, 2)
        XCTAssertEqual(json["size"] as? [Int], [32, 32])
        XCTAssertEqual(json["threads"] as? Int, 1)
        XCTAssertEqual(json["params"] as? Int, 2_055_203)
        for key in ["infer_ms", "infer_img_s", "train_ms", "train_img_s", "peak_rss_mib"] {
            let value = try XCTUnwrap(json[key] as? Double, key)
            XCTAssertGreaterThan(value, 0, key)
        }
        // Cross-entropy of an untrained 3-class net is near ln 3.
        let loss = try XCTUnwrap(json["train_loss_first"] as? Double)
        XCTAssertGreaterThan(loss, 0.3)
        XCTAssertLessThan(loss, 10)
    }

    func testBenchTrainRejectsBadValues() throws {
        let batch = try CLI.run(["bench", "train", "--model", "unet", "--batch", "0"])
        XCTAssertNotEqual(batch.status, 0)
        XCTAssertTrue(batch.stderr.contains("--batch must be at least 1"), batch.stderr)
        let size = try CLI.run(["bench", "train", "--model", "unet", "--size", "100x100"])
        XCTAssertNotEqual(size.status, 0)
        XCTAssertTrue(size.stderr.contains("divisible by 64"), size.stderr)
    }
}
