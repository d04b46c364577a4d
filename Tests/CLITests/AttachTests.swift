import Foundation
import TestSupport
import XCTest

/// `segscope train` serves its run on RUN/engine.sock; `segscope attach` watches and steers it
/// (D-202). Runs start `--paused`, so nothing here depends on how fast the machine trains.
final class AttachTests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws { work = try makeTemporaryDirectory("attach") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    /// A background `segscope` whose stdout and stderr go to files.
    private final class Background {
        let process = Process()
        let out: URL, err: URL
        init(_ args: [String], in dir: URL, name: String) throws {
            out = dir.appendingPathComponent("\(name).out")
            err = dir.appendingPathComponent("\(name).err")
            _ = FileManager.default.createFile(atPath: out.path, contents: nil)
            _ = FileManager.default.createFile(atPath: err.path, contents: nil)
            process.executableURL = CLI.executable
            process.arguments = args
            process.standardOutput = try FileHandle(forWritingTo: out)
            process.standardError = try FileHandle(forWritingTo: err)
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }
        var stdout: String { (try? String(contentsOf: out, encoding: .utf8)) ?? "" }
        var stderr: String { (try? String(contentsOf: err, encoding: .utf8)) ?? "" }
        func kill9() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        /// Waits for the exit (a limit that only bounds a failure); nil when still running.
        func exitStatus(within seconds: Double = 300) -> Int32? {
            let limit = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < limit { usleep(20_000) }
            return process.isRunning ? nil : process.terminationStatus
        }
    }

    private func waitFor(_ what: String, seconds: Double = 300, _ condition: () -> Bool) throws {
        let limit = Date().addingTimeInterval(seconds)
        while !condition() {
            if Date() > limit { throw XCTSkip("gave up waiting for \(what)") }
            usleep(50_000)
        }
    }

    private func startPausedRun(_ demo: URL, runs: URL, name: String) throws -> (Background, URL) {
        let train = try Background([
            "train", "--data", demo.path, "--model", "xunet", "--iterations", "4", "--batch", "2", "--crop", "64",
            "--threads", "1", "--runs-dir", runs.path, "--set", "eval_interval=2", "--set", "precise_bn_images=0", "--paused",
        ], in: work, name: name)
        var socket: URL?
        try waitFor("\(name)'s socket") {
            let dirs = (try? FileManager.default.contentsOfDirectory(at: runs, includingPropertiesForKeys: nil)) ?? []
            socket = dirs.map { $0.appendingPathComponent("engine.sock") }.first { FileManager.default.fileExists(atPath: $0.path) }
            return socket != nil || !train.process.isRunning
        }
        let found = try XCTUnwrap(socket, "no engine.sock; train said:\n\(train.stderr)")
        return (train, found.deletingLastPathComponent())
    }

    /// The lines a plain viewer printed, as objects.
    private func messages(_ text: String) -> [[String: Any]] {
        text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// `--send lr=…` on a paused run: the change is in config.toml at once, in metrics.jsonl with
    /// the steps, and `train --config RUN/config.toml` trains with the same rates (D-260).
    func testALearningRateChangeIsRecordedAndTheRunsConfigReproducesIt() throws {
        let demo = work.appendingPathComponent("demo")
        XCTAssertEqual(try CLI.run(["data", "demo", "--out", demo.path, "--train", "4", "--val", "2"]).status, 0)
        let runs = work.appendingPathComponent("runs")
        let (train, run) = try startPausedRun(demo, runs: runs, name: "train")
        try waitFor("train's attach line") { train.stderr.contains("attach: segscope attach") || !train.process.isRunning }
        let changed = try CLI.run(["attach", run.path, "--control", "--send", "lr=0.004"])
        XCTAssertEqual(changed.status, 0, changed.stderr)
        XCTAssertTrue(changed.stderr.contains("setLearningRate: ok"), changed.stderr)
        let configURL = run.appendingPathComponent("config.toml")
        try waitFor("lr_changes in config.toml") {
            ((try? String(contentsOf: configURL, encoding: .utf8)) ?? "").contains("\nlr_changes = \"0:0.004\"\n") || !train.process.isRunning
        }
        let config = try String(contentsOf: configURL, encoding: .utf8)
        XCTAssertTrue(config.contains("\nlr_changes = \"0:0.004\"\n"), config)
        XCTAssertTrue(config.contains("\nlr = 0.001\n"), "lr stays the starting rate:\n\(config)")

        XCTAssertEqual(try CLI.run(["attach", run.path, "--control", "--send", "resume"]).status, 0)
        XCTAssertEqual(try XCTUnwrap(train.exitStatus(), train.stderr), 0, train.stderr)
        XCTAssertTrue(train.stderr.contains("learning rate (base) 0.001 → 0.004 after iteration 0"), train.stderr)
        func logged(_ dir: URL) throws -> [[String: Any]] {
            messages(try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8))
        }
        let lines = try logged(run)
        let change = try XCTUnwrap(lines.first { $0["type"] as? String == "learningRateChanged" }, "\(lines)")
        XCTAssertEqual(change["iteration"] as? Int, 0)
        XCTAssertEqual(change["from"] as? Double, 0.001)
        XCTAssertEqual(change["to"] as? Double, 0.004)
        XCTAssertEqual(change["replayed"] as? Bool, false)
        func rates(_ lines: [[String: Any]]) -> [Double] {
            lines.filter { $0["type"] as? String == "step" }.compactMap { $0["learning_rate"] as? Double }
        }
        XCTAssertEqual(rates(lines).count, 4)
        XCTAssertEqual(rates(lines).first, 0.004, "iteration 1 trains at the new base (the poly factor is 1 there)")

        // The run's own config.toml reproduces its rates.
        let replayRuns = work.appendingPathComponent("replay")
        let replay = try CLI.run(["train", "--config", configURL.path, "--runs-dir", replayRuns.path])
        XCTAssertEqual(replay.status, 0, replay.stderr)
        XCTAssertTrue(replay.stderr.contains("(replayed from lr_changes)"), replay.stderr)
        let replayDir = try XCTUnwrap(try FileManager.default.contentsOfDirectory(at: replayRuns, includingPropertiesForKeys: nil).first)
        XCTAssertEqual(rates(try logged(replayDir)), rates(lines))
    }

