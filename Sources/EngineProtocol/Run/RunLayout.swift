import Foundation

/// Which weights file of a run: `checkpoints/last` or `checkpoints/best`.
public enum CheckpointKind: String, Sendable, Codable { case last, best }

/// The file names of one run directory, `runs/<yyyyMMdd-HHmmss>-<model>/`: the one table its
/// writer (Training's `RunDirectory`) and its readers (`RunArchive`, the terminal front) share.
///
///     config.toml                       the configuration, every key with a comment
///     metrics.jsonl                     one JSON object per step and per evaluation (the events)
///     events.out.tfevents.<time>.<host> TensorBoard scalars
///     checkpoints/last.safetensors      latest weights (PyTorch state_dict names; loads in PyTorch)
///     checkpoints/last.resume.safetensors  weights + optimizer / RNG state for exact resume
///     checkpoints/best.safetensors      weights with the best val mIoU
///     predictions/index.json            the kept evaluations' sample predictions (`PredictionIndex`)
///     predictions/<%06d iteration>/     one evaluation's masks and overlays (`PredictionSet`)
///     engine.sock                       while the run's process lives: its Unix socket (`EngineServer`)
///     engine.log                        a run started from the terminal front: its process's stderr
public struct RunLayout: Sendable, Equatable {
    public let url: URL

    public init(_ url: URL) { self.url = url }

    public static let configName = "config.toml"
    public static let metricsName = "metrics.jsonl"
    public static let checkpointsName = "checkpoints"
    public static let predictionsName = "predictions"
    public static let indexName = "index.json"
    /// The socket a live run serves its events and takes commands on (`EngineServer`).
    public static let socketName = "engine.sock"
    /// The stderr of a run's process started by the terminal front (`DetachedEngine`).
    public static let engineLogName = "engine.log"

    public var configURL: URL { url.appendingPathComponent(Self.configName) }
    public var metricsURL: URL { url.appendingPathComponent(Self.metricsName) }
    public var checkpointsURL: URL { url.appendingPathComponent(Self.checkpointsName) }
    public var predictionsURL: URL { url.appendingPathComponent(Self.predictionsName) }
    public var predictionIndexURL: URL { predictionsURL.appendingPathComponent(Self.indexName) }
    public var socketURL: URL { url.appendingPathComponent(Self.socketName) }
    public var engineLogURL: URL { url.appendingPathComponent(Self.engineLogName) }

    public func weightsURL(_ kind: CheckpointKind) -> URL { checkpointsURL.appendingPathComponent("\(kind.rawValue).safetensors") }
    public var resumeURL: URL { checkpointsURL.appendingPathComponent("last.resume.safetensors") }

    /// The folder name of the evaluation at `iteration` under `predictions/`.
    public static func predictionFolder(iteration: Int) -> String { String(format: "%06d", iteration) }

    /// The folder of a saved evaluation as its index names it; only the last path component is
    /// used, so a damaged or hostile index never leads a reader out of `predictions/`.
    public func predictionFolderURL(named directory: String) -> URL {
        predictionsURL.appendingPathComponent((directory as NSString).lastPathComponent)
    }

    /// The directory name for a run of `model` started at `date` (UTC).
    public static func name(model: String, date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        let safeModel = String(model.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
        return "\(formatter.string(from: date))-\(safeModel)"
    }

    /// `20261121-170000-xunet` → `xunet` (what `name(model:date:)` makes); nil for other names.
    public static func model(fromName name: String) -> String? {
        let parts = name.split(separator: "-", maxSplits: 2)
        return parts.count == 3 && parts[0].count == 8 && parts[1].count == 6 ? String(parts[2]) : nil
    }

    /// The run directory that holds a `checkpoints/last.resume.safetensors`.
    public static func owning(checkpoint: URL) -> URL {
        checkpoint.deletingLastPathComponent().deletingLastPathComponent()
    }
}
