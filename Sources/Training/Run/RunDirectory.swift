import Foundation
import NN

/// What a session hands the engine to save: the model's `state_dict` (parameters and buffers,
/// PyTorch names) and what exact resumption needs besides (optimizer moments, RNG state, loader
/// position), as tensors and strings.
public struct Checkpoint: Sendable {
    public var weights: [SafetensorsTensor]
    /// Optimizer state and other tensors needed to resume; names must not clash with `weights`
    /// (e.g. `optimizer.<param>.exp_avg`).
    public var trainingState: [SafetensorsTensor]
    /// Strings saved with the checkpoint (RNG state, loader position, …).
    public var metadata: [String: String]

    public init(weights: [SafetensorsTensor], trainingState: [SafetensorsTensor] = [], metadata: [String: String] = [:]) {
        self.weights = weights
        self.trainingState = trainingState
        self.metadata = metadata
    }
}

/// Metadata keys the engine writes into every checkpoint.
public enum CheckpointKey {
    public static let iteration = "segscope.iteration"
    public static let epoch = "segscope.epoch"
    public static let model = "segscope.model"
    public static let config = "segscope.config"
    public static let mIoU = "segscope.mIoU"
    public static let bestMIoU = "segscope.best_mIoU"
    public static let bestIteration = "segscope.best_iteration"
    public static let evaluationsSinceBest = "segscope.evaluations_since_best"
    public static let baseLearningRate = "segscope.base_lr"
}

/// Writes one run's directory (file names: `RunLayout`, which the readers share). Every
/// whole-file write goes through a temporary file that is synced and renamed; the two logs are
/// appended and synced at every evaluation.
public final class RunDirectory {
    public let url: URL
    public let metrics: AppendFile
    public let tensorBoard: TensorBoardWriter

    /// The file names inside `url`.
    public let layout: RunLayout

    public var configURL: URL { layout.configURL }
    public var metricsURL: URL { layout.metricsURL }
    public var checkpointsURL: URL { layout.checkpointsURL }
    public var predictionsURL: URL { layout.predictionsURL }

    public typealias CheckpointKind = EngineProtocol.CheckpointKind

    public func weightsURL(_ kind: CheckpointKind) -> URL { layout.weightsURL(kind) }
    public var resumeURL: URL { layout.resumeURL }

    /// The directory name for a run started at `date` (UTC): `RunLayout.name`.
    public static func name(model: String, date: Date) -> String { RunLayout.name(model: model, date: date) }

    /// Creates a new run directory under `root` (a `-2`, `-3`, … suffix when the name is taken).
    public static func create(root: URL, model: String, date: Date = Date()) throws -> RunDirectory {
        let base = name(model: model, date: date)
        do {
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        } catch {
            throw FileIOError(path: root.path, operation: "create the runs directory", code: errnoOf(error), reason: error.localizedDescription)
        }
        var candidate = root.appendingPathComponent(base)
        var n = 2
        while mkdir(candidate.path, 0o755) != 0 {
            guard errno == EEXIST else { throw FileIOError(path: candidate.path, operation: "create the run directory", code: errno) }
            candidate = root.appendingPathComponent("\(base)-\(n)")
            n += 1
        }
        return try RunDirectory(existing: candidate)
    }

    /// Opens an existing run directory to continue it (logs are appended to). Resuming at
    /// `resumingAt` (the checkpoint's iteration) first removes what a killed process left behind:
    /// half-written `.*.tmp-*` files of atomic writes, and metrics.jsonl records of iterations
    /// after the checkpoint (they are logged again by the resumed run; kept, they doubled).
    public init(existing url: URL, resumingAt iteration: Int? = nil) throws {
        self.url = url
        layout = RunLayout(url)
        for dir in [layout.checkpointsURL, layout.predictionsURL] {
            do {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            } catch {
                throw FileIOError(path: dir.path, operation: "create", code: errnoOf(error), reason: error.localizedDescription)
            }
        }
        if let iteration {
            Self.removeStaleTemporaries(in: url)
            Self.removeStaleTemporaries(in: layout.checkpointsURL)
            try Self.truncateMetrics(layout.metricsURL, after: iteration)
        }
        metrics = try AppendFile(url: layout.metricsURL)
        tensorBoard = try TensorBoardWriter(directory: url)
    }

