import Datasets
import Foundation

// The only things the engine and its fronts (the terminal UI, `segscope train`) share.
// Both enums are closed, `Sendable` and `Codable`: in-process they travel over `CommandQueue` /
// `EventQueue`; as JSON lines (`MessageCoding`) they cross a process boundary unchanged.
// Each serialises as one flat JSON object whose "type" names the case, e.g.
//   {"type":"setLearningRate","learning_rate":0.001}
//   {"type":"step","epoch":1,"iteration":20,"loss":0.71,...}

/// What the engine is doing.
public enum EngineState: String, Sendable, Codable, Equatable, CaseIterable {
    case idle, running, paused, stopping
}

/// Commands, front → engine.
public enum EngineCommand: Sendable, Codable, Equatable {
    /// Start a run with this configuration (only when idle).
    case start(TrainingConfig)
    case pause
    case resume
    /// Stop the run: write the last checkpoint, flush the logs, report `finished`, go idle.
    case stop
    /// Set the base learning rate; the schedule's factor still applies to it.
    case setLearningRate(Double)
    /// Evaluate on the validation split now (between two iterations).
    case evaluateNow
    /// Predict one sample of the validation split and report it as `samplePrediction`.
    case predict(sampleID: String)
    /// Write `checkpoints/last` now.
    case saveCheckpoint
    /// Stop any run as `stop` does, then end the engine thread.
    case shutdown

    /// The cases by name, as in JSON's "type".
    public enum Kind: String, Sendable, CaseIterable {
        case start, pause, resume, stop, setLearningRate, evaluateNow, predict, saveCheckpoint, shutdown
    }

    public var kind: Kind {
        switch self {
        case .start: return .start
        case .pause: return .pause
        case .resume: return .resume
        case .stop: return .stop
        case .setLearningRate: return .setLearningRate
        case .evaluateNow: return .evaluateNow
        case .predict: return .predict
        case .saveCheckpoint: return .saveCheckpoint
        case .shutdown: return .shutdown
        }
    }

    /// The case name, as in JSON's "type".
    public var name: String { kind.rawValue }

    enum CodingKeys: String, CodingKey { case type, config, learningRate = "learning_rate", sampleID = "sample_id" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        guard let kind = Kind(rawValue: type) else {
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription:
                "unknown command '\(type)' (known: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        switch kind {
        case .start: self = .start(try c.decode(TrainingConfig.self, forKey: .config))
        case .pause: self = .pause
        case .resume: self = .resume
        case .stop: self = .stop
        case .setLearningRate: self = .setLearningRate(try c.decode(Double.self, forKey: .learningRate))
        case .evaluateNow: self = .evaluateNow
        case .predict: self = .predict(sampleID: try c.decode(String.self, forKey: .sampleID))
        case .saveCheckpoint: self = .saveCheckpoint
        case .shutdown: self = .shutdown
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .type)
        switch self {
        case .start(let config): try c.encode(config, forKey: .config)
        case .setLearningRate(let lr): try c.encode(lr, forKey: .learningRate)
        case .predict(let id): try c.encode(id, forKey: .sampleID)
        case .pause, .resume, .stop, .evaluateNow, .saveCheckpoint, .shutdown: break
        }
    }
}

/// Events, engine → front.
public enum EngineEvent: Sendable, Codable, Equatable {
    case runStarted(RunStarted)
    /// One training iteration. High-rate: queues may coalesce these newest-wins.
    case step(StepReport)
    /// Never dropped.
    case evaluation(EvaluationReport)
    case samplePrediction(SamplePrediction)
    /// Never dropped.
    case checkpointSaved(CheckpointSaved)
    /// A command that made no sense, a skipped sample, …; never dropped.
    case warning(String)
    /// The run failed (bad config, NaN loss, full disk, …); never dropped.
    case failed(Failure)
    case finished(RunSummary)
    case state(EngineState)
    /// The base learning rate changed (a command, or the config's `lr_changes` replayed);
    /// logged in metrics.jsonl; never dropped.
    case learningRateChanged(LearningRateChanged)

    /// The cases by name, as in JSON's "type".
    public enum Kind: String, Sendable, CaseIterable {
        case runStarted, step, evaluation, samplePrediction, checkpointSaved, warning, failed, finished, state, learningRateChanged
    }

