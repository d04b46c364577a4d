import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A `segscope train` the front started (D-261): a session of its own, so a hang-up of the
/// front's terminal (a dropped ssh connection) does not reach it; stdin and stdout are
/// /dev/null and stderr goes to `log`, so nothing it writes depends on the front being there.
/// A thread waits for its exit (the status is kept; the zombie is reaped).
final class EngineProcess: @unchecked Sendable {
    let pid: pid_t
    private let lock = NSLock()
    private var _log: URL
    private var _status: Int32?
    private let exited = DispatchSemaphore(value: 0)

    init(executable: String, arguments: [String], log: URL) throws {
        _log = log
        let logFD = open(log.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard logFD >= 0 else { throw EngineProcessError("cannot create the engine's log \(log.path): \(String(cString: strerror(errno)))") }
        defer { close(logFD) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, logFD, 2)
        // Nothing else of the front's (its terminal above all: an ssh session would wait for it).
        if !Self.addCloseFrom(&actions, 3) { Self.markEveryDescriptorCloseOnExec() }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        // POSIX_SPAWN_SETSID (glibc ≥ 2.26; not visible to Swift), SETSIGMASK, SETSIGDEF.
        posix_spawnattr_setflags(&attributes, Int16(0x80 | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw EngineProcessError("cannot start \(executable): \(String(cString: strerror(rc)))") }
        self.pid = pid
        let child = pid
        let waiter = Thread { [self] in
            var status: Int32 = 0
            while waitpid(child, &status, 0) < 0 && errno == EINTR {}
            lock.withLock { _status = status }
            exited.signal()
        }
        waiter.name = "segscope.engine.wait"
        waiter.start()
    }

    /// The file its stderr goes to (moved into the run directory once the run has one).
    var log: URL { lock.withLock { _log } }

    /// The raw `waitpid` status once it has ended.
    var status: Int32? { lock.withLock { _status } }

    /// Waits up to `timeout` seconds for the exit; the status, or nil while it still runs.
    func waitForExit(timeout: TimeInterval) -> Int32? {
        if exited.wait(timeout: .now() + timeout) == .success { exited.signal() }
        return status
    }

    /// Moves the log (same file system: the descriptor the process writes follows it).
    func moveLog(to url: URL) {
        lock.withLock {
            if rename(_log.path, url.path) == 0 { _log = url }
        }
    }

    /// "exited with status 64", "was killed by signal 4 (a trap)".
    static func describe(_ status: Int32) -> String {
        let signal = status & 0x7f
        if signal == 0 { return "exited with status \((status >> 8) & 0xff)" }
        let name: String
        switch signal {
        case SIGILL, SIGTRAP: name = " (a trap: a Swift runtime error)"
        case SIGKILL: name = " (SIGKILL)"
        case SIGSEGV: name = " (SIGSEGV)"
        case SIGABRT: name = " (SIGABRT)"
        default: name = ""
        }
        return "was killed by signal \(signal)\(name)"
    }

    /// What the log says about the end: from the last line naming an error (a Swift "Fatal
    /// error", ArgumentParser's "Error:", train's "error:") on, else the last lines; at most
    /// `limit` non-empty lines.
    static func tail(of url: URL, limit: Int = 4) -> [String] {
        guard let data = FileManager.default.contents(atPath: url.path) else { return [] }
        let text = String(decoding: data.suffix(64 << 10), as: UTF8.self)
        // Progress bars end in \r; the last state of each line is what a terminal would show.
        let lines = text.split(whereSeparator: { $0 == "\n" }).map { line in
            String(line.split(separator: "\r").last ?? "").trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        if let at = lines.lastIndex(where: { $0.contains("Fatal error") }) {
            // A Swift trap: "<file>:<line>: Fatal error: <message>", then the crash report.
            let line = lines[at]
            let from = line.range(of: "Fatal error")?.lowerBound ?? line.startIndex
            return [String(line[from...])] + Array(lines[(at + 1)...].prefix(limit - 1))
        }
        if let at = lines.lastIndex(where: { $0.lowercased().contains("error") }) {
            return Array(lines[at...].prefix(limit))
        }
        return Array(lines.suffix(limit))
    }

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc ≥ 2.34), found at run time.
    private static func addCloseFrom(_ actions: inout posix_spawn_file_actions_t, _ fd: Int32) -> Bool {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return false }
        return unsafeBitCast(symbol, to: CloseFrom.self)(&actions, fd) == 0
    }

    /// Older C libraries: every descriptor above stderr closes on exec.
    private static func markEveryDescriptorCloseOnExec() {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            guard let fd = Int32(name), fd > 2 else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
    }
}

struct EngineProcessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
