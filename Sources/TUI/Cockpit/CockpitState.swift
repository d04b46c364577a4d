import Datasets
import EngineProtocol

/// A training step as the charts keep it.
public struct StepSample: Equatable, Sendable {
    public var iteration: Int
    public var epoch: Int
    public var loss: Double
    public var pixelAccuracy: Double
    public var learningRate: Double
}

/// An evaluation as the charts keep it.
public struct EvaluationSample: Equatable, Sendable {
    public var iteration: Int
    public var epoch: Int
    public var loss: Double?
    public var aAcc: Double
    public var mIoU: Double
}

/// What the charts put on their x axis.
public enum ChartAxis: String, Sendable { case iterations, epochs }

/// Everything the cockpit knows about a run, built only from engine events (`apply`). The same
/// type holds a past run replayed from its `metrics.jsonl`.
public struct RunHistory: Sendable {
    public var engineState: EngineState = .idle
    public var started: RunStarted?
    public var lastStep: StepReport?
    public var steps: [StepSample] = []
    public var evaluations: [EvaluationSample] = []
    public var latestEvaluation: EvaluationReport?
    public var predictions: [String: SamplePrediction] = [:]
    public var log: [LogLine] = []
    public var finished: RunSummary?
    public var failure: Failure?
    public var lastCheckpoint: CheckpointSaved?
    /// The base learning rate in effect (the config's `lr` and `lr_changes`, then every
    /// `learningRateChanged`): what `L` changes; a step's rate is it times the schedule's factor.
    public var baseLearningRate: Double?
    /// Steps seen since the run started (the ETA is held back for the first few).
    public var stepsSeen = 0
    /// Increases with every evaluation (views use it to notice a new one).
    public var evaluationCount = 0
    public static let logLimit = 200
    public static let stepLimit = 20_000
    /// Steps before the ETA is shown: the first iterations include warm-up (allocations, caches).
    public static let etaHoldBack = 5

    public init() {}

    public var classNames: [String] { latestEvaluation?.classNames ?? started?.classNames ?? [] }
    public var iterationsPerEpoch: Int { max(1, started?.iterationsPerEpoch ?? 1) }
    public var isActive: Bool { engineState == .running || engineState == .paused || engineState == .stopping }

    /// Applies one engine event.
    public mutating func apply(_ event: EngineEvent) {
        switch event {
        case .runStarted(let r):
            let keepLog = log
            self = RunHistory()
            log = keepLog
            started = r
            engineState = .running
            baseLearningRate = r.config.baseLearningRate(forIteration: (r.resumedFromIteration ?? 0) + 1)
            let from = r.resumedFromIteration.map { " (resumed at it \($0))" } ?? ""
            append(.info, place: "", "run started: \(r.model.name), \(r.trainSamples) train / \(r.valSamples) val images, \(r.totalIterations) iterations\(from) → \(r.runDirectory)")
        case .step(let s):
            lastStep = s
            stepsSeen += 1
            steps.append(StepSample(iteration: s.iteration, epoch: s.epoch, loss: s.loss, pixelAccuracy: s.pixelAccuracy,
                                    learningRate: s.learningRate))
            if steps.count > Self.stepLimit { thinSteps() }
        case .evaluation(let e):
            latestEvaluation = e
            evaluationCount += 1
            evaluations.append(EvaluationSample(iteration: e.iteration, epoch: e.epoch, loss: e.loss, aAcc: e.metrics.aAcc,
                                                mIoU: e.metrics.mIoU))
            let best = e.isBest ? " (best)" : ""
            append(.info, place: "it \(e.iteration)", String(format: "eval %@: mIoU %.3f, aAcc %.3f%@", e.split, e.metrics.mIoU, e.metrics.aAcc, best))
        case .samplePrediction(let p):
            predictions[p.sampleID] = p
        case .checkpointSaved(let c):
            lastCheckpoint = c
            let score = c.mIoU.map { String(format: ", mIoU %.3f", $0) } ?? ""
            append(.checkpoint, place: "it \(c.iteration)", "checkpoint \(c.kind.rawValue)\(c.isBest ? " (best)" : "")\(score): \(c.path)")
        case .warning(let text):
            append(.warning, place: lastStep.map { "it \($0.iteration)" } ?? "", text)
        case .failed(let f):
            failure = f
            append(.error, place: f.iteration.map { "it \($0)" } ?? "", "failed: \(f.message)")
        case .finished(let summary):
            finished = summary
            let best = summary.bestMIoU.map { String(format: ", best mIoU %.3f", $0) } ?? ""
            append(.info, place: "it \(summary.iterations)", "finished (\(summary.reason.rawValue))\(best)")
        case .state(let s):
            engineState = s
        case .learningRateChanged(let c):
            baseLearningRate = c.to
            append(.info, place: "it \(c.iteration)",
                   "base learning rate \(Self.formatRate(c.from)) → \(Self.formatRate(c.to))" + (c.replayed ? " (lr_changes of the config)" : ""))
        }
    }

