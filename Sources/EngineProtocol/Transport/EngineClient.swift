import Foundation
import Queues
#if canImport(Glibc)
import Glibc
#endif

/// A viewer's end of a live run's socket (`engine.sock`, D-202), as an `EngineHost`: the events
/// the server sends come out of `events` (a snapshot's history first, every step kept), and
/// commands put into `commands` go to the server with a request id (refusals come back as
/// warnings). `shutdown` is never sent: for a viewer it means "detach" (the run goes on).
///
/// The connection ends when the server's process does (or the viewer detaches); the events end
/// with a warning saying which, and the front keeps showing the last state. `reconnect()`
/// resumes after the last event received (`since`), so nothing is missed.
public final class EngineClient: EngineHost, @unchecked Sendable {
    public let path: String
    public let control: Bool
    public let commands = CommandQueue()
    public let events = EventQueue()
    /// Answers to commands, in arrival order (also reported as warnings when refused).
    public let replies = BlockingQueue<WireProtocol.Reply>()

    private let lock = NSLock()
    /// Held while a command is written and while the descriptor is closed, so a write never
    /// reaches a descriptor number the process has reused.
    private let writeLock = NSLock()
    private var fd: Int32 = -1
    private var reader: LineReader?
    private var nextID = 1
    private var pending: [Int: String] = [:]
    private var launched = false
    private var detached = false
    private var readerDone = DispatchSemaphore(value: 0)
    private var writerStarted = false
    private var _hello: WireProtocol.Hello?
    private var _lastSeq = 0
    private var _gaps = 0
    private var _ended: String?
    /// Every seq received, in order (tests).
    var seqLog: [Int] = []
    var recordsSeq = false

    /// Connects and reads the server's `hello` (an error names the path when nothing serves
    /// there or the server speaks another protocol version).
    public init(path: String, control: Bool = false) throws {
        self.path = path
        self.control = control
        try open(since: nil)
    }

    public var hello: WireProtocol.Hello? { locked { _hello } }
    /// The number of the last event received.
    public var lastSeq: Int { locked { _lastSeq } }
    /// Events whose number did not follow the previous one (0 on a healthy connection).
    public var gaps: Int { locked { _gaps } }
    /// Why the connection ended, once it has.
    public var ended: String? { locked { _ended } }
    /// Whether this viewer ended the connection (`detach`), rather than the run's process.
    public var wasDetached: Bool { locked { detached } }

    /// Whether `event` is the warning a connection's end is reported with (the last event of a
    /// connection).
    public static func isClosingNotice(_ event: EngineEvent) -> Bool {
        if case .warning(let text) = event { return text.hasSuffix(")") && text.contains(closingMarker) }
        return false
    }
    static let closingMarker = "; showing its last state (event "

    private func open(since: Int?) throws {
        let fd = try UnixSocket.connect(to: path)
        let reader = LineReader(fd: fd, limit: 1 << 30)
        guard let first = reader.next() else {
            Glibc.close(fd)
            throw SocketError(path: path, operation: "read the server's hello (closed at once)", code: ECONNRESET)
        }
        let hello: WireProtocol.ServerMessage
        do {
            hello = try WireProtocol.decode(WireProtocol.ServerMessage.self, first.text)
        } catch {
            Glibc.close(fd)
            throw WireError("\(path): not a Segscope engine socket (first line: \(WireProtocol.prefix(first.text)))")
        }
        guard hello.type == "hello", let version = hello.protocolVersion else {
            Glibc.close(fd)
            throw WireError("\(path): not a Segscope engine socket (first message: \(hello.type))")
        }
        guard version == WireProtocol.version else {
            Glibc.close(fd)
            throw WireError("\(path): the engine speaks protocol \(version), this segscope speaks \(WireProtocol.version)")
        }
        lock.lock()
        self.fd = fd
        self.reader = reader
        detached = false
        _ended = nil
        readerDone = DispatchSemaphore(value: 0)
        _hello = WireProtocol.Hello(protocolVersion: version, runID: hello.runID ?? "", runDirectory: hello.runDirectory ?? "",
                                    pid: hello.pid ?? 0, seq: hello.seq ?? 0, state: hello.state)
        let id = nextID
        nextID += 1
        lock.unlock()
        UnixSocket.writeLine(fd, WireProtocol.subscribe(id: id, since: since, control: control))
    }

