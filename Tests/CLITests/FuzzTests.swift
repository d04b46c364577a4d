import Foundation
import TestSupport
import XCTest

/// Issue #16: the fuzzer in CI — 2,000 mutated cases over every target without a crash or hang —
/// and proof that it would see one (a trap and a hang injected at case 7).
final class FuzzTests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws { work = try makeTemporaryDirectory("fuzz") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    private func report(_ result: CLI.Result) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        return try XCTUnwrap(object as? [String: Any], result.stdout)
    }

    func testTwoThousandCasesOverEveryTargetFindNoCrashOrHang() throws {
        let findings = work.appendingPathComponent("findings")
        let result = try CLI.run(["fuzz", "--cases", "250", "--seed", "16", "--json", "--findings", findings.path])
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        let json = try report(result)
        let targets = try XCTUnwrap(json["targets"] as? [[String: Any]])
        XCTAssertEqual(targets.map { $0["target"] as? String },
                       ["png", "jpeg", "dataset-voc", "dataset-pets", "config-toml", "config-set", "engine-json", "weights"])
        XCTAssertEqual(json["cases"] as? Int, 2000)
        XCTAssertEqual(json["crashes"] as? Int, 0, result.stdout)
        XCTAssertEqual(json["hangs"] as? Int, 0, result.stdout)
        XCTAssertGreaterThan(json["casesPerSecond"] as? Double ?? 0, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: findings.path), "findings were written")
    }

    func testACrashAndAHangAreCaughtNamedAndTheRunGoesOn() throws {
        for (fault, kind, timeout) in [("fuzz-crash", "crash", "10"), ("fuzz-hang", "hang", "1")] {
            let findings = work.appendingPathComponent(fault)
            let result = try CLI.run(["fuzz", "--target", "config-set", "--cases", "20", "--batch", "10", "--timeout", timeout,
                                      "--json", "--findings", findings.path], environment: ProcessInfo.processInfo.environment.merging(["SEGSCOPE_FAULT": fault]) { $1 })
            XCTAssertEqual(result.status, 1, result.stdout + result.stderr)
            let json = try report(result)
            XCTAssertEqual(json["cases"] as? Int, 20, "the run went on after case 7")
            let found = try XCTUnwrap(json["findings"] as? [[String: Any]])
            XCTAssertEqual(found.count, 1, "\(found)")
            XCTAssertEqual(found.first?["kind"] as? String, kind)
            XCTAssertEqual(found.first?["index"] as? Int, 7)
            XCTAssertEqual(found.first?["replay"] as? String, "segscope fuzz --target config-set --seed 1 --replay 7")
            let input = try XCTUnwrap(found.first?["input"] as? String)
            XCTAssertTrue(FileManager.default.fileExists(atPath: input), input)
        }
    }

    func testCasesAreReproducibleAndTheCorpusIsWritten() throws {
        let a = work.appendingPathComponent("a"), b = work.appendingPathComponent("b")
        for dir in [a, b] {
            let result = try CLI.run(["fuzz", "--target", "png,config-toml", "--cases", "30", "--seed", "5", "--corpus-out", dir.path])
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertTrue(result.stdout.contains("wrote 60 cases of 2 target(s)"), result.stdout)
        }
        for target in ["png", "config-toml"] {
            let files = try FileManager.default.contentsOfDirectory(atPath: a.appendingPathComponent(target).path).sorted()
            XCTAssertEqual(files.count, 30)
            for file in files {
                XCTAssertEqual(try Data(contentsOf: a.appendingPathComponent("\(target)/\(file)")),
                               try Data(contentsOf: b.appendingPathComponent("\(target)/\(file)")), "\(target)/\(file)")
            }
        }
        let replay = try CLI.run(["fuzz", "--target", "config-toml", "--seed", "5", "--replay", "0"])
        XCTAssertEqual(replay.status, 0, replay.stderr)
        XCTAssertTrue(replay.stdout.contains("config-toml case 0 (seed 5)") && replay.stdout.contains("accepted"), replay.stdout)
    }
}
