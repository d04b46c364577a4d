import Foundation
import TestSupport
import XCTest

/// Issue #16 from the command line: each bad value is refused with exit 64 and a message naming
/// the flag or key and what to use; a dropped ssh connection saves the run like Ctrl-C.
final class BadInputCLITests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws { work = try makeTemporaryDirectory("badinput") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    private func refused(_ args: [String], mentions: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try CLI.run(["train", "--runs-dir", work.appendingPathComponent("runs").path] + args)
        XCTAssertEqual(result.status, 64, result.stderr, file: file, line: line)
        for text in mentions { XCTAssertTrue(result.stderr.contains(text), "no '\(text)' in:\n\(result.stderr)", file: file, line: line) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("runs").path), "a refused run made a run directory",
                       file: file, line: line)
    }

    func testUNetWithTheDefaultCropIsRefusedBeforeTraining() throws {
        try refused(["--model", "unet"], mentions: ["config key 'crop'", "divisible by 64", "try 192x192"])
    }

    func testNegativeNumbersReachTheRangeCheck() throws {
        try refused(["--lr", "-1"], mentions: ["config key 'lr'", "-1.0 is out of range", "> 0"])
        try refused(["--batch", "-3"], mentions: ["config key 'batch'", "-3 is out of range"])
    }

    func testHugeEpochsAndTooManyThreadsAreRefused() throws {
        try refused(["--epochs", "9223372036854775807"], mentions: ["config key 'epochs'", "too large"])
        try refused(["--threads", "100000"], mentions: ["config key 'threads'", "cores of this machine"])
    }

    func testConfigThatIsADirectoryOrMissingSaysSo() throws {
        try refused(["--config", work.path], mentions: ["--config \(work.path): is a directory", "TOML file"])
        try refused(["--config", work.appendingPathComponent("nope.toml").path], mentions: ["nope.toml: no such file"])
    }

    func testSIGHUPSavesAResumableCheckpointAndExits129() throws {
        let demo = work.appendingPathComponent("demo")
        let made = try CLI.run(["data", "demo", "--out", demo.path, "--train", "4", "--val", "2"])
        XCTAssertEqual(made.status, 0, made.stderr)
        let runs = work.appendingPathComponent("runs")
        let running = try RunningCLI(["train", "--data", demo.path, "--model", "xunet", "--iterations", "100000", "--batch", "2",
                                      "--crop", "32", "--threads", "1", "--runs-dir", runs.path, "--set", "eval_interval=100000",
                                      "--set", "precise_bn_images=0", "--events", "jsonl"])
        XCTAssertTrue(running.waitForLine(timeout: 120) { $0.contains("\"type\":\"step\"") }, running.stderrText)
        running.send(signal: SIGHUP)
        let result = running.wait()
        XCTAssertEqual(result.status, 129, result.stderr)
        let run = try XCTUnwrap(try FileManager.default.contentsOfDirectory(at: runs, includingPropertiesForKeys: nil).first)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("checkpoints/last.resume.safetensors").path),
                      result.stderr)
        let metrics = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        XCTAssertTrue(metrics.contains("\"type\":\"step\""), metrics)
        // The stored data path is absolute, so eval / resume work from any directory.
        let config = try String(contentsOf: run.appendingPathComponent("config.toml"), encoding: .utf8)
        XCTAssertTrue(config.contains("data = \"\(demo.standardizedFileURL.path)\""), config)
    }

    func testRelativeDataIsStoredAbsolute() throws {
        let demo = work.appendingPathComponent("demo")
        XCTAssertEqual(try CLI.run(["data", "demo", "--out", demo.path, "--train", "2", "--val", "1"]).status, 0)
        let result = try CLI.run(["train", "--data", "demo", "--iterations", "1", "--batch", "1", "--crop", "32", "--threads", "1",
                                  "--runs-dir", "runs", "--set", "checkpoint=none", "--set", "precise_bn_images=0"],
                                 currentDirectory: work)
        XCTAssertEqual(result.status, 0, result.stderr)
        let runs = work.appendingPathComponent("runs")
        let run = try XCTUnwrap(try FileManager.default.contentsOfDirectory(at: runs, includingPropertiesForKeys: nil).first)
        let config = try String(contentsOf: run.appendingPathComponent("config.toml"), encoding: .utf8)
        XCTAssertTrue(config.contains("data = \"/"), config)
        XCTAssertTrue(config.contains("/demo\""), config)
    }
}