    /// Starts reading events and sending commands (once per connection).
    public func launch() {
        lock.lock()
        guard !launched, let reader else {
            lock.unlock()
            return
        }
        launched = true
        let startWriter = !writerStarted
        writerStarted = true
        let done = readerDone
        lock.unlock()
        let r = Thread { [self] in
            readLoop(reader)
            done.signal()
        }
        r.name = "segscope.attach.in"
        r.start()
        if startWriter {
            let w = Thread { [self] in writeLoop() }
            w.name = "segscope.attach.out"
            w.start()
        }
    }

    /// Waits until the connection has ended (the server closed it, or `detach`); false on timeout.
    public func join(timeout: TimeInterval?) -> Bool {
        let done = locked { readerDone }
        if let timeout {
            guard done.wait(timeout: .now() + timeout) == .success else { return false }
        } else {
            done.wait()
        }
        done.signal()  // every later join of this connection returns at once
        return true
    }

    /// Closes the connection; the run goes on. The events end with a warning saying so.
    public func detach() {
        lock.lock()
        detached = true
        let fd = self.fd
        lock.unlock()
        if fd >= 0 { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// After the connection ended: connects again and resumes after the last event received
    /// (the server sends a snapshot instead when it no longer has them, e.g. a new process).
    public func reconnect() throws {
        _ = join(timeout: nil)
        let since = lastSeq
        try open(since: since)
        lock.lock()
        launched = false
        lock.unlock()
        launch()
    }

    private func readLoop(_ reader: LineReader) {
        var why = "the engine's connection closed (its process ended or was killed)"
        while let line = reader.next() {
            guard !line.truncated else { continue }
            let message: WireProtocol.ServerMessage
            do {
                message = try WireProtocol.decode(WireProtocol.ServerMessage.self, line.text)
            } catch {
                events.post(.warning("engine socket: a line that is not a message (\(WireProtocol.describe(error)))"))
                continue
            }
            switch message.type {
            case "snapshot":
                for event in message.events ?? [] { events.post(event, coalesce: false) }
                lock.lock()
                _lastSeq = message.seq ?? _lastSeq
                lock.unlock()
            case "resumed":
                lock.lock()
                if let since = message.since, since != _lastSeq { _gaps += 1 }
                lock.unlock()
            case "event":
                guard let seq = message.seq, let event = message.event else { continue }
                lock.lock()
                if seq != _lastSeq + 1 { _gaps += 1 }
                _lastSeq = seq
                if recordsSeq { seqLog.append(seq) }
                lock.unlock()
                events.post(event)
            case "reply":
                guard let id = message.id else { continue }
                let reply = WireProtocol.Reply(id: id, ok: message.ok ?? false, error: message.error)
                let name = locked { pending.removeValue(forKey: id) }
                if !reply.ok, let name { events.post(.warning("the engine refused \(name): \(reply.error ?? "no reason given")")) }
                replies.push(reply)
            case "error":
                events.post(.warning("engine socket: \(message.error ?? "error")"))
            default:
                continue
            }
        }
        lock.lock()
        if detached { why = "detached from the engine (the run goes on)" }
        let seq = _lastSeq
        let fd = self.fd
        self.fd = -1
        self.reader = nil
        _ended = why
        lock.unlock()
        writeLock.lock()
        if fd >= 0 { Glibc.close(fd) }
        writeLock.unlock()
        events.post(.warning("\(why)\(Self.closingMarker)\(seq))"))
    }

    private func writeLoop() {
        while let command = commands.wait() {
            if case .shutdown = command {
                detach()
                continue
            }
            writeLock.lock()
            lock.lock()
            let fd = self.fd
            let id = nextID
            nextID += 1
            pending[id] = command.name
            lock.unlock()
            let sent = fd >= 0 && (try? WireProtocol.command(id: id, command)).map { UnixSocket.writeLine(fd, $0) } == true
            writeLock.unlock()
            guard sent else {
                _ = locked { pending.removeValue(forKey: id) }
                events.post(.warning("not connected to the engine: \(command.name) not sent"))
                continue
            }
        }
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }
}