    /// A learning rate as the cockpit shows it (`0.001`, `3e-05`).
    public static func formatRate(_ lr: Double) -> String { String(format: "%g", lr) }

    mutating func append(_ kind: LogLine.Kind, place: String, _ text: String) {
        log.append(LogLine(kind, place: place, text))
        if log.count > Self.logLimit { log.removeFirst(log.count - Self.logLimit) }
    }

    /// Keeps every other step once the history is long (the charts are a few hundred dots wide).
    mutating func thinSteps() {
        steps = steps.enumerated().filter { $0.offset % 2 == 0 || $0.offset == steps.count - 1 }.map(\.element)
    }

    /// Seconds left, once enough steps were seen.
    public var eta: Double? {
        guard stepsSeen >= Self.etaHoldBack else { return nil }
        return lastStep?.etaSeconds
    }

    /// The x value of an iteration on `axis`.
    public func x(_ iteration: Int, _ axis: ChartAxis) -> Double {
        axis == .iterations ? Double(iteration) : Double(iteration) / Double(iterationsPerEpoch)
    }
}

/// The learning-rate prompt (`L`).
public struct LearningRatePrompt: Equatable, Sendable {
    public var text: String
    public var error: String?
    /// The base rate when the prompt opened (what it changes).
    public var base: Double?

    public init(text: String, error: String? = nil, base: Double? = nil) {
        self.text = text
        self.error = error
        self.base = base
    }
}

/// The quit question asked while a run is in progress.
public enum QuitQuestion: Equatable, Sendable {
    case asking
    /// A stop was sent; quit once the engine reports `finished` / idle.
    case stoppingThenQuit
}

/// The run the training screens show, shared by the dashboard, compare and runs screens: what
/// the engine link delivers (D-181) and the questions about it. Per-screen UI state lives in
/// each screen's own state (`DashboardState`, `CompareState`, `LauncherScreenState`,
/// `RunsScreenState`, D-187).
public struct CockpitState: Sendable {
    public var history = RunHistory()
    /// A second run's curves drawn under this one's (past runs: overlay).
    public var overlay: RunHistory?
    public var overlayName: String?
    /// A past run opened read-only (keys that command the engine are off).
    public var readOnlyName: String?
    public var quitQuestion: QuitQuestion?
    /// The last command the queue refused, or a note for the footer.
    public var notice: String?

    /// A live run in another process this front watches over its socket (`segscope attach`):
    /// quitting detaches (the run goes on) unless asked to stop it.
    public var attachment: Attachment?
    /// Runs started here are processes of their own (`DetachedEngine`): quitting during one asks
    /// whether to detach (it keeps training) or stop it (D-261).
    public var detachable = false

    public init() {}

    public var isReadOnly: Bool { readOnlyName != nil }
}

/// The live run a front is attached to.
public struct Attachment: Sendable, Equatable {
    /// The run's name (its directory's) or the socket path.
    public var name: String
    /// Whether this viewer may steer (`--control`); otherwise the engine refuses its commands.
    public var control: Bool

    public init(name: String, control: Bool) {
        self.name = name
        self.control = control
    }
}
