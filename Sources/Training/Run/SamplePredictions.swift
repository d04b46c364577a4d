import Datasets
import Foundation
import NN

/// One validation sample as an evaluation predicted it, kept to be saved under `predictions/`.
public struct EvaluatedSample: Sendable {
    public var id: String
    public var image: RGBImage
    public var truth: LabelMap
    public var prediction: LabelMap
    public var score: ImageScore

    public init(id: String, image: RGBImage, truth: LabelMap, prediction: LabelMap, score: ImageScore) {
        self.id = id
        self.image = image
        self.truth = truth
        self.prediction = prediction
        self.score = score
    }
}

extension RunDirectory {
    /// Validation samples saved at each evaluation.
    public static let predictionSampleCount = 8

    public var predictionIndexURL: URL { layout.predictionIndexURL }

    /// The folder name of the evaluation at `iteration` (`RunLayout.predictionFolder`).
    public static func predictionFolder(iteration: Int) -> String { RunLayout.predictionFolder(iteration: iteration) }

    /// A file-name stem for a sample id (ids of folder datasets may hold `/`).
    static func fileStem(_ id: String) -> String {
        String(id.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
    }

    /// The iterations whose prediction folders stay when `keep` (> 0) are kept: the last `keep`
    /// of `iterations` and `best`, when it is one of them. `keep` ≤ 0 keeps them all.
    public static func predictionIterationsToKeep(_ iterations: [Int], best: Int?, keep: Int) -> Set<Int> {
        guard keep > 0 else { return Set(iterations) }
        var kept = Set(iterations.sorted().suffix(keep))
        if let best, iterations.contains(best) { kept.insert(best) }
        return kept
    }

    /// Writes one evaluation's sample predictions (masks and overlays in `palette`, the
    /// dataset's colours) and updates `predictions/index.json`.
    /// With `keep` > 0, only the folders of the best evaluation and of the last `keep` ones
    /// stay: the index is rewritten without the others first, then their folders (and any
    /// `%06d` folder the index does not list) are removed. Returns the evaluation's folder.
    @discardableResult
    public func writePredictions(_ samples: [EvaluatedSample], iteration: Int, epoch: Int, split: String,
                                 mIoU: Double, isBest: Bool, keep: Int = 0, metrics: SampleMetricsFile? = nil,
                                 palette: [RGB] = Palette.voc) throws -> URL {
        let fm = FileManager.default
        let name = Self.predictionFolder(iteration: iteration)
        let final = predictionsURL.appendingPathComponent(name)
        let temp = predictionsURL.appendingPathComponent(".\(name).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        try? fm.removeItem(at: temp)
        do {
            try fm.createDirectory(at: temp, withIntermediateDirectories: true)
        } catch {
            throw FileIOError(path: temp.path, operation: "create", code: errnoOf(error), reason: error.localizedDescription)
        }
        var entries: [PredictionSet.Entry] = []
        var used = Set<String>()
        for sample in samples {
            var stem = Self.fileStem(sample.id)
            while used.contains(stem) { stem += "_" }
            used.insert(stem)
            let mask = "\(stem).png", overlay = "\(stem)_overlay.png"
            try ImageCodec.writePalettedPNG(sample.prediction, palette: palette, to: temp.appendingPathComponent(mask))
            try ImageCodec.writeRGBPNG(Overlay.blend(sample.image, sample.prediction, palette: palette),
                                       to: temp.appendingPathComponent(overlay))
            entries.append(PredictionSet.Entry(
                id: sample.id, width: sample.prediction.width, height: sample.prediction.height,
                mIoU: sample.score.mIoU.isFinite ? sample.score.mIoU : nil,
                pixelAccuracy: sample.score.pixelAccuracy.isFinite ? sample.score.pixelAccuracy : nil,
                pixels: sample.score.pixels, mask: mask, overlay: overlay))
        }
        let set = PredictionSet(iteration: iteration, epoch: epoch, split: split, mIoU: mIoU.isFinite ? mIoU : nil,
                                isBest: isBest, samples: entries)
        try AtomicFile.write(try Self.prettyJSON(set), to: temp.appendingPathComponent(RunLayout.indexName))
        if let metrics {
            // Compact: one line per sample would still be ~200 bytes; VOC val's 1,449 stay well under a megabyte.
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            try AtomicFile.write(try encoder.encode(metrics) + Data("\n".utf8), to: temp.appendingPathComponent(SampleMetricsFile.fileName))
        }
        // An evaluation of the same iteration (a resumed run evaluating again) replaces the old folder.
        try? fm.removeItem(at: final)
        guard rename(temp.path, final.path) == 0 else {
            throw FileIOError(path: final.path, operation: "rename \(temp.lastPathComponent) to", code: errno)
        }

        var index = (try? readPredictionIndex()) ?? PredictionIndex(samples: [], evaluations: [], bestIteration: nil)
        index.samples = samples.map(\.id)
        index.evaluations.removeAll { $0.iteration == iteration }
        index.evaluations.append(PredictionIndex.Evaluation(iteration: iteration, epoch: epoch, mIoU: set.mIoU,
                                                            isBest: isBest, directory: name))
        index.evaluations.sort { $0.iteration < $1.iteration }
        if isBest { index.bestIteration = iteration }
        let kept = Self.predictionIterationsToKeep(index.evaluations.map(\.iteration), best: index.bestIteration, keep: keep)
        index.evaluations.removeAll { !kept.contains($0.iteration) }
        try AtomicFile.write(try Self.prettyJSON(index), to: predictionIndexURL)
        if keep > 0 { removeUnlistedPredictionFolders(index) }
        return final
    }

    /// Removes the `%06d` folders under `predictions/` that `index` does not list (pruned
    /// evaluations, or ones a failed removal left behind). A folder that cannot be removed
    /// now is tried again after the next evaluation; hidden temporary folders are left alone.
    func removeUnlistedPredictionFolders(_ index: PredictionIndex) {
        let fm = FileManager.default
        let listed = Set(index.evaluations.map { ($0.directory as NSString).lastPathComponent })
        guard let names = try? fm.contentsOfDirectory(atPath: predictionsURL.path) else { return }
        for name in names where name.count >= 6 && name.allSatisfy(\.isASCII) && name.allSatisfy(\.isNumber) && !listed.contains(name) {
            try? fm.removeItem(at: predictionsURL.appendingPathComponent(name))
        }
    }

    /// `predictions/index.json` (throws when it is missing or damaged).
    public func readPredictionIndex() throws -> PredictionIndex {
        try JSONDecoder().decode(PredictionIndex.self, from: Data(contentsOf: predictionIndexURL))
    }

    static func prettyJSON<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try encoder.encode(value) + Data("\n".utf8)
    }
}

/// Colour overlays of predicted masks.
public enum Overlay {
    /// The image with each pixel's class colour blended in at 50%; void and classes coloured
    /// black (VOC's and Pets' background) are left as they are.
    public static func blend(_ image: RGBImage, _ mask: LabelMap, palette: [RGB]) -> RGBImage {
        var out = image
        let count = min(image.width * image.height, mask.values.count)
        for i in 0..<count {
            let v = Int(mask.values[i])
            guard v != Int(LabelMap.void), v < palette.count else { continue }
            let c = palette[v]
            guard c != RGB(0, 0, 0) else { continue }
            out.pixels[3 * i] = UInt8((Int(out.pixels[3 * i]) + Int(c.r)) / 2)
            out.pixels[3 * i + 1] = UInt8((Int(out.pixels[3 * i + 1]) + Int(c.g)) / 2)
            out.pixels[3 * i + 2] = UInt8((Int(out.pixels[3 * i + 2]) + Int(c.b)) / 2)
        }
        return out
    }
}
