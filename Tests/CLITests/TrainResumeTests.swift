import Foundation
import TestSupport
import XCTest

/// `segscope train` interrupted by SIGINT and continued with `--resume` gives the same step
/// losses as an uninterrupted run (one thread, so every sum is done in the same order).
final class TrainResumeTests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws {
        work = try makeTemporaryDirectory("resume")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    private let iterations = 40

    private func trainArguments(demo: URL, runs: URL) -> [String] {
        ["train", "--data", demo.path, "--model", "xunet", "--iterations", "\(iterations)", "--batch", "2",
         "--crop", "64", "--threads", "1", "--runs-dir", runs.path, "--set", "eval_interval=15",
         "--set", "eval_mode=whole", "--events", "jsonl"]
    }

    /// Step losses by iteration from a run's metrics.jsonl (every step is logged there; the
    /// stdout stream may coalesce steps).
    private func stepLosses(_ run: URL) throws -> [Int: Double] {
        let text = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        var losses: [Int: Double] = [:]
        for line in text.split(separator: "\n") {
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
            guard object["type"] as? String == "step" else { continue }
            let iteration = try XCTUnwrap(object["iteration"] as? Int)
            XCTAssertNil(losses[iteration], "iteration \(iteration) logged twice in \(run.path)/metrics.jsonl")
            losses[iteration] = try XCTUnwrap(object["loss"] as? Double)
        }
        return losses
    }

    private func runDirectories(_ runs: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: runs, includingPropertiesForKeys: nil).sorted { $0.path < $1.path }
    }

    func testSIGINTThenResumeReproducesAnUninterruptedRun() throws {
        let demo = work.appendingPathComponent("demo")
        let made = try CLI.run(["data", "demo", "--out", demo.path, "--train", "8", "--val", "4"])
        XCTAssertEqual(made.status, 0, made.stderr)

        // 1. Interrupted: SIGINT once a few steps have been reported.
        let runsA = work.appendingPathComponent("runs-a")
        let interrupted = try RunningCLI(trainArguments(demo: demo, runs: runsA))
        let sawSteps = interrupted.waitForLine(timeout: 120) { $0.contains("\"type\":\"step\"") && Self.iteration(in: $0).map { $0 >= 8 } == true }
        XCTAssertTrue(sawSteps, "no step 8 reported; stderr:\n\(interrupted.stderrText)")
        interrupted.interrupt()
        let first = interrupted.wait()
        XCTAssertEqual(first.status, 130, "stderr:\n\(first.stderr)")
        let runA = try XCTUnwrap(try runDirectories(runsA).first)
        let resumeFile = runA.appendingPathComponent("checkpoints/last.resume.safetensors")
        XCTAssertTrue(FileManager.default.fileExists(atPath: resumeFile.path), "no \(resumeFile.path); stderr:\n\(first.stderr)")
        let before = try stepLosses(runA)
        let stoppedAt = try XCTUnwrap(before.keys.max())
        XCTAssertLessThan(stoppedAt, iterations, "the run ended before the signal arrived; stderr:\n\(first.stderr)")

        // 2. Resumed from the resume file: the run's own config.toml is the base.
        let resumed = try CLI.run(["train", "--resume", resumeFile.path, "--events", "jsonl"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stdout.contains("\"resumed_from_iteration\":\(stoppedAt)"), resumed.stdout.prefix(2000) + "")
        XCTAssertEqual(try runDirectories(runsA).count, 1, "resume must continue the same run directory")
        let combined = try stepLosses(runA)

        // 3. Uninterrupted.
        let runsB = work.appendingPathComponent("runs-b")
        let whole = try CLI.run(trainArguments(demo: demo, runs: runsB))
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let runB = try XCTUnwrap(try runDirectories(runsB).first)
        let reference = try stepLosses(runB)

        // Sample predictions of every evaluation (15, 30, 40): the 4 val images of the demo set.
        let index = try XCTUnwrap(try JSONSerialization.jsonObject(
            with: Data(contentsOf: runB.appendingPathComponent("predictions/index.json"))) as? [String: Any])
        let evaluations = try XCTUnwrap(index["evaluations"] as? [[String: Any]])
        XCTAssertEqual(evaluations.compactMap { $0["iteration"] as? Int }, [15, 30, 40])
        XCTAssertEqual((index["samples"] as? [String])?.count, 4)
        for evaluation in evaluations {
            let folder = runB.appendingPathComponent("predictions").appendingPathComponent(try XCTUnwrap(evaluation["directory"] as? String))
            let set = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("index.json"))) as? [String: Any])
            for entry in try XCTUnwrap(set["samples"] as? [[String: Any]]) {
                for key in ["mask", "overlay"] {
                    let file = try XCTUnwrap(entry[key] as? String)
                    XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(file).path), "\(folder.path)/\(file)")
                }
            }
        }

        XCTAssertEqual(Set(reference.keys), Set(1...iterations))
        XCTAssertEqual(Set(combined.keys), Set(1...iterations), "interrupted at \(stoppedAt)")
        var mismatches: [String] = []
        for i in 1...iterations {
            guard let a = combined[i], let b = reference[i] else { continue }
            if abs(a - b) > 1e-5 { mismatches.append("it \(i): resumed \(a) vs uninterrupted \(b)") }
        }
        XCTAssertTrue(mismatches.isEmpty, "interrupted after iteration \(stoppedAt); \(mismatches.count) differing losses:\n"
                      + mismatches.prefix(10).joined(separator: "\n"))

        // The evaluations after the resume are the uninterrupted run's too.
        func lastMIoU(_ run: URL) throws -> Double? {
            let text = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            let evaluations = text.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }.filter { $0["type"] as? String == "evaluation" }
            return (evaluations.last?["metrics"] as? [String: Any])?["mIoU"] as? Double
        }
        let mA = try XCTUnwrap(try lastMIoU(runA)), mB = try XCTUnwrap(try lastMIoU(runB))
        XCTAssertEqual(mA, mB, accuracy: 1e-6)
    }

    private static func iteration(in line: String) -> Int? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        return object["iteration"] as? Int
    }
}

