import Foundation
import Queues
#if canImport(Glibc)
import Glibc
#endif

/// Serves a run to viewers over a Unix socket (`engine.sock` in its run directory, D-202).
///
/// The server sits between the engine's event queue and the process's own consumer (the
/// headless progress printer, or a front in the same process): `relay(from:)` takes every event,
/// numbers it (`seq` 1, 2, …), keeps it, sends it to every subscribed viewer and hands it on to
/// the queue it returns. A viewer gets `hello`, then on `subscribe` a `snapshot` (config, the
/// events so far, state) or, with `since`, exactly the events after that number, then every new
/// event: numbering, keeping and sending happen under one lock, so nothing is missed or sent
/// twice. Commands from viewers go to the engine's command queue; a viewer that did not
/// subscribe with `control` is read-only. A line that is not a valid request gets an `error`
/// reply; nothing a viewer sends can stop the server. A viewer that does not read (its pending
/// lines exceed `viewerBacklog`) is dropped; it may reconnect with `since`.
public final class EngineServer: @unchecked Sendable {
    public let commands: CommandQueue
    /// Lines a viewer may have pending before it is dropped.
    public let viewerBacklog: Int
    /// Events kept for snapshots and resumption; beyond it, older step events are thinned.
    public let historyLimit: Int

    private let lock = NSLock()
    private var log: [(seq: Int, line: String, isStep: Bool)] = []
    private var seq = 0
    /// Every event after this number is in `log` (thinning removes steps before it).
    private var completeAfter = 0
    private var state: EngineState = .idle
    private var configLine: String?
    private var runDirectory = ""
    private var viewers: [Int: Viewer] = [:]
    private var nextViewer = 0
    private var listenFD: Int32 = -1
    private var socketPath: String?
    private var closed = false

    /// Listen at the run directory's `engine.sock` when `runStarted` names it (else call
    /// `listen(at:)` yourself).
    public let listensOnRunStart: Bool

    public init(commands: CommandQueue, listensOnRunStart: Bool = true, viewerBacklog: Int = 50_000, historyLimit: Int = 200_000) {
        self.commands = commands
        self.listensOnRunStart = listensOnRunStart
        self.viewerBacklog = viewerBacklog
        self.historyLimit = max(16, historyLimit)
    }

    /// The path served, once listening.
    public var path: String? { locked { socketPath } }
    /// Events numbered so far.
    public var lastSeq: Int { locked { seq } }
    /// Viewers connected now.
    public var viewerCount: Int { locked { viewers.count } }

    // MARK: Events

    /// Takes events from `source` on a thread of its own until it closes; returns the queue the
    /// process's own consumer reads instead (same coalescing as the engine's). Problems of the
    /// server itself (a socket it cannot bind) arrive there as warnings.
    public func relay(from source: EventQueue) -> EventQueue {
        let local = EventQueue(softCapacity: source.softCapacity)
        let thread = Thread { [self] in
            while let event = source.next() {
                if let warning = record(event) { local.post(.warning(warning)) }
                local.post(event)
            }
            local.close()
        }
        thread.name = "segscope.engine.server"
        thread.start()
        return local
    }

    /// Numbers, keeps and sends one event (what `relay` does for each); returns a warning to
    /// show when starting to listen failed.
    @discardableResult
    public func record(_ event: EngineEvent) -> String? {
        guard let line = try? MessageCoding.jsonLine(event) else { return nil }
        var listenAt: String?
        lock.lock()
        seq += 1
        log.append((seq, line, event.isCoalescible))
        switch event {
        case .state(let s): state = s
        case .runStarted(let started):
            configLine = try? MessageCoding.jsonLine(started.config)
            runDirectory = started.runDirectory
            if listensOnRunStart && listenFD < 0 && !closed {
                listenAt = RunLayout(URL(fileURLWithPath: started.runDirectory)).socketURL.path
            }
        default: break
        }
        if log.count > historyLimit { thinLocked() }
        let wire = WireProtocol.event(seq: seq, line: line)
        for viewer in viewers.values where viewer.subscribed {
            if !viewer.out.push(wire, whenFull: .refuse) { viewer.drop() }
        }
        lock.unlock()
        if let listenAt {
            do { try listen(at: listenAt) } catch {
                return "viewers cannot attach: \(error)"
            }
        }
        return nil
    }

