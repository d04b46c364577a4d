import Datasets
import Foundation
import Training

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
}

/// What the compare view knows about a past run's saved predictions.
public enum SavedPredictionsState: Sendable {
    case loading
    case loaded(SavedEvaluation)
    case failed(String)
}

public enum SavedPredictions {
    /// Reads the latest saved evaluation of the run in `directory`: `predictions/index.json`,
    /// that evaluation's `index.json`, and its masks through `ImageCodec`. A missing or damaged
    /// index is an error naming the file; a damaged mask is a problem line, not an error.
    public static func readLatest(runDirectory directory: URL) throws -> SavedEvaluation {
        let root = directory.appendingPathComponent("predictions")
        let indexURL = root.appendingPathComponent("index.json")
        guard FileManager.default.fileExists(atPath: indexURL.path) else {
            throw MessageError("no saved predictions: \(indexURL.path) is missing (runs save them at each evaluation; this run predates that or never evaluated)")
        }
        let index: PredictionIndex
        do {
            index = try JSONDecoder().decode(PredictionIndex.self, from: Data(contentsOf: indexURL))
        } catch {
            throw MessageError("cannot read the saved predictions: \(indexURL.path) is damaged (\(describe(error)))")
        }
        guard let latest = index.evaluations.max(by: { $0.iteration < $1.iteration }) else {
            throw MessageError("no saved predictions: \(indexURL.path) lists no evaluation")
        }
        let folderName = (latest.directory as NSString).lastPathComponent  // never leave predictions/
        let folder = root.appendingPathComponent(folderName)
        let setURL = folder.appendingPathComponent("index.json")
        let set: PredictionSet
        do {
            set = try JSONDecoder().decode(PredictionSet.self, from: Data(contentsOf: setURL))
        } catch {
            throw MessageError("cannot read the saved predictions of iteration \(latest.iteration): \(setURL.path) is missing or damaged (\(describe(error)))")
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
                guard png.kind != .rgb else { throw MessageError("an RGB PNG, expected class indices (paletted or gray)") }
                guard png.width == entry.width, png.height == entry.height, png.samples.count == png.width * png.height else {
                    throw MessageError("\(png.width)×\(png.height), the index says \(entry.width)×\(entry.height)")
                }
                predictions.append(SamplePrediction(sampleID: entry.id, iteration: set.iteration,
                                                    prediction: LabelMap(width: png.width, height: png.height, values: png.samples),
                                                    score: score))
            } catch {
                problems.append("\(url.path): \(describe(error))")
            }
        }
        return SavedEvaluation(runDirectory: directory.path, iteration: set.iteration, epoch: set.epoch, mIoU: set.mIoU,
                               isBest: set.isBest, scores: scores, predictions: predictions, problems: problems)
    }

    static func describe(_ error: Error) -> String {
        if let e = error as? MessageError { return e.description }
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
