import Datasets
import EngineProtocol
import Foundation

/// Messages for the training screens: engine events and results of cockpit commands.
public enum CockpitEvent: Sendable {
    case engine(EngineEvent)
    /// A validation sample (image and truth) for the compare view.
    case sample(id: String, Result<Sample, MessageError>)
    /// The run directories under a runs root (runs browser).
    case runs(root: String, Result<[RunEntry], MessageError>)
    /// A past run read for the dashboard, with the run to overlay.
    case runOpened(path: String, Result<OpenedRun, MessageError>)
    /// A past run's saved sample predictions (latest evaluation) for the compare view.
    case saved(directory: String, Result<SavedEvaluation, MessageError>)
    /// A run's per-sample metrics (latest evaluation) for the browser's columns.
    case sampleMetrics(directory: String, Result<SampleMetricsFile, MessageError>)
    /// The engine now watches the live run `name` (runs browser), or could not.
    case attached(name: String, Result<Attachment, MessageError>)
}

/// A past run read from its directory.
public struct PastRun: Sendable {
    public var name: String
    public var history: RunHistory
    public init(name: String, history: RunHistory) {
        self.name = name
        self.history = history
    }
}

/// A run opened from the runs browser and the run whose curves go under it.
public struct OpenedRun: Sendable {
    public var name: String
    public var history: RunHistory
    public var overlay: PastRun?
}

/// Side effects of the training screens.
public enum CockpitCommand: Sendable, Equatable {
    /// Send a command to the engine's queue.
    case engine(EngineCommand)
    /// Read a sample of the run's dataset (`data` / `format` of its configuration).
    case loadSample(id: String, data: String, format: DatasetFormat)
    /// List the run directories under `root`.
    case scanRuns(root: String)
    /// Read a past run (and the one to overlay) for the dashboard.
    case openRun(path: String, overlay: String?)
    /// Read a past run's saved sample predictions (`predictions/`) of the evaluation at
    /// `iteration` (nil: the latest).
    case loadSaved(directory: String, iteration: Int?)
    /// Read a run's per-sample metrics (`predictions/<latest>/samples.json`).
    case loadSampleMetrics(directory: String)
    /// Watch and steer the live run served on `socket` (its name: `name`) instead.
    case attachRun(socket: String, name: String)
}

/// The front's end of an engine: its two queues, and a thread that forwards events to the
/// interface. The engine itself may live in this process or elsewhere; only messages cross.
///
/// `host` (when given) is the engine behind the queues, started with the first command sent
/// (the launcher's start), so a session that only browses never starts one. The program makes
/// the link (`EngineLink.inProcess` in the CLI, a `TrainingEngine` on the same queues): the
/// terminal front never builds an engine itself (D-200).
public final class EngineLink: @unchecked Sendable {
    public let commands: CommandQueue
    public let events: EventQueue
    private let lock = NSLock()
    private var pumping = false
    private var post: (@Sendable (EngineEvent) -> Void)?
    /// The engine this link drives, if any.
    public let host: (any EngineHost)?
    private var launched = false

    public init(commands: CommandQueue, events: EventQueue) {
        self.commands = commands
        self.events = events
        host = nil
    }

    /// A link to `host`'s queues; `host.launch()` runs with the first command sent.
    public init(host: any EngineHost) {
        commands = host.commands
        events = host.events
        self.host = host
    }

    /// Starts the engine behind the link and the event pump now, without a command (a viewer
    /// attached to a live run: its snapshot and events flow at once).
    public func launch() {
        lock.lock()
        defer { lock.unlock() }
        if let host, !launched {
            launched = true
            host.launch()
        }
        startPumpLocked()
    }

    /// Whether the engine behind the link was started.
    public var isLaunched: Bool {
        lock.lock()
        defer { lock.unlock() }
        return launched
    }

    /// Sends a command (starting the engine first); false when the queue is full or closed.
    @discardableResult
    public func send(_ command: EngineCommand) -> Bool {
        lock.lock()
        if let host, !launched {
            launched = true
            host.launch()
            startPumpLocked()
        }
        lock.unlock()
        return commands.send(command)
    }

    /// Forwards every event to `post` (the first call wins) on a thread of its own, which ends when
    /// the event queue closes. With a host the thread starts with the engine.
    public func pump(_ post: @escaping @Sendable (EngineEvent) -> Void) {
        lock.lock()
        defer { lock.unlock() }
        guard self.post == nil else { return }
        self.post = post
        if host == nil || launched { startPumpLocked() }
    }

    private func startPumpLocked() {
        guard !pumping, let post else { return }
        pumping = true
        let events = self.events
        let thread = Thread {
            while let event = events.next() { post(event) }
        }
        thread.name = "segscope.tui.events"
        thread.start()
    }

    /// Ends the engine: a run in progress is stopped as `stop` does (last checkpoint written,
    /// logs flushed), then the engine ends. Returns false when it did not end within `timeout`
    /// seconds. Without a started engine there is nothing to wait for.
    @discardableResult
    public func shutdown(timeout: TimeInterval) -> Bool {
        guard let host, isLaunched else { return true }
        _ = commands.send(.shutdown)
        return host.join(timeout: timeout)
    }
}