    public var kind: Kind {
        switch self {
        case .runStarted: return .runStarted
        case .step: return .step
        case .evaluation: return .evaluation
        case .samplePrediction: return .samplePrediction
        case .checkpointSaved: return .checkpointSaved
        case .warning: return .warning
        case .failed: return .failed
        case .finished: return .finished
        case .state: return .state
        case .learningRateChanged: return .learningRateChanged
        }
    }

    /// The case name, as in JSON's "type".
    public var name: String { kind.rawValue }

    /// Whether a queue may replace a pending event of this kind by a newer one.
    public var isCoalescible: Bool {
        if case .step = self { return true }
        return false
    }

    enum CodingKeys: String, CodingKey { case type, message, state }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        guard let kind = Kind(rawValue: type) else {
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "unknown event '\(type)'")
        }
        switch kind {
        case .runStarted: self = .runStarted(try RunStarted(from: decoder))
        case .step: self = .step(try StepReport(from: decoder))
        case .evaluation: self = .evaluation(try EvaluationReport(from: decoder))
        case .samplePrediction: self = .samplePrediction(try SamplePrediction(from: decoder))
        case .checkpointSaved: self = .checkpointSaved(try CheckpointSaved(from: decoder))
        case .warning: self = .warning(try c.decode(String.self, forKey: .message))
        case .failed: self = .failed(try Failure(from: decoder))
        case .finished: self = .finished(try RunSummary(from: decoder))
        case .state: self = .state(try c.decode(EngineState.self, forKey: .state))
        case .learningRateChanged: self = .learningRateChanged(try LearningRateChanged(from: decoder))
        }
    }

    /// The payload's fields and "type" share one flat JSON object.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .type)
        switch self {
        case .runStarted(let p): try p.encode(to: encoder)
        case .step(let p): try p.encode(to: encoder)
        case .evaluation(let p): try p.encode(to: encoder)
        case .samplePrediction(let p): try p.encode(to: encoder)
        case .checkpointSaved(let p): try p.encode(to: encoder)
        case .warning(let text): try c.encode(text, forKey: .message)
        case .failed(let p): try p.encode(to: encoder)
        case .finished(let p): try p.encode(to: encoder)
        case .state(let s): try c.encode(s, forKey: .state)
        case .learningRateChanged(let p): try p.encode(to: encoder)
        }
    }
}

/// What a run reports about its model: name, parameter counts and the printable layer table
/// (made from `Models.ModelSummary`, the full per-layer summary).
public struct ModelOverview: Sendable, Codable, Equatable {
    public var name: String
    public var trainableParameters: Int
    /// Batch-norm running statistics and other state that is saved but not trained.
    public var nonTrainableParameters: Int
    /// The printable layer table.
    public var table: String

    public init(name: String, trainableParameters: Int, nonTrainableParameters: Int = 0, table: String = "") {
        self.name = name
        self.trainableParameters = trainableParameters
        self.nonTrainableParameters = nonTrainableParameters
        self.table = table
    }

    enum CodingKeys: String, CodingKey {
        case name, trainableParameters = "trainable_parameters", nonTrainableParameters = "non_trainable_parameters", table
    }
}

public struct RunStarted: Sendable, Codable, Equatable {
    public var config: TrainingConfig
    public var model: ModelOverview
    /// The run directory (`runs/<time>-<model>`).
    public var runDirectory: String
    public var classNames: [String]
    public var trainSamples: Int
    public var valSamples: Int
    /// Iterations the whole run will take.
    public var totalIterations: Int
    public var iterationsPerEpoch: Int
    /// Set when the run continues from a checkpoint.
    public var resumedFromIteration: Int?

    public init(config: TrainingConfig, model: ModelOverview, runDirectory: String, classNames: [String],
                trainSamples: Int, valSamples: Int, totalIterations: Int, iterationsPerEpoch: Int,
                resumedFromIteration: Int? = nil) {
        self.config = config
        self.model = model
        self.runDirectory = runDirectory
        self.classNames = classNames
        self.trainSamples = trainSamples
        self.valSamples = valSamples
        self.totalIterations = totalIterations
        self.iterationsPerEpoch = iterationsPerEpoch
        self.resumedFromIteration = resumedFromIteration
    }

