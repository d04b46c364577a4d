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

    /// `--backend` on bench train: the JSON names the backend that ran; a bad value is refused
    /// with the allowed ones.
    func testBenchTrainBackendOption() throws {
        let result = try CLI.run(["bench", "train", "--model", "xunet", "--size", "32x32", "--threads", "1",
                                  "--iters", "1", "--mode", "infer", "--backend", "reference", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                                 result.stdout)
        XCTAssertTrue((json["backend"] as? String ?? "").hasPrefix("reference"), "\(json)")
        let bad = try CLI.run(["bench", "train", "--model", "xunet", "--backend", "cuda"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("'cuda'") && bad.stderr.contains("dnnl, reference"), bad.stderr)
    }

    /// `--backend` on train / eval / predict and the `backend` config key: bad values name the
    /// value and the choices; "fast" (the key's earlier name) is read as dnnl.
    func testBackendOptionAndConfigKey() throws {
        for args in [["train", "--backend", "gpu"], ["train", "--set", "backend=gpu"],
                     ["eval", "--checkpoint", "/nonexistent.safetensors", "--backend", "gpu"],
                     ["predict", "--checkpoint", "/nonexistent.safetensors", "--out", "/tmp", "--backend", "gpu", "x.png"]] {
            let r = try CLI.run(args)
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertTrue(r.stderr.contains("gpu") && r.stderr.contains("dnnl, reference"), "\(args): \(r.stderr)")
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-backend-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let demo = work.appendingPathComponent("demo"), runs = work.appendingPathComponent("runs")
        let made = try CLI.run(["data", "demo", "--out", demo.path, "--train", "2", "--val", "1"])
        XCTAssertEqual(made.status, 0, made.stderr)
        let config = work.appendingPathComponent("old.toml")
        try "backend = \"fast\"\n".write(to: config, atomically: true, encoding: .utf8)
        let trained = try CLI.run(["train", "--config", config.path, "--data", demo.path, "--iterations", "1", "--batch", "1",
                                   "--crop", "32", "--threads", "1", "--runs-dir", runs.path, "--set", "checkpoint=none",
                                   "--set", "eval_mode=whole"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let run = try XCTUnwrap(try FileManager.default.contentsOfDirectory(at: runs, includingPropertiesForKeys: nil).first)
        let saved = try String(contentsOf: run.appendingPathComponent("config.toml"), encoding: .utf8)
        XCTAssertTrue(saved.contains("\nbackend = \"dnnl\"\n"), saved)
    }
}
