import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An engine host that can turn to another live run (the runs browser's Enter on a live run).
public protocol LiveRunHost: EngineHost {
    /// Whether the runs it attaches to are steered (`control`), not only watched.
    var viewerControl: Bool { get }
    /// Watches and steers the run served on `socket` from now on; the run watched so far, if
    /// any, is detached from (it goes on). Returns the server's hello.
    func attach(socket: String) throws -> WireProtocol.Hello
}

/// The terminal front's engine when every run is a process of its own (issue #17, D-261):
/// `start` launches `segscope train --config FILE` on the launcher's configuration (its stderr in
/// a log file, `RunLayout.engineLogURL` once the run has a directory), and the front watches and
/// steers it over the run's socket (an `EngineClient` with control). `shutdown`, the front's
/// exit, only detaches: the run goes on, `segscope attach` finds it. A started run whose process
/// ends before it finished (a trap, a kill, a refused configuration) is reported as `failed` with
/// the end of its log, and the state goes idle.
public final class DetachedEngine: LiveRunHost, @unchecked Sendable {
    public let commands = CommandQueue()
    public let events = EventQueue()
    /// The program the runs are started with (`segscope` itself: `<executable> train --config F`).
    let executable: String
    /// Whether `attach` subscribes with control (the runs started here are always steered).
    public let viewerControl: Bool
    private let lock = NSLock()
    private var client: EngineClient?
    private var _runDirectory: String?
    private var _abandonedStart: URL?
    private var launched = false
    private let done = DispatchSemaphore(value: 0)
    /// Seconds a started process may take to serve its run (dataset scan, model build).
    var startTimeout: TimeInterval = 600

    public init(executable: String, viewerControl: Bool = true) {
        self.executable = executable
        self.viewerControl = viewerControl
    }

    /// The directory of the run watched now (once started or attached).
    public var runDirectory: String? { lock.withLock { _runDirectory } }
    /// The log of a run whose process was still starting when the front shut down (it goes on).
    public var abandonedStart: URL? { lock.withLock { _abandonedStart } }

    public func launch() {
        guard lock.withLock({ () -> Bool in
            defer { launched = true }
            return !launched
        }) else { return }
        let thread = Thread { [self] in
            loop()
            done.signal()
        }
        thread.name = "segscope.detached"
        thread.start()
    }

    public func join(timeout: TimeInterval?) -> Bool {
        if let timeout {
            guard done.wait(timeout: .now() + timeout) == .success else { return false }
        } else {
            done.wait()
        }
        done.signal()
        return true
    }

    /// Waits until the watched run's connection ends (its process finished); true at once when none.
    public func waitForRunEnd(timeout: TimeInterval) -> Bool {
        guard let client = lock.withLock({ client }) else { return true }
        return client.join(timeout: timeout)
    }

    public func attach(socket: String) throws -> WireProtocol.Hello {
        let client = try EngineClient(path: socket, control: viewerControl)
        let directory = client.hello?.runDirectory ?? (socket as NSString).deletingLastPathComponent
        let old = lock.withLock { () -> EngineClient? in
            defer {
                self.client = client
                _runDirectory = directory
            }
            return self.client
        }
        old?.detach()
        forward(client, child: nil)
        client.launch()
        return client.hello ?? WireProtocol.Hello(protocolVersion: WireProtocol.version, runID: "", runDirectory: directory, pid: 0, seq: 0)
    }

    // MARK: - Commands

    private func loop() {
        var queued: [EngineCommand] = []
        while true {
            let command: EngineCommand
            if !queued.isEmpty {
                command = queued.removeFirst()
            } else {
                guard let next = commands.wait() else { break }
                command = next
            }
            let current = lock.withLock { client }
            let live = current.map { $0.ended == nil } ?? false
            switch command {
            case .shutdown:
                current?.detach()
                _ = current?.join(timeout: 5)
                commands.close()
                events.close()
                return
            case .start(let config):
                if live {
                    warn("start ignored: the run \(runDirectory ?? "") is still live; stop it first")
                } else {
                    queued += start(config)
                }
            default:
                if let current, live {
                    if !current.commands.send(command) { warn("the engine's connection is not taking commands: \(command.name) not sent") }
                } else {
                    warn("\(command.name) ignored: no run is in progress")
                }
            }
        }
    }

    private func warn(_ text: String) { events.post(.warning(text)) }

    /// Launches a run and connects to it; returns the commands that came meanwhile (a `stop`
    /// or `shutdown` sent while the process was starting is handled once it serves the run).
    private func start(_ config: TrainingConfig) -> [EngineCommand] {
        var queued: [EngineCommand] = []
        let root = URL(fileURLWithPath: (config.runsDir as NSString).expandingTildeInPath).standardizedFileURL
        let stamp = RunLayout.name(model: config.model, date: Date())
        let configFile = root.appendingPathComponent(".segscope-train-\(stamp)-\(UUID().uuidString.prefix(8)).toml")
        let log = root.appendingPathComponent("segscope-train-\(stamp).log")
        var removeConfig = true
        defer { if removeConfig { unlink(configFile.path) } }
        let process: EngineProcess
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            try Data(config.tomlText(header: "The launcher's configuration, handed to segscope train (removed once it started).").utf8)
                .write(to: configFile, options: .atomic)
            process = try EngineProcess(executable: executable, arguments: ["train", "--config", configFile.path], log: log)
        } catch {
            events.post(.failed(Failure(message: "cannot start the run: \(error)")))
            return []
        }
        // The socket exists a moment before train prints how to attach: the line, not the file,
        // says the run is served. A process that ends first never served it.
        let deadline = Date().addingTimeInterval(startTimeout)
        var directory: String?
        while directory == nil {
            while let command = commands.poll() { queued.append(command) }
            if queued.contains(.shutdown) && process.status == nil {
                // The front is leaving: the run goes on without a viewer (its config file stays,
                // the process may not have read it yet).
                removeConfig = false
                lock.withLock { _abandonedStart = process.log }
                return queued
            }
            if let status = process.status {
                // It may have printed the line and ended (a trap at the first iteration).
                directory = Self.attachLine(in: process.log)
                if directory == nil {
                    report(process, status: status, what: "could not start the run")
                    return queued
                }
                break
            }
            directory = Self.attachLine(in: process.log)
            if directory == nil {
                if Date() > deadline {
                    events.post(.failed(Failure(message: "segscope train (pid \(process.pid)) did not serve its run within "
                                                + "\(Int(startTimeout)) s; it goes on (its log: \(process.log.path))")))
                    return queued
                }
                usleep(20_000)
            }
        }
        guard let directory else { return queued }
        let layout = RunLayout(URL(fileURLWithPath: directory))
        process.moveLog(to: layout.engineLogURL)
        let client: EngineClient
        do {
            client = try EngineClient(path: layout.socketURL.path, control: true)
        } catch {
            if let status = process.waitForExit(timeout: 30) {
                report(process, status: status, what: "ended before the run finished")
            } else {
                events.post(.failed(Failure(message: "cannot watch the run \(directory): \(error); it goes on in "
                                            + "segscope train (pid \(process.pid), log \(process.log.path))")))
            }
            return queued
        }
        lock.withLock {
            self.client = client
            _runDirectory = directory
        }
        forward(client, child: process)
        client.launch()
        return queued
    }

    /// Exit 0, or train's statuses after a signal it stopped on with a checkpoint (128 + HUP / INT / TERM).
    static func isOrderlyExit(_ status: Int32) -> Bool {
        guard status & 0x7f == 0 else { return false }
        return [0, 128 + SIGHUP, 128 + SIGINT, 128 + SIGTERM].contains((status >> 8) & 0xff)
    }

    /// `attach: segscope attach DIR` in train's log: the run's directory.
    static func attachLine(in log: URL) -> String? {
        guard let data = FileManager.default.contents(atPath: log.path) else { return nil }
        let marker = "attach: segscope attach "
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let range = line.range(of: marker) else { continue }
            let path = line[range.upperBound...].trimmingCharacters(in: .whitespaces)
            if !path.isEmpty { return path }
        }
        return nil
    }

    /// A process that ended without finishing its run: `failed` with its status and the end of its
    /// log, the log's lines as warnings, and the state idle (nothing serves the run any more).
    private func report(_ process: EngineProcess, status: Int32, what: String, iteration: Int? = nil) {
        let tail = EngineProcess.tail(of: process.log)
        // What it said first: the log pane cuts long lines at its width.
        let said = tail.first.map { "\($0) — " } ?? ""
        events.post(.failed(Failure(message: "\(said)segscope train (pid \(process.pid)) \(EngineProcess.describe(status)) and \(what) "
                                    + "(its log: \(process.log.path))", iteration: iteration)))
        for line in tail.dropFirst() { warn("log: \(line)") }
    }

    // MARK: - Events

    /// Forwards `client`'s events (every one: a snapshot's steps are the chart) until its
    /// connection ends; then, for a process of ours that ended before its run finished, says why.
    private func forward(_ client: EngineClient, child: EngineProcess?) {
        let thread = Thread { [self] in
            var finished = false
            var lastIteration: Int?
            func pass(_ event: EngineEvent) {
                switch event {
                case .finished: finished = true
                case .step(let s): lastIteration = s.iteration
                case .runStarted: finished = false
                default: break
                }
                // The connection's end after a finished run, or after we detached, is no news.
                if EngineClient.isClosingNotice(event) && (finished || client.wasDetached) { return }
                // Replaced by another run (attach): its events are not this front's any more.
                guard lock.withLock({ self.client === client }) else { return }
                events.post(event, coalesce: false)
            }
            while true {
                if let event = client.events.next(timeout: 0.25) {
                    pass(event)
                } else if client.join(timeout: 0) {
                    while let event = client.events.poll() { pass(event) }
                    break
                }
            }
            guard let child, !finished, !client.wasDetached, lock.withLock({ self.client === client }) else { return }
            // Exit 0 (or a signal's checkpointed stop: 129, 130, 143) is an orderly end whose last
            // events did not arrive; anything else is a failure to show.
            if let status = child.waitForExit(timeout: 30), !Self.isOrderlyExit(status) {
                report(child, status: status, what: "ended before the run finished", iteration: lastIteration)
            }
            events.post(.state(.idle))
        }
        thread.name = "segscope.detached.events"
        thread.start()
    }
}
