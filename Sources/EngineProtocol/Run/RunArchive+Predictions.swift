import Datasets
import Foundation

/// The saved sample predictions of one evaluation of a past run (`predictions/<iteration>/`),
/// read for the compare view.
public struct SavedEvaluation: Sendable {
    /// The run directory they were read from.
    public var runDirectory: String
    public var iteration: Int
    public var epoch: Int
    /// Pooled mIoU of that evaluation (nil when undefined).
    public var mIoU: Double?
    public var isBest: Bool
    /// One score per saved sample, in the order of the index.
    public var scores: [ImageScore]
    /// The masks that could be read (a sample whose PNG is damaged has a score but no mask).
    public var predictions: [SamplePrediction]
    /// What could not be read, one line per sample.
    public var problems: [String]
    /// Every evaluation whose predictions the run kept (its `predictions/index.json`), oldest first.
    public var saved: [PredictionIndex.Evaluation] = []
    /// The kept evaluation with the best pooled mIoU (the index's `best_iteration`).
    public var bestIteration: Int?
    /// Every sample the evaluation scored, from its `samples.json` (D-188), in its order; nil
    /// when the folder has none (runs before D-188) or it cannot be read (then in `problems`).
    public var scoredSamples: [ImageScore]? = nil

    /// What worst-first ranks: every scored sample when known, else the saved ones.
    public var rankedScores: [ImageScore] { scoredSamples ?? scores }

    /// The newest kept evaluation.
    public var latestIteration: Int? { saved.map(\.iteration).max() }
    /// Position of this evaluation among the kept ones (0 = oldest).
    public var position: Int? { saved.firstIndex { $0.iteration == iteration } }
}

extension RunArchive {
    /// Reads one saved evaluation of the run in `directory` (nil: the latest): `predictions/index.json`,
    /// that evaluation's `index.json`, and its masks through `ImageCodec`. A missing or damaged
    /// index is an error naming the file; a damaged mask is a problem line, not an error.
    public static func savedEvaluation(runDirectory directory: URL, iteration: Int? = nil) throws -> SavedEvaluation {
        let layout = RunLayout(directory)
        let indexURL = layout.predictionIndexURL
        guard FileManager.default.fileExists(atPath: indexURL.path) else {
            throw ArchiveError("no saved predictions: \(indexURL.path) is missing (runs save them at each evaluation; this run predates that or never evaluated)")
        }
        let index: PredictionIndex
        do {
            index = try JSONDecoder().decode(PredictionIndex.self, from: Data(contentsOf: indexURL))
        } catch {
            throw ArchiveError("cannot read the saved predictions: \(indexURL.path) is damaged (\(describe(error)))")
        }
        guard let newest = index.evaluations.max(by: { $0.iteration < $1.iteration }) else {
            throw ArchiveError("no saved predictions: \(indexURL.path) lists no evaluation")
        }
        var latest = newest
        if let iteration {
            guard let wanted = index.evaluations.first(where: { $0.iteration == iteration }) else {
                throw ArchiveError("no saved predictions of iteration \(iteration): \(indexURL.path) lists "
                                   + index.evaluations.map { String($0.iteration) }.joined(separator: ", "))
            }
            latest = wanted
        }
        let folder = layout.predictionFolderURL(named: latest.directory)  // never leaves predictions/
        let setURL = folder.appendingPathComponent(RunLayout.indexName)
        let set: PredictionSet
        do {
            set = try JSONDecoder().decode(PredictionSet.self, from: Data(contentsOf: setURL))
        } catch {
            throw ArchiveError("cannot read the saved predictions of iteration \(latest.iteration): \(setURL.path) is missing or damaged (\(describe(error)))")
        }
        var scores: [ImageScore] = []
        var predictions: [SamplePrediction] = []
        var problems: [String] = []
        for entry in set.samples {
            let score = ImageScore(id: entry.id, mIoU: entry.mIoU ?? .nan, pixelAccuracy: entry.pixelAccuracy ?? .nan,
                                   pixels: entry.pixels)
            scores.append(score)
            let url = folder.appendingPathComponent((entry.mask as NSString).lastPathComponent)
            do {
                let png = try ImageCodec.readPNG(url)
                guard png.kind != .rgb else { throw ArchiveError("an RGB PNG, expected class indices (paletted or gray)") }
                guard png.width == entry.width, png.height == entry.height, png.samples.count == png.width * png.height else {
                    throw ArchiveError("\(png.width)×\(png.height), the index says \(entry.width)×\(entry.height)")
                }
                predictions.append(SamplePrediction(sampleID: entry.id, iteration: set.iteration,
                                                    prediction: LabelMap(width: png.width, height: png.height, values: png.samples),
                                                    score: score))
            } catch {
                problems.append("\(url.path): \(describe(error))")
            }
        }
        let scored = scoredSamples(in: folder, problems: &problems)
        let listed = index.evaluations.sorted { $0.iteration < $1.iteration }
        return SavedEvaluation(runDirectory: directory.path, iteration: set.iteration, epoch: set.epoch, mIoU: set.mIoU,
                               isBest: set.isBest, scores: scores, predictions: predictions, problems: problems,
                               saved: listed, bestIteration: bestIteration(listed, named: index.bestIteration),
                               scoredSamples: scored)
    }

    /// The scores of every sample in an evaluation folder's `samples.json`; nil when absent,
    /// and a problem line (the saved images are ranked instead) when it cannot be read.
    static func scoredSamples(in folder: URL, problems: inout [String]) -> [ImageScore]? {
        let url = folder.appendingPathComponent(SampleMetricsFile.fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            let file = try JSONDecoder().decode(SampleMetricsFile.self, from: Data(contentsOf: url))
            guard file.version <= SampleMetricsFile.currentVersion else {
                throw ArchiveError("version \(file.version) is newer than this segscope reads (\(SampleMetricsFile.currentVersion))")
            }
            return file.samples.map { ImageScore(id: $0.id, mIoU: $0.mIoU, pixelAccuracy: $0.pixelAccuracy, pixels: $0.pixels) }
        } catch {
            problems.append("\(url.path): \(describe(error)); worst first ranks the saved images only")
            return nil
        }
    }

    /// The index's best iteration when it lists that evaluation, else the listed one with the
    /// highest mIoU (the later one on a tie).
    static func bestIteration(_ listed: [PredictionIndex.Evaluation], named: Int?) -> Int? {
        if let named, listed.contains(where: { $0.iteration == named }) { return named }
        return listed.filter { $0.mIoU != nil }.max { ($0.mIoU ?? 0, $0.iteration) < ($1.mIoU ?? 0, $1.iteration) }?.iteration
    }

    static func describe(_ error: Error) -> String {
        if let e = error as? ArchiveError { return e.description }
        if let e = error as? DecodingError {
            switch e {
            case .dataCorrupted(let c): return c.debugDescription
            case .keyNotFound(let k, _): return "no \"\(k.stringValue)\""
            case .typeMismatch(_, let c), .valueNotFound(_, let c):
                return "\(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
            @unknown default: return "\(e)"
            }
        }
        if error is CocoaError { return error.localizedDescription }
        return String(describing: error)
    }
}