    /// Drops every second step event of the older half (the curves keep their shape; evaluations
    /// and every other event stay).
    private func thinLocked() {
        let half = log.count / 2
        var kept: [(seq: Int, line: String, isStep: Bool)] = []
        kept.reserveCapacity(log.count)
        var odd = false
        for (i, entry) in log.enumerated() {
            if i < half && entry.isStep {
                odd.toggle()
                if odd {
                    completeAfter = max(completeAfter, entry.seq)
                    continue
                }
            }
            kept.append(entry)
        }
        log = kept
    }

    // MARK: Socket

    /// Listens at `path` (owner-only permissions) and accepts viewers on a thread of its own.
    public func listen(at path: String) throws {
        let fd = try UnixSocket.listen(at: path)
        lock.lock()
        guard !closed, listenFD < 0 else {
            lock.unlock()
            Glibc.close(fd)
            return
        }
        listenFD = fd
        socketPath = path
        lock.unlock()
        let thread = Thread { [self] in acceptLoop(fd) }
        thread.name = "segscope.engine.accept"
        thread.start()
    }

    private func acceptLoop(_ fd: Int32) {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE {
                    if errno == EMFILE || errno == ENFILE { usleep(100_000) }
                    if locked({ closed }) { return }
                    continue
                }
                return
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            lock.lock()
            if closed {
                lock.unlock()
                Glibc.close(client)
                return
            }
            nextViewer += 1
            let viewer = Viewer(id: nextViewer, fd: client, backlog: viewerBacklog)
            viewers[viewer.id] = viewer
            let hello = WireProtocol.hello(runID: (runDirectory as NSString).lastPathComponent, runDirectory: runDirectory, seq: seq, state: state)
            _ = viewer.out.push(hello)
            lock.unlock()
            viewer.start(reader: { [self] line in handle(line, from: viewer) }, ended: { [self] in remove(viewer) })
        }
    }

    private func remove(_ viewer: Viewer) {
        lock.lock()
        viewers[viewer.id] = nil
        lock.unlock()
    }

    /// Answers one line from a viewer.
    func handle(_ line: LineReader.Line, from viewer: Viewer) {
        if line.truncated {
            _ = viewer.out.push(WireProtocol.error("line too long (more than \(viewer.reader.limit) bytes): ignored"))
            return
        }
        let text = line.text.trimmingCharacters(in: .whitespaces)
        if text.isEmpty { return }
        let message: WireProtocol.ViewerMessage
        do {
            message = try WireProtocol.decode(WireProtocol.ViewerMessage.self, text)
        } catch {
            let id = (try? WireProtocol.decode(WireProtocol.IDOnly.self, text))?.id
            _ = viewer.out.push(WireProtocol.error("bad request (\(WireProtocol.describe(error))): \(WireProtocol.prefix(text))", id: id))
            return
        }
        switch message.type {
        case "subscribe":
            subscribe(viewer, id: message.id, since: message.since, control: message.control ?? false)
        case "ping":
            reply(viewer, message.id, ok: true)
        case "command":
            let command: EngineCommand
            do {
                command = try WireProtocol.decode(WireProtocol.CommandMessage.self, text).command
            } catch {
                reply(viewer, message.id, ok: false, "bad command (\(WireProtocol.describe(error)))")
                return
            }
            guard viewer.control else {
                reply(viewer, message.id, ok: false, "read-only viewer: attach with --control to send \(command.name)")
                return
            }
            switch command {
            case .start, .shutdown:
                reply(viewer, message.id, ok: false, "\(command.name) is not taken over the socket (the run's process owns it); stop ends the run")
            default:
                if commands.send(command) {
                    reply(viewer, message.id, ok: true)
                } else {
                    reply(viewer, message.id, ok: false, "the engine is not taking commands (queue full or closed)")
                }
            }
        default:
            reply(viewer, message.id, ok: false, "unknown request type '\(WireProtocol.prefix(message.type))' (known: subscribe, command, ping)")
        }
    }

    private func reply(_ viewer: Viewer, _ id: Int?, ok: Bool, _ error: String? = nil) {
        guard let id else {
            _ = viewer.out.push(WireProtocol.error(error ?? "a request without an id", id: nil))
            return
        }
        _ = viewer.out.push(WireProtocol.reply(.init(id: id, ok: ok, error: error)))
    }

    private func subscribe(_ viewer: Viewer, id: Int?, since: Int?, control: Bool) {
        lock.lock()
        defer { lock.unlock() }
        viewer.control = control
        if viewer.subscribed {
            _ = viewer.out.push(WireProtocol.error("already subscribed", id: id))
            return
        }
        viewer.subscribed = true
        if let since, since >= completeAfter, since <= seq {
            _ = viewer.out.push(WireProtocol.resumed(id: id, since: since, seq: seq))
            let start = log.firstIndex { $0.seq > since } ?? log.count
            for entry in log[start...] where !viewer.out.push(WireProtocol.event(seq: entry.seq, line: entry.line), whenFull: .refuse) {
                viewer.drop()
                return
            }
        } else {
            let line = WireProtocol.snapshot(id: id, seq: seq, state: state, config: configLine, events: log.map(\.line))
            if !viewer.out.push(line, whenFull: .refuse) { viewer.drop() }
        }
    }

    /// Stops listening, removes the socket file and disconnects every viewer.
    public func close() {
        lock.lock()
        closed = true
        let fd = listenFD
        listenFD = -1
        let path = socketPath
        let all = Array(viewers.values)
        lock.unlock()
        if fd >= 0 {
            shutdown(fd, Int32(SHUT_RDWR))
            Glibc.close(fd)
        }
        if let path { unlink(path) }
        for viewer in all { viewer.finish() }
        // The process usually exits next: let each viewer's writer send what is pending (the
        // run's last events, `finished` among them) first. Bounded: a viewer that does not read
        // does not hold the exit up for long.
        let deadline = DispatchTime.now() + 5
        for viewer in all { viewer.waitForWriter(until: deadline) }
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }
}

