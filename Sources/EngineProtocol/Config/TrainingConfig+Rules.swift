import Datasets
import Foundation

// Rules that more than one front applies, each written once here.

/// The learning rates a run accepts: the config key `lr`, the engine's `setLearningRate` and the
/// cockpit's prompt all ask `allows`, and say `allowed` when it refuses.
public enum LearningRateLimit {
    public static func allows(_ lr: Double) -> Bool { lr.isFinite && lr > 0 && lr <= 10 }
    public static let allowed = "a number > 0 and ≤ 10"
}

extension TrainingConfig {
    /// The dataset a config names: `data` empty means the demo set in the user's cache (made on
    /// first use, read as the demo set); otherwise the directory (`~` expanded) read as `format`.
    public static func openDataset(_ data: String, format: DatasetFormat) throws -> any SegmentationDataset {
        try openDataset(data, format: format, options: DatasetOptions())
    }

    /// `openDataset(_:format:)` with the labels read as `options` says.
    public static func openDataset(_ data: String, format: DatasetFormat, options: DatasetOptions) throws -> any SegmentationDataset {
        if data.isEmpty { return try DatasetLoader.open(try DemoDataset.ensureDefault(), format: .demo, options: options) }
        return try DatasetLoader.open(URL(fileURLWithPath: (data as NSString).expandingTildeInPath), format: format, options: options)
    }

    /// The dataset this config trains on, its labels read as `datasetOptions` says.
    public func openDataset() throws -> any SegmentationDataset {
        try Self.openDataset(data, format: format, options: datasetOptions)
    }
}

extension TrainingConfig {
    /// The config with its file paths (`data`, `backbone_weights`, `resume`) made
    /// absolute against `directory` (`~` expanded), so that the copy saved in the run directory
    /// still names the same files when eval or resume runs from another directory.
    public func resolvingPaths(relativeTo directory: String = FileManager.default.currentDirectoryPath) -> TrainingConfig {
        func absolute(_ path: String) -> String {
            if path.isEmpty { return path }
            let expanded = (path as NSString).expandingTildeInPath
            if expanded.hasPrefix("/") { return (expanded as NSString).standardizingPath }
            return ((directory as NSString).appendingPathComponent(expanded) as NSString).standardizingPath
        }
        var config = self
        config.data = absolute(data)
        config.backboneWeights = absolute(backboneWeights)
        config.resume = absolute(resume)
        return config
    }
}