    enum CodingKeys: String, CodingKey {
        case config, model, runDirectory = "run_directory", classNames = "class_names", trainSamples = "train_samples"
        case valSamples = "val_samples", totalIterations = "total_iterations", iterationsPerEpoch = "iterations_per_epoch"
        case resumedFromIteration = "resumed_from_iteration"
    }
}

public struct StepReport: Sendable, Codable, Equatable {
    /// 1-based epoch the iteration belongs to.
    public var epoch: Int
    /// 1-based iteration count since the start of the run.
    public var iteration: Int
    public var totalIterations: Int
    /// This iteration's mean loss over its labelled pixels.
    @NullIfNaN public var loss: Double
    /// Mean loss over the epoch so far (what Keras's progress bar shows).
    @NullIfNaN public var epochLoss: Double
    /// Pixel accuracy over the epoch so far (correct / labelled pixels, pooled).
    @NullIfNaN public var pixelAccuracy: Double
    public var learningRate: Double
    /// Training images per second over the recent iterations.
    @NullIfNaN public var imagesPerSecond: Double
    /// Seconds until the whole run ends at the current pace (nil until measurable).
    public var etaSeconds: Double?
    /// Seconds since the run started.
    public var elapsedSeconds: Double

    public init(epoch: Int, iteration: Int, totalIterations: Int, loss: Double, epochLoss: Double, pixelAccuracy: Double,
                learningRate: Double, imagesPerSecond: Double, etaSeconds: Double?, elapsedSeconds: Double) {
        self.epoch = epoch
        self.iteration = iteration
        self.totalIterations = totalIterations
        self.loss = loss
        self.epochLoss = epochLoss
        self.pixelAccuracy = pixelAccuracy
        self.learningRate = learningRate
        self.imagesPerSecond = imagesPerSecond
        self.etaSeconds = etaSeconds
        self.elapsedSeconds = elapsedSeconds
    }

    enum CodingKeys: String, CodingKey {
        case epoch, iteration, totalIterations = "total_iterations", loss, epochLoss = "epoch_loss"
        case pixelAccuracy = "pixel_accuracy", learningRate = "learning_rate", imagesPerSecond = "images_per_second"
        case etaSeconds = "eta_seconds", elapsedSeconds = "elapsed_seconds"
    }
}

public struct EvaluationReport: Sendable, Codable, Equatable {
    public var epoch: Int
    /// The training iteration after which the evaluation ran.
    public var iteration: Int
    public var split: String
    /// Pooled over every labelled pixel of the split.
    public var metrics: SegmentationMetrics
    public var classNames: [String]
    public var confusion: ConfusionMatrix
    /// Per-image scores, worst first (for "sort by how badly segmented").
    public var imageScores: [ImageScore]
    /// Mean validation loss when the session computes it (not written when not finite).
    @OmittedIfNotFinite public var loss: Double?
    public var mode: InferenceMode
    public var seconds: Double
    /// Whether this evaluation set a new best mIoU.
    public var isBest: Bool

    public init(epoch: Int, iteration: Int, split: String, metrics: SegmentationMetrics, classNames: [String],
                confusion: ConfusionMatrix, imageScores: [ImageScore], loss: Double?, mode: InferenceMode, seconds: Double,
                isBest: Bool) {
        self.epoch = epoch
        self.iteration = iteration
        self.split = split
        self.metrics = metrics
        self.classNames = classNames
        self.confusion = confusion
        self.imageScores = imageScores
        self.loss = loss
        self.mode = mode
        self.seconds = seconds
        self.isBest = isBest
    }

    enum CodingKeys: String, CodingKey {
        case epoch, iteration, split, metrics, classNames = "class_names", confusion, imageScores = "image_scores"
        case loss, mode, seconds, isBest = "is_best"
    }
}

public struct SamplePrediction: Sendable, Codable, Equatable {
    public var sampleID: String
    /// The iteration whose weights made the prediction.
    public var iteration: Int
    /// Class index per pixel, the sample's full size. JSON: width, height and base64 bytes.
    public var prediction: LabelMap
    public var score: ImageScore

    public init(sampleID: String, iteration: Int, prediction: LabelMap, score: ImageScore) {
        self.sampleID = sampleID
        self.iteration = iteration
        self.prediction = prediction
        self.score = score
    }

