import Foundation
import TestSupport
import XCTest

/// Issue #16: on every exit path of the terminal front but kill -9 the terminal is given back —
/// normal screen, cursor, attributes and the tty modes of the shell (the test types a line that
/// only a cooked, echoing tty delivers to `read`) — including a Swift trap inside the engine
/// thread (`SEGSCOPE_FAULT=engine-trap`, testing only) and crash signals sent to the front.
final class TuiCrashRestoreTests: XCTestCase {
    private var root: URL!

    override func setUpWithError() throws {
        try XCTSkipUnless(TmuxSession.isAvailable, "tmux is not installed (scripts/install-deps.sh installs it)")
        root = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        guard let root else { return }
        TuiTests.killEngines(under: root)
        try? FileManager.default.removeItem(at: root)
    }

    /// `segscope tui` on a tiny demo set in tmux; after it exits the shell prints the status,
    /// then reads one line and echoes it. The Swift runtime's crash reporter runs after the
    /// terminal is restored (it prints the backtrace); `interactive=no` keeps it from waiting
    /// for a key, as it does on a terminal.
    private func start(environment: String = "") throws -> (TmuxSession, demo: URL) {
        let demo = root.appendingPathComponent("demo-\(UUID().uuidString)")
        let made = try CLI.run(["data", "demo", "--out", demo.path, "--train", "4", "--val", "2"])
        XCTAssertEqual(made.status, 0, made.stderr)
        let command = "cd '\(root.path)' && env -u NO_COLOR TERM=xterm-256color LANG=C.UTF-8 LC_ALL= SWIFT_BACKTRACE=interactive=no,threads=crashed,registers=none,images=none \(environment) "
            + "'\(CLI.executable.path)' tui --data '\(demo.path)'; echo \"segscope exited $?\"; read line; echo \"typed: $line\"; sleep 60"
        let session = try TmuxSession(command: command, columns: 140, rows: 60)
        let screen = try session.waitFor { $0.contains("▸train_0000") }
        XCTAssertTrue(screen.contains("▸train_0000"), screen)
        return (session, demo)
    }

    /// The pane after the front exited: the normal screen (none of the browser / launcher /
    /// dashboard), and a typed line reaches `read` (cooked mode, echo, CR → NL restored).
    private func assertRestored(_ session: TmuxSession, status: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        var screen = try session.waitFor(timeout: 120) { $0.contains("segscope exited") }
        XCTAssertTrue(screen.contains("segscope exited \(status)"), screen, file: file, line: line)
        for text in ["Samples ·", "new training run", "IoU per class"] {
            XCTAssertFalse(screen.contains(text), "the alternate screen was left (\(text)):\n\(screen)", file: file, line: line)
        }
        try session.sendKeys("-l", "hello tty")
        try session.sendKeys("Enter")
        screen = try session.waitFor { $0.contains("typed: hello tty") }
        XCTAssertTrue(screen.contains("typed: hello tty"), "the tty modes were not restored:\n\(screen)", file: file, line: line)
        return screen
    }

    /// The engine is a process of its own (D-261): its trap does not take the front down; the
    /// front says how it ended with the runtime's message from the engine's log, and quits cleanly.
    /// (The trap can come before or after the run is served: either way the message shows.)
    func testASwiftTrapInTheEngineShowsItsMessageInTheFront() throws {
        let (session, _) = try start(environment: "SEGSCOPE_FAULT=engine-trap")
        try session.sendKeys("t")
        var screen = try session.waitFor { $0.contains("ready: xunet") }
        XCTAssertTrue(screen.contains("new training run"), screen)
        try session.sendKeys("Enter")
        screen = try session.waitFor(timeout: 120) { $0.contains("failed: Fatal error: SEGSCOPE_FAULT=engine-trap") }
        XCTAssertTrue(screen.contains("failed: Fatal error: SEGSCOPE_FAULT=engine-trap: injected trap in the engine thread"), screen)
        XCTAssertTrue(screen.contains("· failed"), "nothing trains any more:\n\(screen)")
        try session.sendKeys("q")
        _ = try assertRestored(session, status: "0")
    }

    func testCrashAndHangUpSignalsToTheFrontRestoreTheTerminal() throws {
        for (signal, status) in [(SIGSEGV, "139"), (SIGHUP, "129")] {
            let (session, demo) = try start()
            let pid = try XCTUnwrap(TuiTests.pid(of: "tui --data \(demo.path)"), "segscope is not running")
            kill(pid, signal)
            _ = try assertRestored(session, status: status)
        }
    }
}