/// One connected viewer: a reader thread (its requests) and a writer thread (its pending lines);
/// the descriptor is closed by whichever ends last.
final class Viewer: @unchecked Sendable {
    let id: Int
    let fd: Int32
    let out: BlockingQueue<String>
    let reader: LineReader
    /// Guarded by the server's lock.
    var subscribed = false
    var control = false
    private let lock = NSLock()
    private var running = 2
    /// Signalled when the writer thread has ended.
    private let writerEnded = DispatchSemaphore(value: 0)

    init(id: Int, fd: Int32, backlog: Int) {
        self.id = id
        self.fd = fd
        out = BlockingQueue(capacity: backlog)
        reader = LineReader(fd: fd, limit: 1 << 20)
    }

    func start(reader handle: @escaping @Sendable (LineReader.Line) -> Void, ended: @escaping @Sendable () -> Void) {
        let r = Thread { [self] in
            while let line = reader.next() { handle(line) }
            finish()
            ended()
            release()
        }
        r.name = "segscope.viewer.\(id).in"
        let w = Thread { [self] in
            while let line = out.pop() {
                if !UnixSocket.writeLine(fd, line) { break }
            }
            finish()
            release()
            writerEnded.signal()
        }
        w.name = "segscope.viewer.\(id).out"
        r.start()
        w.start()
    }

    /// Ends both directions: the writer stops after what is pending, the reader at once.
    func finish() {
        out.close()
        shutdown(fd, Int32(SHUT_RD))
    }

    /// Waits until the writer has sent what was pending and ended (after `finish`), or `deadline`.
    func waitForWriter(until deadline: DispatchTime) {
        if writerEnded.wait(timeout: deadline) == .success { writerEnded.signal() }
    }

    /// A viewer that does not keep up: nothing more is sent.
    func drop() {
        _ = out.drain()
        out.close()
        shutdown(fd, Int32(SHUT_RDWR))
    }

    private func release() {
        lock.lock()
        running -= 1
        let last = running == 0
        lock.unlock()
        if last { Glibc.close(fd) }
    }
}
