import Foundation
import TestSupport
import XCTest

/// Issue #17 end to end in tmux: the front's `t` starts the run as a process of its own; a
/// hang-up of the front detaches (the run goes on); a second front finds it live in the runs
/// browser and attaches with Enter; its quit question detaches; `segscope attach --control`
/// then stops it with a checkpoint. Every wait is for a condition on the screen or on disk.
final class DetachedRunTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        try XCTSkipUnless(TmuxSession.isAvailable, "tmux is not installed (scripts/install-deps.sh installs it)")
        root = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-detached-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        guard let root else { return }
        // A failed test must not leave a 100000-iteration run training.
        TuiTests.killEngines(under: root)
        try? FileManager.default.removeItem(at: root)
    }

    private func shell(_ args: String, columns: Int = 160, rows: Int = 40) throws -> TmuxSession {
        let command = "cd '\(root.path)' && env -u NO_COLOR -u COLORTERM TERM=xterm-256color LANG=C.UTF-8 LC_ALL= "
            + "'\(CLI.executable.path)' \(args); echo \"segscope exited $?\"; sleep 60"
        return try TmuxSession(command: command, columns: columns, rows: rows)
    }

    /// Waits for `condition` on the screen (a limit that only bounds a failure) and asserts it.
    @discardableResult
    private func expect(_ session: TmuxSession, _ what: String, timeout: TimeInterval = 120, file: StaticString = #filePath,
                        line: UInt = #line, _ condition: @escaping (String) -> Bool) throws -> String {
        let screen = try session.waitFor(timeout: timeout, condition)
        XCTAssertTrue(condition(screen), "no \(what) on the screen:\n\(screen)", file: file, line: line)
        if !condition(screen) { throw XCTSkip("stopping after the failure above") }
        return screen
    }

    /// The `segscope runs --json` line of the only run.
    private func runState() throws -> String {
        let runs = try CLI.run(["runs", "--runs-dir", root.appendingPathComponent("runs").path, "--json"])
        let object = runs.stdout.split(separator: "\n").first.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        return object?["state"] as? String ?? "none: \(runs.stdout)\(runs.stderr)"
    }

    private func waitForState(_ condition: (String) -> Bool, _ what: String) throws -> String {
        let limit = Date().addingTimeInterval(120)
        var state = try runState()
        while !condition(state) && Date() < limit {
            usleep(100_000)
            state = try runState()
        }
        XCTAssertTrue(condition(state), "the run is not \(what): \(state)")
        return state
    }

    func testARunStartedInTheFrontOutlivesItAndIsAttachedAndStoppedFromElsewhere() throws {
        let demo = root.appendingPathComponent("demo")
        XCTAssertEqual(try CLI.run(["data", "demo", "--out", demo.path, "--train", "8", "--val", "3"]).status, 0)

        // 1. The front starts the run (its own process) from the launcher.
        let first = try shell("tui --data '\(demo.path)'")
        try expect(first, "the browser") { $0.contains("▸train_0000") }
        try first.sendKeys("t")
        try expect(first, "the launcher") { $0.contains("new training run") }
        func field(downs: Int, _ value: String) throws {
            for _ in 0..<downs { try first.sendKeys("Down") }
            try first.sendKeys("C-u")
            try first.sendKeys("-l", value)
        }
        try field(downs: 5, "64")        // crop
        try field(downs: 1, "2")         // batch
        try field(downs: 2, "100000")    // iterations
        try field(downs: 4, "1")         // threads
        try field(downs: 1, "50")        // eval_interval
        try expect(first, "a ready form") { $0.contains("ready: xunet") && $0.contains("100000 iterations") }
        try first.sendKeys("Enter")
        try expect(first, "a training step", timeout: 180) {
            $0.range(of: #"it [1-9][0-9]*/100000"#, options: .regularExpression) != nil || $0.contains("failed")
        }
        let runs = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("runs").path)
        let name = try XCTUnwrap(runs.first { !$0.hasPrefix(".") && !$0.hasSuffix(".log") }, "\(runs)")
        let run = root.appendingPathComponent("runs/\(name)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent("engine.log").path),
                      "train's stderr is kept in the run directory")

        // 2. A hang-up of the front detaches: it exits 129, the run trains on.
        let front = try XCTUnwrap(TuiTests.pid(of: "tui --data \(demo.path)"), "the front is not running")
        kill(front, SIGHUP)
        let hungUp = try expect(first, "the front's exit") { $0.contains("segscope exited") }
        XCTAssertTrue(hungUp.contains("segscope exited 129"), hungUp)
        XCTAssertTrue(hungUp.contains("detached; the run goes on (segscope attach \(run.path))"), hungUp)
        _ = try waitForState({ $0 == "live, running" }, "live and running")

        // 3. A second front: the runs browser lists the run as live; Enter attaches to it.
        let second = try shell("tui --data '\(demo.path)'")
        try expect(second, "the browser") { $0.contains("▸train_0000") }
        try second.sendKeys("r")
        // Liveness is the socket's hello, read with a time limit: a loaded machine may miss it
        // once, so the table is read again (g) until it shows the run live.
        let limit = Date().addingTimeInterval(120)
        var table = try second.capture()
        while !(table.contains(name) && table.contains(" live ")) && Date() < limit {
            table = try second.waitFor(timeout: 5) { $0.contains(name) && $0.contains(" live ") }
            if !table.contains(" live ") { try second.sendKeys("g") }
        }
        XCTAssertTrue(table.contains(name) && table.contains(" live "), "the run is not live in the runs table:\n\(table)")
        XCTAssertTrue(table.contains("Enter attaches"), table)
        try second.sendKeys("Enter")
        try expect(second, "the attached dashboard") { $0.contains("attached \(name)") && $0.contains("· running") }
        try second.sendKeys("q")
        let question = try expect(second, "the quit question") { $0.contains("detach (it keeps training)") }
        XCTAssertTrue(question.contains("s  stop it"), question)
        try second.sendKeys("d")
        let detached = try expect(second, "the second front's exit") { $0.contains("segscope exited") }
        XCTAssertTrue(detached.contains("segscope exited 0"), detached)
        _ = try waitForState({ $0 == "live, running" }, "live and running")

        // 4. `segscope attach --control` stops it; the run's process writes its checkpoint and ends.
        let third = try shell("attach '\(run.path)' --control")
        try expect(third, "the attached dashboard") { $0.contains("attached") && $0.contains("· running") }
        try third.sendKeys("q")
        try expect(third, "the quit question") { $0.contains("detach (it keeps training)") }
        try third.sendKeys("s")
        let stopped = try expect(third, "the attach front's exit", timeout: 180) { $0.contains("segscope exited") }
        XCTAssertTrue(stopped.contains("segscope exited 0"), stopped)
        XCTAssertEqual(try waitForState({ !$0.hasPrefix("live") }, "ended"), "ended early")
        let log = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        let lastStep = try XCTUnwrap(log.split(separator: "\n").last { $0.contains("\"type\":\"step\"") })
        let iteration = try XCTUnwrap(lastStep.range(of: #""iteration":\d+"#, options: .regularExpression).map { Int(lastStep[$0].dropFirst(12)) })
        let metadata = try TuiTests.safetensorsMetadata(run.appendingPathComponent("checkpoints/last.safetensors"))
        XCTAssertEqual(metadata["segscope.iteration"].flatMap { Int($0) }, iteration, "stopped with the checkpoint of its last iteration")
        XCTAssertTrue((try? String(contentsOf: run.appendingPathComponent("engine.log"), encoding: .utf8))?
            .contains("finished (stopped)") == true, "train's own log says how it ended")
    }
}
