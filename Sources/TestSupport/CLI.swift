import Foundation

/// Runs the built `segscope` executable in tests.
public enum CLI {
    /// The `segscope` binary next to the test bundle (same build configuration).
    public static var executable: URL {
        #if os(macOS)
        let products = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }!.bundleURL.deletingLastPathComponent()
        #else
        let products = Bundle.main.bundleURL
        #endif
        return products.appendingPathComponent("segscope")
    }

    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// Runs `segscope args…` with stdout and stderr piped (so stdout is not a terminal).
    public static func run(_ args: [String], environment: [String: String]? = nil,
                           currentDirectory: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = args
        if let environment { process.environment = environment }
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes concurrently so a chatty child never blocks on a full pipe.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// Drives a real terminal: a detached tmux session for end-to-end tests.
public final class TmuxSession {
    public let name: String

    public static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux")
    }

    /// Starts `command` (a shell command line) in a new detached session of the given size.
    public init(command: String, columns: Int = 100, rows: Int = 30, environment: [String: String] = [:]) throws {
        name = "segscope-test-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        var args = ["new-session", "-d", "-s", name, "-x", "\(columns)", "-y", "\(rows)"]
        for (k, v) in environment.sorted(by: { $0.key < $1.key }) { args += ["-e", "\(k)=\(v)"] }
        args.append(command)
        // A new session can fail while the server of a session just killed is still exiting
        // (the server ends with its last session); a second attempt starts a fresh server.
        var attempt = 0
        while true {
            do {
                try TmuxSession.tmux(args)
                return
            } catch {
                attempt += 1
                if attempt >= 3 { throw error }
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
    }

    deinit { _ = try? TmuxSession.tmux(["kill-session", "-t", name]) }

    public func sendKeys(_ keys: String...) throws { try TmuxSession.tmux(["send-keys", "-t", name] + keys) }

    /// Resizes the session's window (the program inside gets SIGWINCH).
    public func resize(columns: Int, rows: Int) throws {
        try TmuxSession.tmux(["resize-window", "-t", name, "-x", "\(columns)", "-y", "\(rows)"])
    }

    /// The visible pane as text, one line per row.
    public func capture() throws -> String { try TmuxSession.tmux(["capture-pane", "-p", "-t", name]) }

    /// The visible pane with its colours and attributes as SGR sequences (`capture-pane -e`).
    public func captureWithEscapes() throws -> String { try TmuxSession.tmux(["capture-pane", "-e", "-p", "-t", name]) }
    /// The pane with its scrollback (what scrolled off the top, then the visible screen).
    public func captureHistory() throws -> String { try TmuxSession.tmux(["capture-pane", "-p", "-S", "-", "-t", name]) }

    /// Polls the pane until `predicate` holds or `timeout` seconds pass; returns the last capture.
    @discardableResult
    public func waitFor(timeout: TimeInterval = 20, _ predicate: (String) -> Bool) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        var screen = try capture()
        while !predicate(screen) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
            screen = try capture()
        }
        return screen
    }

    /// Runs tmux with posix_spawn + waitpid. (Foundation's `Process.waitUntilExit` on Linux
    /// also waits for the daemonised tmux server that `new-session -d` forks, i.e. until the
    /// session's command ends.)
    @discardableResult
    static func tmux(_ args: [String]) throws -> String {
        let outFile = FileManager.default.temporaryDirectory
            .appendingPathComponent("tmux-out-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: outFile) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outFile.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = (["tmux"] + args).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, "/usr/bin/tmux", &actions, nil, argv, environ)
        guard rc == 0 else {
            throw NSError(domain: "tmux", code: Int(rc), userInfo: [NSLocalizedDescriptionKey: "cannot start tmux"])
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else {
            throw NSError(domain: "tmux", code: Int(status),
                          userInfo: [NSLocalizedDescriptionKey: "tmux \(args.joined(separator: " ")) failed"])
        }
        return (try? String(contentsOf: outFile, encoding: .utf8)) ?? ""
    }
}
