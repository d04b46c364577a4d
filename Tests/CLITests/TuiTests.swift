import Foundation
import TestSupport
import XCTest

/// `segscope tui` in a real terminal (tmux): keys in, `capture-pane` out.
final class TuiTests: XCTestCase {
    private func start(_ args: String, columns: Int = 100, rows: Int = 30, term: String = "xterm-256color",
                       idleFile: URL? = nil) throws -> TmuxSession {
        try XCTSkipUnless(TmuxSession.isAvailable, "tmux is not installed (scripts/install-deps.sh installs it)")
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Fixtures.voc.path), "fixtures not found at \(Fixtures.voc.path)")
        let idle = idleFile.map { "SEGSCOPE_IDLE_FILE='\($0.path)' " } ?? ""
        // NO_COLOR / COLORTERM of the machine would change the depth (mono swatches differ per class).
        let command = "env -u NO_COLOR -u COLORTERM TERM=\(term) LANG=C.UTF-8 LC_ALL= \(idle)'\(CLI.executable.path)' \(args); echo \"segscope exited $?\"; sleep 60"
        return try TmuxSession(command: command, columns: columns, rows: rows)
    }

    /// Reads the idle file's frame number (0 when absent).
    private func idleFrame(_ url: URL) -> Int {
        Int((try? String(contentsOf: url, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
    }

    /// Sends keys, then waits until the app reports a newer idle frame (busy / idle, no sleeps).
    private func press(_ session: TmuxSession, _ keys: String..., idle: URL) throws -> String {
        let before = idleFrame(idle)
        for key in keys { try session.sendKeys(key) }
        let deadline = Date().addingTimeInterval(20)
        while idleFrame(idle) <= before && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        XCTAssertGreaterThan(idleFrame(idle), before, "no new idle frame after \(keys)")
        return try session.capture()
    }

    func testBrowsesVOCFixtures() throws {
        let idle = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-idle-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: idle) }
        let session = try start("tui --data '\(Fixtures.voc.path)' --split trainval", idleFile: idle)
        var screen = try session.waitFor { $0.contains("aeroplane") && $0.contains("person") && $0.contains("██ person") }
        // The sample list: all four trainval ids with sizes; the first selected.
        for id in ["2007_000032", "2007_000033", "2007_000039", "2007_000042"] {
            XCTAssertTrue(screen.contains(id), "sample list lacks \(id):\n\(screen)")
        }
        XCTAssertTrue(screen.contains("▸2007_000032 500×281"), screen)
        // The legend of 2007_000032 names its classes.
        XCTAssertTrue(screen.contains("██ aeroplane"), screen)
        XCTAssertTrue(screen.contains("██ person"), screen)
        XCTAssertTrue(screen.contains("██ void (ignored)"), screen)

        // Moving the selection: the marker moves and the preview and legend follow.
        screen = try press(session, "j", idle: idle)
        screen = try session.waitFor { $0.contains("▸2007_000033") && $0.contains("2007_000033 · image | mask") }
        XCTAssertTrue(screen.contains("▸2007_000033"), screen)
        XCTAssertFalse(screen.contains("▸2007_000032"), screen)
        screen = try press(session, "Down", "Down", idle: idle)
        screen = try session.waitFor { $0.contains("██ train") }
        XCTAssertTrue(screen.contains("▸2007_000042"), screen)
        XCTAssertTrue(screen.contains("██ train "), "2007_000042 holds a train:\n\(screen)")

        // The help overlay lists the key table; any key closes it.
        screen = try press(session, "?", idle: idle)
        XCTAssertTrue(screen.contains("Keys — dataset browser"), screen)
        XCTAssertTrue(screen.contains("Filter samples by id or class name"), screen)
        XCTAssertTrue(screen.contains("only in overlay mode"), screen)
        screen = try press(session, "Escape", idle: idle)
        XCTAssertFalse(screen.contains("Keys — dataset browser"), screen)

        // q quits and restores the terminal (the shell's echo shows on a normal screen).
        try session.sendKeys("q")
        screen = try session.waitFor { $0.contains("segscope exited") }
        XCTAssertTrue(screen.contains("segscope exited 0"), screen)
        XCTAssertFalse(screen.contains("Samples ·"), "the alternate screen was left:\n\(screen)")
    }

    /// Tags (D-241): x marks the selection and the file under --runs-dir keeps it across runs;
    /// X names a tag; /tagged filters; e exports the list as shown, the path in the footer; the
    /// CLI's `data export` reads the same tags.
    func testTagsPersistAndTheListExports() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-tui-tags-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let idle = root.appendingPathComponent("idle")
        let runs = root.appendingPathComponent("runs")
        let args = "tui --data '\(Fixtures.voc.path)' --split trainval --runs-dir '\(runs.path)'"
        var session = try start(args, columns: 120, rows: 30, idleFile: idle)
        var screen = try session.waitFor { $0.contains("▸2007_000032 500×281") }
        XCTAssertFalse(screen.contains("●"), screen)
        try session.sendKeys("x")
        screen = try session.waitFor { $0.contains("▸●2007_000032") && $0.contains("tagged 2007_000032 “marked”") }
        XCTAssertTrue(screen.contains("▸●2007_000032"), screen)
        try session.sendKeys("j")
        try session.sendKeys("j")
        try session.sendKeys("X")
        try session.sendKeys("-l", "suspect")
        screen = try session.waitFor { $0.contains("tag: suspect▏") }
        try session.sendKeys("Enter")
        screen = try session.waitFor { $0.contains("▸●2007_000039") && $0.contains("· ● suspect") }
        XCTAssertTrue(screen.contains(" ●2007_000032"), "the first keeps its mark:\n\(screen)")
        try session.sendKeys("/")
        try session.sendKeys("-l", "tagged")
        try session.sendKeys("Enter")
        screen = try session.waitFor { $0.contains("/tagged 2/4") }
        XCTAssertFalse(screen.contains("2007_000033"), screen)
        screen = try press(session, "e", idle: idle)
        screen = try session.waitFor { $0.contains("exported 2 samples") }
        let csv = runs.appendingPathComponent("exports/samples-trainval-1.csv")
        XCTAssertTrue(FileManager.default.fileExists(atPath: csv.path), screen)
        let lines = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 3, "\(lines)")
        XCTAssertTrue(lines[1].hasPrefix("2007_000032,500,281,aeroplane person,marked"), "\(lines)")
        XCTAssertTrue(lines[2].hasPrefix("2007_000039,500,375,tvmonitor,suspect"), "\(lines)")
        try session.sendKeys("q")
        screen = try session.waitFor { $0.contains("segscope exited") }
        XCTAssertTrue(screen.contains("segscope exited 0"), screen)

        // A new session on the same runs folder shows the marks again.
        session = try start(args, columns: 120, rows: 30, idleFile: idle)
        screen = try session.waitFor { $0.contains("▸●2007_000032") }
        XCTAssertTrue(screen.contains(" ●2007_000039"), screen)
        XCTAssertTrue(screen.contains("  2007_000033"), screen)
        try session.sendKeys("q")
        try session.waitFor { $0.contains("segscope exited") }

        let exported = try CLI.run(["data", "export", Fixtures.voc.path, "--split", "trainval", "--runs-dir", runs.path,
                                    "--query", "tag:suspect"])
        XCTAssertEqual(exported.status, 0, exported.stderr)
        XCTAssertEqual(exported.stdout.split(separator: "\n").map { String($0.prefix(11)) }, ["id,width,he", "2007_000039"])
    }

    func testSIGTERMRestoresTheTerminal() throws {
        let session = try start("tui --data '\(Fixtures.voc.path)'")
        try session.waitFor { $0.contains("Samples ·") }
        let pid = try XCTUnwrap(Self.pid(of: "segscope tui --data"), "segscope is not running")
        kill(pid, SIGTERM)
        let screen = try session.waitFor { $0.contains("segscope exited") }
        XCTAssertTrue(screen.contains("segscope exited 143"), screen)
        XCTAssertFalse(screen.contains("Samples ·"), screen)
    }

    func testTooSmallTerminalAndResize() throws {
        let session = try start("tui --data '\(Fixtures.voc.path)'", columns: 50, rows: 12)
        var screen = try session.waitFor { $0.contains("needs at least") }
        XCTAssertTrue(screen.contains("this terminal is 50×12"), screen)
        try session.resize(columns: 100, rows: 30)
        screen = try session.waitFor { $0.contains("Samples ·") }
        XCTAssertTrue(screen.contains("▸2007_000032"), screen)
        try session.sendKeys("q")
    }

    func testBadArgumentsFailBeforeTheScreenIsTaken() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Fixtures.voc.path), "fixtures not found at \(Fixtures.voc.path)")
        let bad = try CLI.run(["tui", "--data", "/nonexistent/dir"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("/nonexistent/dir"), bad.stderr)
        let color = try CLI.run(["tui", "--data", Fixtures.voc.path, "--color", "lots"])
        XCTAssertTrue(color.stderr.contains("expected one of auto"), color.stderr)
        let theme = try CLI.run(["tui", "--data", Fixtures.voc.path, "--theme", "nope"])
        XCTAssertTrue(theme.stderr.contains("no theme named nope"), theme.stderr)
        let tty = try CLI.run(["tui", "--data", Fixtures.voc.path])
        XCTAssertNotEqual(tty.status, 0)
        XCTAssertTrue(tty.stderr.contains("needs a terminal"), tty.stderr)
    }

    /// End to end: the launcher starts a real run on a tiny demo set; the first evaluation shows
    /// in the charts, the log and the compare view; p pauses and resumes; s stops the run with a
    /// checkpoint on disk; q then quits at once.
    /// A tiny demo set in a fresh directory and `segscope tui` on it in tmux, started in that
    /// directory (so runs go to its `runs/`), with the launcher filled for a tiny run (crop 64,
    /// batch 2, evaluation every 4 iterations, one thread, iterations far beyond what a test
    /// waits for) and started.
    private func startTinyRun() throws -> (session: TmuxSession, root: URL, idle: URL) {
        try XCTSkipUnless(TmuxSession.isAvailable, "tmux is not installed (scripts/install-deps.sh installs it)")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-tui-train-\(UUID().uuidString)")
        addTeardownBlock {
            // The run is a process of its own (D-261): a failed test must not leave it training.
            Self.killEngines(under: root)
            try? FileManager.default.removeItem(at: root)
        }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let demo = root.appendingPathComponent("demo")
        let made = try CLI.run(["data", "demo", "--out", demo.path, "--train", "8", "--val", "3"])
        XCTAssertEqual(made.status, 0, made.stderr)
        let idle = root.appendingPathComponent("idle")
        let command = "cd '\(root.path)' && env TERM=xterm-256color LANG=C.UTF-8 LC_ALL= SEGSCOPE_IDLE_FILE='\(idle.path)' "
            + "'\(CLI.executable.path)' tui --data '\(demo.path)'; echo \"segscope exited $?\"; sleep 60"
        let session = try TmuxSession(command: command, columns: 160, rows: 40)
        // The list is read in the background: wait for its first id, not just the frame.
        var screen = try session.waitFor { $0.contains("▸train_0000") }
        XCTAssertTrue(screen.contains("▸train_0000"), screen)

        // The launcher starts from this dataset.
        screen = try press(session, "t", idle: idle)
        XCTAssertTrue(screen.contains("new training run"), screen)
        XCTAssertTrue(screen.contains(demo.path), screen)
        func field(downs: Int, _ value: String) throws {
            for _ in 0..<downs { try session.sendKeys("Down") }
            try session.sendKeys("C-u")
            try session.sendKeys("-l", value)
        }
        try field(downs: 5, "64")        // crop
        try field(downs: 1, "2")         // batch
        try field(downs: 2, "100000")    // iterations (epochs becomes 0)
        try field(downs: 4, "1")         // threads
        try field(downs: 1, "4")         // eval_interval
        screen = try session.waitFor { $0.contains("ready: xunet") && $0.contains("100000 iterations") }
        XCTAssertTrue(screen.contains("crop 64x64, batch 2"), screen)
        try session.sendKeys("Enter")
        return (session, root, idle)
    }

    /// End to end: the launcher starts a real run on a tiny demo set; the first evaluation shows
    /// in the charts, the log and the compare view; p pauses and resumes; s stops the run with a
    /// checkpoint on disk; q then quits at once.
    func testTrainingFromTheLauncherEvaluatesPausesAndStopsWithACheckpoint() throws {
        let (session, root, _) = try startTinyRun()
        var screen: String

        // The first evaluation: the mIoU chart's title carries its figure, the log its line.
        screen = try session.waitFor(timeout: 180) { $0.contains("eval val: mIoU") || $0.contains("✗") }
        XCTAssertTrue(screen.contains("eval val: mIoU"), "no evaluation reached the screen:\n\(screen)")
        XCTAssertNotNil(screen.range(of: #"val mIoU · \d\.\d{3}"#, options: .regularExpression), screen)
        XCTAssertTrue(screen.contains("IoU per class · it "), screen)
        XCTAssertTrue(screen.contains("· running") || screen.contains("· paused"), screen)

        // Charts (issue #19): legends, the learning-rate chart, l for a log axis, w for the EMA.
        XCTAssertTrue(screen.contains("━lr") && screen.contains("━EMA 0.9 "), screen)
        try session.sendKeys("l")
        screen = try session.waitFor { $0.range(of: "━lr +log", options: .regularExpression) != nil }
        XCTAssertNotNil(screen.range(of: "━lr +log", options: .regularExpression), "no log axis after l:\n\(screen)")
        try session.sendKeys("w")
        screen = try session.waitFor { $0.contains("━EMA 0.95") }
        XCTAssertTrue(screen.contains("━EMA 0.95"), screen)

        // Compare: the gallery holds the three validation images, the engine predicts the first.
        try session.sendKeys("Tab")
        screen = try session.waitFor(timeout: 60) { $0.contains("predicted at it") }
        for id in ["val_0000", "val_0001", "val_0002"] { XCTAssertTrue(screen.contains(id), "gallery lacks \(id):\n\(screen)") }
        XCTAssertTrue(screen.contains("predicted at it"), screen)
        XCTAssertTrue(screen.contains("errors"), screen)

        // Pause, resume, stop.
        try session.sendKeys("Tab")
        try session.waitFor { $0.contains("IoU per class") }
        try session.sendKeys("p")
        screen = try session.waitFor(timeout: 60) { $0.contains("· paused") }
        XCTAssertTrue(screen.contains("· paused"), screen)
        try session.sendKeys("p")
        screen = try session.waitFor(timeout: 60) { $0.contains("· running") }
        XCTAssertTrue(screen.contains("· running"), screen)
        try session.sendKeys("s")
        // `finished` comes a moment before the engine's `state(idle)`: wait for both.
        screen = try session.waitFor(timeout: 120) { $0.contains("finished (stopped)") && $0.contains("· idle") }
        let stopped = try XCTUnwrap(screen.range(of: #"it (\d+) +· finished \(stopped\)"#, options: .regularExpression)
            .map { String(screen[$0]) }, "no finished line:\n\(screen)")
        let iteration = Int(stopped.split(separator: " ")[1])
        XCTAssertTrue(screen.contains("· idle"), screen)

        // The checkpoint on disk is the one of the iteration the run stopped at.
        let runs = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("runs").path)
        XCTAssertEqual(runs.count, 1, "\(runs)")
        let last = root.appendingPathComponent("runs/\(runs.first ?? "")/checkpoints/last.safetensors")
        let metadata = try Self.safetensorsMetadata(last)
        XCTAssertEqual(metadata["segscope.iteration"].flatMap { Int($0) }, iteration, "\(metadata)")

        // The runs table (issue #19): the stopped run with its dataset, status and duration.
        try session.sendKeys("r")
        // Wait for the run's own row: the table is read in the background ("reading…"), and the
        // log below it already says "finished (stopped)" (seen failing on a clean clone).
        let runName = runs.first ?? "?"
        screen = try session.waitFor { screen in
            screen.contains("past runs in")
                && screen.split(separator: "\n").contains { $0.contains(runName) && $0.contains("stopped") && !$0.contains("finished") }
        }
        let row = screen.split(separator: "\n").first { $0.contains(runName) && $0.contains("stopped") }.map(String.init) ?? ""
        XCTAssertFalse(row.isEmpty, "runs table:\n\(screen)")
        XCTAssertNotNil(row.range(of: #"\d+s "#, options: .regularExpression), "no duration:\n\(screen)")
        XCTAssertTrue(screen.contains("dataset") && screen.contains("duration"), screen)
        try session.sendKeys("Escape")
        try session.waitFor { $0.contains("IoU per class") }

        // Per-sample metrics (issue #19, D-188): the browser's val split with the run's figures
        // from samples.json, every val image scored; s sorts worst IoU first.
        let folders = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("runs/\(runs.first ?? "")/predictions").path)
        XCTAssertTrue(folders.contains { folder in
            FileManager.default.fileExists(atPath: root.appendingPathComponent("runs/\(runs.first ?? "")/predictions/\(folder)/samples.json").path)
        }, "no samples.json in \(folders)")
        try session.sendKeys("b")
        try session.waitFor { $0.contains("▸train_0000") }
        try session.sendKeys("Tab")
        try session.waitFor { $0.contains("▸val_0000") }
        try session.sendKeys("v")
        screen = try session.waitFor { $0.contains("IoU   acc    LQ") }
        XCTAssertTrue(screen.contains("IoU   acc    LQ"), "no metrics columns:\n\(screen)")
        let scored = screen.split(separator: "\n").filter { $0.range(of: #"val_000\d +\d\.\d\d +\d\.\d\d +\d\.\d\d"#, options: .regularExpression) != nil }
        XCTAssertEqual(scored.count, 3, "every val image has IoU, accuracy and label quality:\n\(screen)")
        try session.sendKeys("s")
        screen = try session.waitFor { $0.contains("worst IoU first") }
        XCTAssertTrue(screen.contains("worst IoU first"), screen)

        // No run in progress: q quits at once.
        try session.sendKeys("q")
        screen = try session.waitFor { $0.contains("segscope exited") }
        XCTAssertTrue(screen.contains("segscope exited 0"), screen)
    }

    /// SIGTERM while a run trains: the terminal is restored, the run is stopped with its last
    /// checkpoint at the iteration it reached (the last step in metrics.jsonl), exit status 143.
    func testSIGTERMDuringARunStopsItWithACheckpoint() throws {
        let (session, root, _) = try startTinyRun()
        // Any iteration done (steps coalesce, so the screen may skip a given number).
        var screen = try session.waitFor(timeout: 180) {
            $0.range(of: #"it [1-9][0-9]*/100000"#, options: .regularExpression) != nil || $0.contains("✗")
        }
        XCTAssertTrue(screen.contains("· running"), screen)
        let pid = try XCTUnwrap(Self.pid(of: "segscope tui --data"), "segscope is not running")
        kill(pid, SIGTERM)
        screen = try session.waitFor(timeout: 120) { $0.contains("segscope exited") }
        XCTAssertTrue(screen.contains("segscope exited 143"), screen)
        XCTAssertTrue(screen.contains("stopping the training run"), screen)
        XCTAssertFalse(screen.contains("IoU per class"), "the alternate screen was left:\n\(screen)")
        let runs = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("runs").path)
        let run = root.appendingPathComponent("runs/\(try XCTUnwrap(runs.first))")
        let metadata = try Self.safetensorsMetadata(run.appendingPathComponent("checkpoints/last.safetensors"))
        let log = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        let lastStep = log.split(separator: "\n").last { $0.contains("\"type\":\"step\"") }
        let iteration = try XCTUnwrap(lastStep?.range(of: #""iteration":\d+"#, options: .regularExpression)
            .map { Int(lastStep![$0].dropFirst(12)) }, "no step in \(log)")
        XCTAssertEqual(metadata["segscope.iteration"].flatMap { Int($0) }, iteration, "\(metadata)")
    }

    /// `bench tui --latency` on a tiny run: every injected key is measured and the figures and
    /// the target are printed (no threshold here: speed belongs to the benchmark's output).
    func testLatencyBenchMeasuresEveryKey() throws {
        let result = try CLI.run(["bench", "tui", "--latency", "--keys", "6", "--interval-ms", "20", "--crop", "32", "--batch", "2",
                                  "--threads", "1", "--columns", "100", "--rows", "30", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
        XCTAssertEqual(object["keys"] as? Int, 6, result.stdout)
        for key in ["p50_ms", "p95_ms", "max_ms", "target_p95_ms"] {
            XCTAssertNotNil(object[key] as? Double, "\(key) missing: \(result.stdout)")
        }
        XCTAssertGreaterThan(object["training_iterations"] as? Int ?? 0, 0, "no training ran meanwhile: \(result.stdout)")
    }

    /// `bench tui --latency --attach`: the same measurement with the run in a process of its own,
    /// its events over the socket (D-261); the run's process is stopped before the bench exits.
    func testLatencyBenchOverTheSocketMeasuresEveryKey() throws {
        let result = try CLI.run(["bench", "tui", "--latency", "--attach", "--keys", "6", "--interval-ms", "20", "--crop", "32",
                                  "--batch", "2", "--threads", "1", "--columns", "100", "--rows", "30", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
        XCTAssertEqual(object["keys"] as? Int, 6, result.stdout)
        XCTAssertEqual(object["engine"] as? String, "own process, over its socket", result.stdout)
        for key in ["p50_ms", "p95_ms", "max_ms", "target_p95_ms"] {
            XCTAssertNotNil(object[key] as? Double, "\(key) missing: \(result.stdout)")
        }
        XCTAssertGreaterThan(object["training_iterations"] as? Int ?? 0, 0, "no training ran meanwhile: \(result.stdout)")
        XCTAssertNil(Self.pid(of: "train --config \(FileManager.default.temporaryDirectory.path)/segscope-latency-"),
                     "the bench's run was stopped")
    }

    /// The `__metadata__` of a safetensors file (8-byte little-endian header length, JSON header).
    static func safetensorsMetadata(_ url: URL) throws -> [String: String] {
        let data = try Data(contentsOf: url)
        guard data.count >= 8 else { throw NSError(domain: "safetensors", code: 1) }
        let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        guard length > 0, 8 + length <= data.count else { throw NSError(domain: "safetensors", code: 2) }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any]
        return header?["__metadata__"] as? [String: String] ?? [:]
    }

    /// Kills (-9) every `segscope train` the front started for runs under `root`.
    static func killEngines(under root: URL) {
        while let pid = pid(of: "train --config \(root.path)") {
            kill(pid, SIGKILL)
            // Reaped by init once its parent (the front) is gone; wait until it is no longer listed.
            let limit = Date().addingTimeInterval(10)
            while Date() < limit, kill(pid, 0) == 0, !isZombie(pid) { usleep(10_000) }
            if Date() >= limit { return }
        }
    }

    private static func isZombie(_ pid: pid_t) -> Bool {
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return stat.range(of: ") Z ") != nil || stat.isEmpty
    }

    /// The pid of the newest process whose command line contains `pattern`.
    static func pid(of pattern: String) -> pid_t? {
        let procs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        // Only this checkout's binary: other checkouts on the machine run the same tests at once.
        let executable = CLI.executable.resolvingSymlinksInPath().path
        var found: pid_t?
        for entry in procs {
            guard let pid = pid_t(entry),
                  (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(entry)/exe")) == executable,
                  let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let cmd = String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            if cmd.contains(pattern) && !cmd.contains("tmux") && !cmd.hasPrefix("env ") && !cmd.hasPrefix("sh ") {
                found = max(found ?? 0, pid)
            }
        }
        return found
    }
}
