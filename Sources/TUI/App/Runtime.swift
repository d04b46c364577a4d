import Datasets
import Foundation

/// Messages from background work, and how much of it is still under way.
final class Inbox: @unchecked Sendable {
    private let condition = NSCondition()
    private var messages: [Msg] = []
    private var pending = 0

    func post(_ msg: Msg) {
        condition.lock()
        messages.append(msg)
        condition.broadcast()
        condition.unlock()
    }

    func begin() {
        condition.lock()
        pending += 1
        condition.unlock()
    }

    func end() {
        condition.lock()
        pending -= 1
        condition.broadcast()
        condition.unlock()
    }

    func drain() -> [Msg] {
        condition.lock()
        defer { condition.unlock() }
        let out = messages
        messages.removeAll(keepingCapacity: true)
        return out
    }

    var hasMessages: Bool {
        condition.lock()
        defer { condition.unlock() }
        return !messages.isEmpty
    }

    var isIdle: Bool {
        condition.lock()
        defer { condition.unlock() }
        return messages.isEmpty && pending == 0
    }

    /// Waits until a message arrives or nothing is pending; false on timeout.
    func waitForChange(until deadline: Date) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while messages.isEmpty && pending > 0 {
            if !condition.wait(until: deadline) { return false }
        }
        return true
    }
}

/// Performs commands off the UI thread and posts their results as messages.
public protocol CommandPerformer: AnyObject, Sendable {
    /// Starts `command`; calls `post` with result messages and `done` exactly once when finished.
    func perform(_ command: Command, post: @escaping @Sendable (Msg) -> Void, done: @escaping @Sendable () -> Void)
}

/// Runs the application: reads input, applies `App.update`, performs commands, and presents
/// `App.view` through the driver — one frame per batch of messages.
///
/// Busy / idle is observable: `isIdle` is true when no message is queued and no command is
/// running. Tests send input, call `waitUntilIdle`, and then look at the screen; the terminal
/// build reports each idle frame through `onIdle` (see `SEGSCOPE_IDLE_FILE`).
public final class AppRuntime {
    public private(set) var state: AppState
    public let driver: TerminalDriver
    let performer: CommandPerformer?
    let inbox = Inbox()
    public private(set) var framesRendered = 0
    /// Called after a frame is presented when nothing is left to do (argument: frame count).
    public var onIdle: ((Int) -> Void)?
    private var reportedIdleFrame = -1

    public init(state: AppState, driver: TerminalDriver, performer: CommandPerformer?) {
        var s = state
        s.columns = driver.columns
        s.rows = driver.rows
        self.state = s
        self.driver = driver
        self.performer = performer
    }

    public var isIdle: Bool { inbox.isIdle }

    /// Queues messages from other threads (engine events); each is handled by the next `step`.
    public var poster: @Sendable (Msg) -> Void {
        let inbox = self.inbox
        return { inbox.post($0) }
    }

    /// Issues the start-up commands and draws the first frame.
    public func start() {
        let (s, commands) = App.start(state)
        state = s
        execute(commands)
        render()
    }

    /// Applies one message.
    public func dispatch(_ msg: Msg) {
        let commands = App.update(&state, msg)
        execute(commands)
    }

    func execute(_ commands: [Command]) {
        for command in commands {
            if command == .quit { continue }
            guard let performer else { continue }
            inbox.begin()
            let inbox = self.inbox
            performer.perform(command, post: { inbox.post($0) }, done: { inbox.end() })
        }
    }

    public func render() {
        driver.present(App.view(state))
        framesRendered += 1
    }

    static func message(for event: InputEvent) -> Msg {
        switch event {
        case .key(let k): return .key(k)
        case .mouse(let m): return .mouse(m)
        case .resize(let c, let r): return .resize(columns: c, rows: r)
        }
    }

    /// Handles queued input and messages and renders if anything changed. `timeout` is how long
    /// to wait for input when nothing else is queued. Returns whether a frame was drawn.
    @discardableResult
    public func step(timeoutMilliseconds: Int) -> Bool {
        var changed = false
        let wait = inbox.hasMessages ? 0 : timeoutMilliseconds
        if let event = driver.readInput(timeoutMilliseconds: wait) {
            dispatch(Self.message(for: event))
            changed = true
            // Take whatever else is already typed (key repeat) before drawing.
            var extra = 0
            while extra < 64, !state.quit, let more = driver.readInput(timeoutMilliseconds: 0) {
                dispatch(Self.message(for: more))
                extra += 1
            }
        }
        for msg in inbox.drain() {
            dispatch(msg)
            changed = true
        }
        if changed && !state.quit { render() }
        if !changed, isIdle, reportedIdleFrame != framesRendered {
            reportedIdleFrame = framesRendered
            onIdle?(framesRendered)
        }
        return changed
    }

