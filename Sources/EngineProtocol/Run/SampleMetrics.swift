import Foundation

/// One evaluated sample's figures, as `predictions/<iteration>/samples.json` keeps them for every
/// sample the evaluation scored (not only the few whose masks are saved).
public struct SampleMetrics: Codable, Sendable, Equatable {
    public var id: String
    /// Mean IoU over the classes present in this image's truth or prediction; NaN (`null`) when
    /// the image has no labelled pixel.
    @NullIfNaN public var mIoU: Double
    /// Correct / labelled pixels.
    @NullIfNaN public var pixelAccuracy: Double
    /// Labelled (non-void) pixels.
    public var pixels: Int
    /// Label quality, cleanlab's segmentation score (`method="softmin"`, temperature 0.1): the
    /// softmin-weighted mean over labelled pixels of the predicted probability of the given
    /// label. Near 0: the model is confident the label is wrong somewhere; near 1: it agrees
    /// everywhere. NaN when no pixel is labelled (D-188).
    @NullIfNaN public var labelQuality: Double
    /// The image's off-diagonal confusion cells as `[truth, predicted, pixels]`, most pixels first.
    public var confusions: [[Int]]

    public init(id: String, mIoU: Double, pixelAccuracy: Double, pixels: Int, labelQuality: Double, confusions: [[Int]] = []) {
        self.id = id
        self.mIoU = mIoU
        self.pixelAccuracy = pixelAccuracy
        self.pixels = pixels
        self.labelQuality = labelQuality
        self.confusions = confusions
    }

    /// Pixels of truth class `truth` predicted as `predicted` (0 when none).
    public func confused(truth: Int, predicted: Int) -> Int {
        confusions.first { $0.count == 3 && $0[0] == truth && $0[1] == predicted }?[2] ?? 0
    }

    /// The off-diagonal cells of a per-image confusion matrix, most pixels first (ties by cell).
    public static func confusionCells(_ matrix: ConfusionMatrix) -> [[Int]] {
        let n = matrix.classCount
        var cells: [[Int]] = []
        for t in 0..<n {
            for p in 0..<n where p != t {
                let c = matrix.counts[t * n + p]
                if c > 0 { cells.append([t, p, c]) }
            }
        }
        return cells.sorted { $0[2] != $1[2] ? $0[2] > $1[2] : ($0[0], $0[1]) < ($1[0], $1[1]) }
    }

    /// The temperature of cleanlab's softmin (its default).
    public static let softminTemperature = 0.1

    /// Cleanlab's softmin pooling of per-pixel self-confidences `p` (each in 0…1):
    /// `Σ pᵢ·wᵢ / Σ wᵢ` with `wᵢ = exp(−pᵢ / T)`; NaN for no pixel.
    public static func softmin(_ p: [Double], temperature: Double = softminTemperature) -> Double {
        guard !p.isEmpty else { return .nan }
        let low = p.min()!
        var num = 0.0, den = 0.0
        for v in p {
            let w = exp(-(v - low) / temperature)  // shifted by the minimum: same ratio, no underflow
            num += v * w
            den += w
        }
        return num / den
    }

    enum CodingKeys: String, CodingKey {
        case id, mIoU, pixelAccuracy = "pixel_accuracy", pixels, labelQuality = "label_quality", confusions
    }
}

/// `predictions/<iteration>/samples.json`: every sample an evaluation scored.
public struct SampleMetricsFile: Codable, Sendable, Equatable {
    public static let fileName = "samples.json"
    public static let currentVersion = 1
    public var version: Int
    public var iteration: Int
    public var epoch: Int
    public var split: String
    /// Class names, so a reader can name confusion cells without the dataset.
    public var classNames: [String]
    /// How `label_quality` was computed.
    public var labelQualityMethod: String
    /// In the order the evaluation visited them.
    public var samples: [SampleMetrics]

    public init(iteration: Int, epoch: Int, split: String, classNames: [String], samples: [SampleMetrics]) {
        version = Self.currentVersion
        self.iteration = iteration
        self.epoch = epoch
        self.split = split
        self.classNames = classNames
        labelQualityMethod = "softmin self-confidence, T=\(SampleMetrics.softminTemperature)"
        self.samples = samples
    }

    enum CodingKeys: String, CodingKey {
        case version, iteration, epoch, split, classNames = "class_names", labelQualityMethod = "label_quality_method", samples
    }
}

extension RunArchive {
    /// Reads `predictions/<iteration>/samples.json` of the run in `directory` (nil: the latest
    /// kept evaluation). Every failure is an `ArchiveError` naming the file and what is wrong.
    public static func sampleMetrics(runDirectory directory: URL, iteration: Int? = nil) throws -> SampleMetricsFile {
        let layout = RunLayout(directory)
        let indexURL = layout.predictionIndexURL
        guard FileManager.default.fileExists(atPath: indexURL.path) else {
            throw ArchiveError("no per-sample metrics: \(indexURL.path) is missing (the run never evaluated, or predates saved predictions)")
        }
        let index: PredictionIndex
        do {
            index = try JSONDecoder().decode(PredictionIndex.self, from: Data(contentsOf: indexURL))
        } catch {
            throw ArchiveError("cannot read the per-sample metrics: \(indexURL.path) is damaged (\(describe(error)))")
        }
        let chosen = iteration.flatMap { i in index.evaluations.first { $0.iteration == i } }
            ?? (iteration == nil ? index.evaluations.max { $0.iteration < $1.iteration } : nil)
        guard let evaluation = chosen else {
            throw ArchiveError(iteration.map { "no per-sample metrics of iteration \($0): \(indexURL.path) does not list it" }
                               ?? "no per-sample metrics: \(indexURL.path) lists no evaluation")
        }
        let url = layout.predictionFolderURL(named: evaluation.directory).appendingPathComponent(SampleMetricsFile.fileName)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ArchiveError("no per-sample metrics of iteration \(evaluation.iteration): \(url.path) is missing (written by evaluations since D-188)")
        }
        let file: SampleMetricsFile
        do {
            file = try JSONDecoder().decode(SampleMetricsFile.self, from: Data(contentsOf: url))
        } catch {
            throw ArchiveError("cannot read the per-sample metrics: \(url.path) is damaged (\(describe(error)))")
        }
        guard file.version <= SampleMetricsFile.currentVersion else {
            throw ArchiveError("\(url.path): version \(file.version) is newer than this segscope reads (\(SampleMetricsFile.currentVersion))")
        }
        return file
    }
}