    func testViewersAttachSteerAndOutliveNothing() throws {
        let demo = work.appendingPathComponent("demo")
        XCTAssertEqual(try CLI.run(["data", "demo", "--out", demo.path, "--train", "6", "--val", "2"]).status, 0)
        let runs = work.appendingPathComponent("runs")
        let (train, run) = try startPausedRun(demo, runs: runs, name: "train")
        // The socket exists a moment before train prints how to attach to it.
        try waitFor("train's attach line") { train.stderr.contains("attach: segscope attach") || !train.process.isRunning }
        XCTAssertTrue(train.stderr.contains("attach: segscope attach"), train.stderr)

        // Two viewers; one is killed -9 while the run is paused.
        let a = try Background(["attach", run.path, "--events"], in: work, name: "a")
        let b = try Background(["attach", run.path, "--events"], in: work, name: "b")
        try waitFor("both snapshots") { a.stdout.contains("\"snapshot\"") && b.stdout.contains("\"snapshot\"") }
        a.kill9()
        let live = try CLI.run(["runs", "--runs-dir", runs.path, "--json"])
        XCTAssertEqual(live.status, 0, live.stderr)
        XCTAssertTrue(live.stdout.contains("\"state\":\"live, paused\""), live.stdout)
        XCTAssertTrue(live.stdout.contains("\"dataset\":\"demo\"") && live.stdout.contains("\"model\":\"xunet\""), live.stdout)

        // A read-only viewer cannot steer; one with --control can.
        let refused = try CLI.run(["attach", run.path, "--send", "resume"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("--control"), refused.stderr)
        let bad = try CLI.run(["attach", run.path, "--control", "--send", "lr=-1"])
        XCTAssertNotEqual(bad.status, 0)
        let resumed = try CLI.run(["attach", run.path, "--control", "--send", "resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("resume: ok"), resumed.stderr)

        // The run finishes untouched by the killed viewer; the other saw every event once, in order.
        let status = try XCTUnwrap(train.exitStatus(), "train did not finish: \(train.stderr)")
        XCTAssertEqual(status, 0, train.stderr)
        XCTAssertTrue(train.stderr.contains("finished (completed) after 4 iterations"), train.stderr)
        XCTAssertEqual(b.exitStatus(within: 60), 0, b.stderr)
        let lines = messages(b.stdout)
        XCTAssertEqual(lines.first?["type"] as? String, "hello")
        XCTAssertEqual(lines.first?["protocol"] as? Int, 1)
        let snapshot = try XCTUnwrap(lines.first { $0["type"] as? String == "snapshot" })
        XCTAssertEqual(snapshot["state"] as? String, "paused")
        XCTAssertEqual((snapshot["config"] as? [String: Any])?["iterations"] as? Int, 4)
        let seqs = lines.filter { $0["type"] as? String == "event" }.compactMap { $0["seq"] as? Int }
        let first = try XCTUnwrap(snapshot["seq"] as? Int) + 1
        XCTAssertEqual(seqs, Array(first..<(first + seqs.count)), "no gap, no repeat")
        let kinds = lines.compactMap { ($0["event"] as? [String: Any])?["type"] as? String }
        XCTAssertTrue(kinds.contains("evaluation") && kinds.contains("finished"), "\(kinds)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.appendingPathComponent("engine.sock").path),
                       "the socket goes with the run's process")
        XCTAssertTrue(b.stderr.contains("connection closed"), b.stderr)
        let past = try CLI.run(["runs", "--runs-dir", runs.path])
        XCTAssertTrue(past.stdout.contains("complete") && past.stdout.contains("4/4 (100%)") && past.stdout.contains("xunet"), past.stdout)

        // The engine killed -9: the viewer says so; the run is no longer live.
        let (train2, run2) = try startPausedRun(demo, runs: runs, name: "train2")
        let c = try Background(["attach", run2.path, "--events"], in: work, name: "c")
        try waitFor("c's snapshot") { c.stdout.contains("\"snapshot\"") }
        train2.kill9()
        XCTAssertEqual(c.exitStatus(within: 60), 0, c.stderr)
        XCTAssertTrue(c.stderr.contains("its process ended or was killed"), c.stderr)
        let again = try CLI.run(["attach", run2.path, "--events"])
        XCTAssertNotEqual(again.status, 0, "a dead run's stale socket does not answer")
    }
}