    /// Removes `.<name>.tmp-XXXXXX` files (`AtomicFile`'s temporaries) in `directory`: only a
    /// process killed mid-write leaves one, and only one process writes a run directory.
    /// Returns the names removed.
    @discardableResult
    public static func removeStaleTemporaries(in directory: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var removed: [String] = []
        for name in names where name.hasPrefix(".") && name.range(of: ".tmp-") != nil {
            if unlink(directory.appendingPathComponent(name).path) == 0 { removed.append(name) }
        }
        return removed.sorted()
    }

    /// Rewrites `metrics.jsonl` (atomically) without records of iterations after `iteration`
    /// and without a torn last line. Returns how many lines were dropped.
    @discardableResult
    public static func truncateMetrics(_ url: URL, after iteration: Int) throws -> Int {
        guard let data = FileManager.default.contents(atPath: url.path) else { return 0 }
        var kept = Data()
        var dropped = 0
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                dropped += 1
                continue
            }
            if let at = object["iteration"] as? Int, at > iteration {
                dropped += 1
                continue
            }
            kept.append(contentsOf: line)
            kept.append(UInt8(ascii: "\n"))
        }
        if dropped > 0 { try AtomicFile.write(kept, to: url) }
        return dropped
    }

    /// The run directory that holds a `checkpoints/last.resume.safetensors`.
    public static func owning(checkpoint: URL) -> URL { RunLayout.owning(checkpoint: checkpoint) }

    public func writeConfig(_ config: TrainingConfig) throws {
        try config.save(to: configURL, header: "Segscope training configuration of this run.\nRerun: segscope train --config \(configURL.path)")
    }

    /// Appends a step to metrics.jsonl and TensorBoard (flushed at the next evaluation).
    public func log(step: StepReport) throws {
        metrics.append(line: try MessageCoding.jsonLine(EngineEvent.step(step)))
        tensorBoard.add(scalars: [("train/loss", step.loss), ("train/pixel_accuracy", step.pixelAccuracy),
                                  ("train/learning_rate", step.learningRate), ("train/images_per_second", step.imagesPerSecond)],
                        step: step.iteration)
    }

    /// Appends a learning-rate change to metrics.jsonl (flushed at once) and, when given, rewrites
    /// config.toml with the configuration that records it (atomically, as every config write).
    public func log(learningRateChange change: LearningRateChanged, config: TrainingConfig?) throws {
        metrics.append(line: try MessageCoding.jsonLine(EngineEvent.learningRateChanged(change)))
        try metrics.flush()
        if let config { try writeConfig(config) }
    }

    /// Appends an evaluation and flushes both logs to disk.
    public func log(evaluation e: EvaluationReport) throws {
        metrics.append(line: try MessageCoding.jsonLine(EngineEvent.evaluation(e)))
        var scalars: [(tag: String, value: Double)] = [
            ("val/mIoU", e.metrics.mIoU), ("val/aAcc", e.metrics.aAcc), ("val/mAcc", e.metrics.mAcc),
            ("val/mDice", e.metrics.mDice), ("val/fwIoU", e.metrics.fwIoU),
        ]
        if let loss = e.loss { scalars.append(("val/loss", loss)) }
        for (c, iou) in e.metrics.classIoU.enumerated() {
            let name = c < e.classNames.count ? e.classNames[c] : "class\(c)"
            scalars.append(("val_IoU/\(name)", iou))
        }
        tensorBoard.add(scalars: scalars, step: e.iteration)
        try flush()
    }

    public func flush() throws {
        try metrics.flush()
        try tensorBoard.flush()
    }

    /// Writes `last` (weights and the resume file) or `best` (weights), each atomically.
    /// Returns the weights file.
    @discardableResult
    public func save(_ checkpoint: Checkpoint, kind: CheckpointKind, metadata: [String: String]) throws -> URL {
        var meta = checkpoint.metadata
        for (k, v) in metadata { meta[k] = v }
        meta["format"] = "pt"
        let weights = weightsURL(kind)
        if kind == .last {
            // The resume file first: if the process dies between the two renames, the weights
            // file is the older one, and both files are complete and loadable.
            try Safetensors.write(checkpoint.weights + checkpoint.trainingState, metadata: meta, to: resumeURL)
        }
        try Safetensors.write(checkpoint.weights, metadata: meta, to: weights)
        return weights
    }
}

func errnoOf(_ error: Error) -> Int32 {
    let ns = error as NSError
    if ns.domain == NSPOSIXErrorDomain { return Int32(ns.code) }
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return Int32(underlying.code)
    }
    return EIO
}
