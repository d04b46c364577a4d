import Foundation
import TestSupport
import XCTest

/// `--precision` / the `precision` key on the command line, and `doctor`'s bf16 line.
final class PrecisionCLITests: XCTestCase {
    func environment(_ extra: [String: String]) -> [String: String] {
        ProcessInfo.processInfo.environment.merging(extra) { _, new in new }
    }

    func testDoctorReportsBF16AndTheForcedFallback() throws {
        let json = try CLI.run(["doctor", "--json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let bf16 = try XCTUnwrap(report["bf16"] as? [String: Any], json.stdout)
        XCTAssertNotNil(bf16["available"] as? Bool)
        XCTAssertFalse((bf16["isa"] as? String ?? "").isEmpty, "\(bf16)")

        let off = try CLI.run(["doctor"], environment: environment(["SEGSCOPE_BF16": "off"]))
        XCTAssertEqual(off.status, 0, off.stderr)
        XCTAssertTrue(off.stdout.contains("  bf16       no (SEGSCOPE_BF16=off turns bf16 off"), off.stdout)
        XCTAssertTrue(off.stdout.contains("precision = bf16 runs in fp32"), off.stdout)
    }

    func testBadPrecisionIsRefusedEverywhere() throws {
        for args in [["train", "--precision", "fp16"], ["train", "--set", "precision=fp16"],
                     ["eval", "--checkpoint", "/nonexistent.safetensors", "--precision", "fp16"],
                     ["predict", "--checkpoint", "/nonexistent.safetensors", "--out", "/tmp", "--precision", "fp16", "x.png"],
                     ["bench", "train", "--model", "xunet", "--precision", "fp16"]] {
            let r = try CLI.run(args)
            XCTAssertNotEqual(r.status, 0, "\(args)")
            XCTAssertTrue(r.stderr.contains("fp16") && r.stderr.contains("fp32, bf16"), "\(args): \(r.stderr)")
        }
    }

    /// A bf16 run on a machine without bf16 (forced): the notice, fp32 training, and the asked
    /// precision written to config.toml (so the run is bf16 where the CPU has it).
    func testTrainBF16FallbackNoticeAndConfig() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-precision-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let demo = work.appendingPathComponent("demo"), runs = work.appendingPathComponent("runs")
        let made = try CLI.run(["data", "demo", "--out", demo.path, "--train", "2", "--val", "1"])
        XCTAssertEqual(made.status, 0, made.stderr)
        let trained = try CLI.run(["train", "--data", demo.path, "--iterations", "1", "--batch", "1", "--crop", "32",
                                   "--threads", "1", "--runs-dir", runs.path, "--set", "checkpoint=none", "--precision", "bf16"],
                                  environment: environment(["SEGSCOPE_BF16": "off"]))
        XCTAssertEqual(trained.status, 0, trained.stderr)
        XCTAssertTrue(trained.stderr.contains("precision bf16 is not available here: SEGSCOPE_BF16=off"), trained.stderr)
        let run = try XCTUnwrap(try FileManager.default.contentsOfDirectory(at: runs, includingPropertiesForKeys: nil).first)
        let saved = try String(contentsOf: run.appendingPathComponent("config.toml"), encoding: .utf8)
        XCTAssertTrue(saved.contains("\nprecision = \"bf16\"\n"), saved)
    }

    /// Where the CPU has bf16: bench train runs the bf16 backend and says so.
    func testBenchTrainBF16ReportsThePrecisionThatRan() throws {
        let r = try CLI.run(["bench", "train", "--model", "xunet", "--size", "32x32", "--threads", "1", "--batch", "1",
                             "--iters", "1", "--mode", "train", "--precision", "bf16", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        let doctor = try CLI.run(["doctor", "--json"])
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(doctor.stdout.utf8)) as? [String: Any])
        let available = ((report["bf16"] as? [String: Any])?["available"] as? Bool) ?? false
        XCTAssertEqual(json["precision"] as? String, available ? "bf16" : "fp32", "\(json)")
        if !available { XCTAssertTrue(r.stderr.contains("running in fp32"), r.stderr) }
    }
}