/// Performs cockpit commands and hands every other command to `inner` (the browser's dataset
/// performer). Engine commands go on the queue at once; a full queue is reported as a warning.
public final class CockpitPerformer: CommandPerformer, @unchecked Sendable {
    let inner: CommandPerformer?
    let link: EngineLink?
    private let loadQueue = DispatchQueue(label: "segscope.tui.compare")
    private let lock = NSLock()
    private var datasets: [String: any SegmentationDataset] = [:]
    /// Opens a dataset for a run's `data` / `format` (tests substitute in-memory sets).
    let open: @Sendable (String, DatasetFormat) throws -> any SegmentationDataset
    /// Parameter counts of a model name and class count, for past runs (their logs lack them).
    let modelSummary: (@Sendable (String, Int) -> ModelOverview?)?
    private let runsQueue = DispatchQueue(label: "segscope.tui.runs")

    public init(inner: CommandPerformer?, link: EngineLink?,
                open: @escaping @Sendable (String, DatasetFormat) throws -> any SegmentationDataset = TrainingConfig.openDataset,
                modelSummary: (@Sendable (String, Int) -> ModelOverview?)? = nil) {
        self.inner = inner
        self.link = link
        self.open = open
        self.modelSummary = modelSummary
    }

    public func perform(_ command: Command, post: @escaping @Sendable (Msg) -> Void, done: @escaping @Sendable () -> Void) {
        guard case .cockpit(let c) = command else {
            if let inner { inner.perform(command, post: post, done: done) } else { done() }
            return
        }
        switch c {
        case .engine(let engineCommand):
            if let link {
                if !link.send(engineCommand) {
                    post(.cockpit(.engine(.warning("the engine is not taking commands (queue full or closed): \(engineCommand.name) not sent"))))
                }
            } else {
                post(.cockpit(.engine(.warning("no training engine is attached: \(engineCommand.name) not sent"))))
            }
            done()
        case .loadSample(let id, let data, let format):
            loadQueue.async { [self] in
                let result: Result<Sample, MessageError>
                do {
                    result = .success(try dataset(data, format).sample(id: id))
                } catch {
                    result = .failure(MessageError(error))
                }
                post(.cockpit(.sample(id: id, result)))
                done()
            }
        case .scanRuns(let root):
            runsQueue.async {
                let url = URL(fileURLWithPath: (root as NSString).expandingTildeInPath)
                let result = Result { try RunArchive.scan(url) }.mapError { MessageError($0) }
                post(.cockpit(.runs(root: root, result)))
                done()
            }
        case .openRun(let path, let overlay):
            let model = modelSummary
            runsQueue.async {
                func read(_ path: String) throws -> PastRun {
                    let url = URL(fileURLWithPath: path)
                    return PastRun(name: url.lastPathComponent, history: try RunLog.read(url, model: model))
                }
                let result = Result {
                    let run = try read(path)
                    return OpenedRun(name: run.name, history: run.history, overlay: try overlay.map(read))
                }.mapError { MessageError($0) }
                post(.cockpit(.runOpened(path: path, result)))
                done()
            }
        case .loadSaved(let directory, let iteration):
            loadQueue.async {
                let result = Result {
                    try RunArchive.savedEvaluation(runDirectory: URL(fileURLWithPath: (directory as NSString).expandingTildeInPath),
                                              iteration: iteration)
                }.mapError { MessageError($0) }
                post(.cockpit(.saved(directory: directory, result)))
                done()
            }
        case .attachRun(let socket, let name):
            guard let link, let host = link.host as? any LiveRunHost else {
                post(.cockpit(.attached(name: name, .failure(MessageError("this front cannot attach to a live run; use segscope attach \((socket as NSString).deletingLastPathComponent)")))))
                done()
                return
            }
            link.launch()
            runsQueue.async {
                let result = Result { () throws -> Attachment in
                    _ = try host.attach(socket: socket)
                    return Attachment(name: name, control: host.viewerControl)
                }.mapError { MessageError($0) }
                post(.cockpit(.attached(name: name, result)))
                done()
            }
        case .loadSampleMetrics(let directory):
            loadQueue.async {
                let result = Result {
                    try RunArchive.sampleMetrics(runDirectory: URL(fileURLWithPath: (directory as NSString).expandingTildeInPath))
                }.mapError { MessageError($0) }
                post(.cockpit(.sampleMetrics(directory: directory, result)))
                done()
            }
        }
    }

    private func dataset(_ data: String, _ format: DatasetFormat) throws -> any SegmentationDataset {
        let key = "\(format.rawValue):\(data)"
        lock.lock()
        if let d = datasets[key] {
            lock.unlock()
            return d
        }
        lock.unlock()
        let d = try open(data, format)
        lock.lock()
        datasets[key] = d
        lock.unlock()
        return d
    }
}