/// A `segscope` process whose stdout is read line by line while it runs.
final class RunningCLI: @unchecked Sendable {
    private let process = Process()
    private let lock = NSCondition()
    private var lines: [String] = []
    private var partial = Data()
    private var stdoutClosed = false
    private var errData = Data()
    private let readers = DispatchGroup()

    init(_ args: [String]) throws {
        process.executableURL = CLI.executable
        process.arguments = args
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        readers.enter()
        DispatchQueue.global().async { [self] in
            let handle = out.fileHandleForReading
            while true {
                let chunk = handle.availableData
                lock.lock()
                if chunk.isEmpty {
                    stdoutClosed = true
                    lock.broadcast()
                    lock.unlock()
                    break
                }
                partial.append(chunk)
                while let newline = partial.firstIndex(of: 0x0A) {
                    lines.append(String(decoding: partial[partial.startIndex..<newline], as: UTF8.self))
                    partial.removeSubrange(partial.startIndex...newline)
                }
                lock.broadcast()
                lock.unlock()
            }
            readers.leave()
        }
        readers.enter()
        DispatchQueue.global().async { [self] in
            let data = err.fileHandleForReading.readDataToEndOfFile()
            lock.withLock { errData = data }
            readers.leave()
        }
    }

    /// Waits until a stdout line satisfies `predicate`; false on timeout or when stdout closed.
    func waitForLine(timeout: TimeInterval, _ predicate: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        var checked = 0
        while true {
            while checked < lines.count {
                if predicate(lines[checked]) { return true }
                checked += 1
            }
            if stdoutClosed || !lock.wait(until: deadline) { return false }
        }
    }

    var stderrText: String { lock.withLock { String(decoding: errData, as: UTF8.self) } }

    /// Sends SIGINT.
    func interrupt() { process.interrupt() }

    /// Sends any signal (SIGHUP: the ssh connection dropped).
    func send(signal: Int32) { kill(process.processIdentifier, signal) }

    func wait() -> (status: Int32, stdout: String, stderr: String) {
        readers.wait()
        process.waitUntilExit()
        return lock.withLock {
            (process.terminationStatus, lines.joined(separator: "\n"), String(decoding: errData, as: UTF8.self))
        }
    }
}