    /// The interactive loop: until quit or a termination signal. Returns the signal, if any.
    public func run() -> Int32? {
        start()
        while !state.quit {
            if let signal = driver.pendingSignal() { return signal }
            step(timeoutMilliseconds: 40)
        }
        return nil
    }

    /// For tests: handles scripted input and background results until nothing is left to do
    /// (or `timeout` seconds pass). Returns false on timeout.
    @discardableResult
    public func waitUntilIdle(timeout: TimeInterval = 20) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            step(timeoutMilliseconds: 0)
            if isIdle && !inbox.hasMessages { return true }
            if Date() >= deadline { return false }
            if !inbox.waitForChange(until: deadline) { return false }
        }
    }

    /// For tests: sends input as if typed, then waits until idle.
    public func send(_ events: [InputEvent]) {
        for event in events { dispatch(Self.message(for: event)) }
        render()
        waitUntilIdle()
    }
}

/// Performs dataset commands: split lists, sample loads (newest request wins) and scans.
public final class DatasetPerformer: CommandPerformer, @unchecked Sendable {
    let dataset: any SegmentationDataset
    private let listQueue = DispatchQueue(label: "segscope.tui.lists")
    private let loadQueue = DispatchQueue(label: "segscope.tui.load")
    private let scanQueue = DispatchQueue(label: "segscope.tui.scan", qos: .utility)
    /// Tags and exports: serial, so two quick toggles reach the file in order.
    private let saveQueue = DispatchQueue(label: "segscope.tui.save")
    private let lock = NSLock()
    private var latestRequest: String?
    private var scanned: Set<String> = []

    public init(dataset: any SegmentationDataset) { self.dataset = dataset }

    public func perform(_ command: Command, post: @escaping @Sendable (Msg) -> Void, done: @escaping @Sendable () -> Void) {
        let dataset = self.dataset
        switch command {
        case .quit, .cockpit:
            done()
        case .loadIDs(let split):
            listQueue.async {
                let result = Result { try dataset.ids(split: split) }.mapError { MessageError($0) }
                post(.dataset(.ids(split: split, result)))
                done()
            }
        case .loadSample(let id):
            lock.lock()
            latestRequest = id
            lock.unlock()
            loadQueue.async { [self] in
                lock.lock()
                let stillWanted = latestRequest == id
                lock.unlock()
                // A newer request superseded this one: skip the decode (the UI asks again if it
                // comes back to this sample).
                if stillWanted {
                    let result = Result { try dataset.sample(id: id) }.mapError { MessageError($0) }
                    post(.dataset(.sample(id: id, result)))
                } else {
                    post(.dataset(.sample(id: id, .failure(MessageError(Self.superseded)))))
                }
                done()
            }
        case .scan(let split, let ids):
            scanQueue.async { [self] in
                var batch: [SampleInfo] = []
                var lastPost = Date()
                for id in ids {
                    lock.lock()
                    let seen = scanned.contains(id)
                    scanned.insert(id)
                    lock.unlock()
                    if seen { continue }
                    do {
                        batch.append(SampleInfo(sample: try dataset.sample(id: id)))
                    } catch {
                        batch.append(.failed(id: id, error: String(describing: error)))
                    }
                    if batch.count >= 64 || Date().timeIntervalSince(lastPost) > 0.2 {
                        post(.dataset(.scanned(batch)))
                        batch.removeAll()
                        lastPost = Date()
                    }
                }
                if !batch.isEmpty { post(.dataset(.scanned(batch))) }
                post(.dataset(.scanFinished(split: split)))
                done()
            }
        case .saveTags(let tags, let path):
            saveQueue.async {
                var problem: String?
                do { try tags.write(to: URL(fileURLWithPath: path)) } catch { problem = "\(error)" }
                post(.dataset(.tagsSaved(path: path, error: problem)))
                done()
            }
        case .exportSamples(let export, let format, let directory, let stem):
            saveQueue.async {
                let result: Result<String, MessageError>
                do {
                    let url = Self.freeExportURL(directory: URL(fileURLWithPath: directory), stem: stem, format: format)
                    try AtomicText.write(try export.encoded(format), to: url)
                    result = .success(url.path)
                } catch {
                    result = .failure(error as? MessageError ?? MessageError(error))
                }
                post(.dataset(.exported(result, samples: export.samples.count)))
                done()
            }
        }
    }

    /// The first `<stem>-<n>.<ext>` in `directory` that does not exist yet.
    static func freeExportURL(directory: URL, stem: String, format: SampleExport.Format) -> URL {
        var n = 1
        while true {
            let url = directory.appendingPathComponent("\(stem)-\(n).\(format.rawValue)")
            if !FileManager.default.fileExists(atPath: url.path) { return url }
            n += 1
        }
    }

    /// The message of a load that a newer selection replaced (not shown as an error).
    public static let superseded = "superseded by a newer selection"
}