    enum CodingKeys: String, CodingKey { case sampleID = "sample_id", iteration, width, height, mask, score }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        sampleID = try c.decode(String.self, forKey: .sampleID)
        iteration = try c.decode(Int.self, forKey: .iteration)
        let width = try c.decode(Int.self, forKey: .width), height = try c.decode(Int.self, forKey: .height)
        let mask = try c.decode(Data.self, forKey: .mask)
        guard width >= 0, height >= 0, mask.count == width * height else {
            throw DecodingError.dataCorruptedError(forKey: .mask, in: c,
                debugDescription: "a \(width)x\(height) mask needs \(width * height) bytes, got \(mask.count)")
        }
        prediction = LabelMap(width: width, height: height, values: [UInt8](mask))
        score = try c.decode(ImageScore.self, forKey: .score)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sampleID, forKey: .sampleID)
        try c.encode(iteration, forKey: .iteration)
        try c.encode(prediction.width, forKey: .width)
        try c.encode(prediction.height, forKey: .height)
        try c.encode(Data(prediction.values), forKey: .mask)
        try c.encode(score, forKey: .score)
    }
}

public struct CheckpointSaved: Sendable, Codable, Equatable {
    /// The weights file written (`…/checkpoints/last.safetensors` or `best.safetensors`).
    public var path: String
    public var kind: CheckpointKind
    public var iteration: Int
    /// Whether this checkpoint holds the best validation mIoU so far.
    public var isBest: Bool
    /// The validation mIoU of these weights, when evaluated.
    public var mIoU: Double?

    public init(path: String, kind: CheckpointKind, iteration: Int, isBest: Bool, mIoU: Double?) {
        self.path = path
        self.kind = kind
        self.iteration = iteration
        self.isBest = isBest
        self.mIoU = mIoU
    }

    enum CodingKeys: String, CodingKey { case path, kind, iteration, isBest = "is_best", mIoU }
}

/// The base learning rate changed: from iteration `iteration + 1` on it is `to` (the schedule's
/// factor still applies), recorded in the run's `lr_changes` as `iteration:to`.
public struct LearningRateChanged: Sendable, Codable, Equatable {
    /// The last iteration trained at `from` (0: before the first).
    public var iteration: Int
    public var from: Double
    public var to: Double
    /// Whether the engine replayed it from the config's `lr_changes` (else a command made it).
    public var replayed: Bool

    public init(iteration: Int, from: Double, to: Double, replayed: Bool = false) {
        self.iteration = iteration
        self.from = from
        self.to = to
        self.replayed = replayed
    }
}

public struct Failure: Sendable, Codable, Equatable, Error, CustomStringConvertible {
    public var message: String
    /// The iteration at which it happened, when a run was in progress.
    public var iteration: Int?

    public init(message: String, iteration: Int? = nil) {
        self.message = message
        self.iteration = iteration
    }

    public var description: String { message }
}

public struct RunSummary: Sendable, Codable, Equatable {
    public enum Reason: String, Sendable, Codable, Equatable {
        /// All iterations done.
        case completed
        /// A stop or shutdown command.
        case stopped
        /// Early stopping: val mIoU did not improve for `patience` evaluations.
        case earlyStopped = "early_stopped"
        case failed
    }

    public var reason: Reason
    public var iterations: Int
    public var epochs: Int
    public var bestMIoU: Double?
    public var bestIteration: Int?
    public var lastMIoU: Double?
    public var seconds: Double
    public var runDirectory: String

    public init(reason: Reason, iterations: Int, epochs: Int, bestMIoU: Double?, bestIteration: Int?,
                lastMIoU: Double?, seconds: Double, runDirectory: String) {
        self.reason = reason
        self.iterations = iterations
        self.epochs = epochs
        self.bestMIoU = bestMIoU
        self.bestIteration = bestIteration
        self.lastMIoU = lastMIoU
        self.seconds = seconds
        self.runDirectory = runDirectory
    }

    enum CodingKeys: String, CodingKey {
        case reason, iterations, epochs, bestMIoU = "best_mIoU", bestIteration = "best_iteration"
        case lastMIoU = "last_mIoU", seconds, runDirectory = "run_directory"
    }
}

/// JSON lines for `--events jsonl`, `metrics.jsonl` and a future detached engine: one compact
/// object per line, keys sorted, non-finite numbers written as `null`.
public enum MessageCoding {
    public static func jsonLine<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, jsonLine line: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(line.utf8))
    }
}
