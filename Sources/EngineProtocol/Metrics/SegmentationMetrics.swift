import Foundation

/// The figures MMSegmentation's `IoUMetric` reports, all derived from one confusion matrix
/// (`total_area_to_metrics` in mmseg/evaluation/metrics/iou_metric.py), so they are **pooled over
/// every non-ignored pixel** of the evaluated images:
///
/// - per class c: `IoU = TP / (label + pred − TP)`, `Acc = TP / label` (recall),
///   `Dice = 2·TP / (label + pred)`;
/// - `aAcc = ΣTP / Σlabel` (overall pixel accuracy);
/// - `mIoU`, `mAcc`, `mDice`: means over classes of the per-class figures, skipping NaN;
/// - `fwIoU = Σ (label_c / Σlabel) · IoU_c` (frequency-weighted IoU, Long et al. 2015).
///
/// A class with no true and no predicted pixel has NaN for all three per-class figures and is
/// left out of every mean. As in MMSegmentation, a class with predicted but no true pixels has
/// IoU 0, Dice 0 and Acc NaN (0 / 0), so it lowers mIoU but not mAcc.
public struct SegmentationMetrics: Sendable, Equatable, Codable {
    @NullIfNaN public var aAcc: Double
    @NullIfNaN public var mIoU: Double
    @NullIfNaN public var mAcc: Double
    @NullIfNaN public var mDice: Double
    @NullIfNaN public var fwIoU: Double
    /// Per class; NaN where undefined (see above).
    @NullIfNaNElements public var classIoU: [Double]
    @NullIfNaNElements public var classAcc: [Double]
    @NullIfNaNElements public var classDice: [Double]
    /// True pixels per class (`area_label`), for the table and for frequency weights.
    public var classPixels: [Int]
    /// Pixels counted (non-ignored).
    public var pixels: Int

    public init(_ m: ConfusionMatrix) {
        let tp = m.intersection, label = m.labelArea, pred = m.predictionArea
        let n = m.classCount
        let iou = (0..<n).map { ratio(tp[$0], label[$0] + pred[$0] - tp[$0]) }
        let acc = (0..<n).map { ratio(tp[$0], label[$0]) }
        let dice = (0..<n).map { ratio(2 * tp[$0], label[$0] + pred[$0]) }
        classIoU = iou
        classAcc = acc
        classDice = dice
        classPixels = label
        let total = label.reduce(0, +)
        pixels = total
        aAcc = ratio(tp.reduce(0, +), total)
        mIoU = nanMean(iou)
        mAcc = nanMean(acc)
        mDice = nanMean(dice)
        if total == 0 {
            fwIoU = .nan
        } else {
            var s = 0.0
            for c in 0..<n where label[c] > 0 { s += Double(label[c]) / Double(total) * iou[c] }
            fwIoU = s
        }
    }

    enum CodingKeys: String, CodingKey {
        case aAcc, mIoU, mAcc, mDice, fwIoU
        case classIoU = "class_iou", classAcc = "class_acc", classDice = "class_dice"
        case classPixels = "class_pixels", pixels
    }

}

/// Per-image scores for ranking samples by how badly they are segmented (FiftyOne-style
/// "sort by score"). Each is computed from that image's own confusion matrix, so it is an
/// **average over classes within one image**, not pooled over the dataset.
public struct ImageScore: Sendable, Equatable, Codable {
    public var id: String
    /// Mean IoU over the classes present in this image's truth or prediction (NaN if the image
    /// has no labelled pixel).
    @NullIfNaN public var mIoU: Double
    /// Correct / labelled pixels in this image.
    @NullIfNaN public var pixelAccuracy: Double
    /// Labelled (non-ignored) pixels.
    public var pixels: Int

    public init(id: String, mIoU: Double, pixelAccuracy: Double, pixels: Int) {
        self.id = id
        self.mIoU = mIoU
        self.pixelAccuracy = pixelAccuracy
        self.pixels = pixels
    }

    /// Scores one image from its truth and prediction.
    public init(id: String, truth: [UInt8], prediction: [UInt8], classCount: Int, ignoreIndex: Int = 255) {
        var m = ConfusionMatrix(classCount: classCount, ignoreIndex: ignoreIndex)
        m.add(truth: truth, prediction: prediction)
        let metrics = SegmentationMetrics(m)
        self.init(id: id, mIoU: metrics.mIoU, pixelAccuracy: metrics.aAcc, pixels: metrics.pixels)
    }

    enum CodingKeys: String, CodingKey { case id, mIoU, pixelAccuracy = "pixel_accuracy", pixels }

    /// Worst first (lowest mIoU; images without labelled pixels last), ties by id.
    public static func rankedWorstFirst(_ scores: [ImageScore]) -> [ImageScore] {
        scores.sorted { a, b in
            switch (a.mIoU.isNaN, b.mIoU.isNaN) {
            case (true, true): return a.id < b.id
            case (true, false): return false
            case (false, true): return true
            case (false, false): return a.mIoU != b.mIoU ? a.mIoU < b.mIoU : a.id < b.id
            }
        }
    }
}

/// `a / b` as Double; NaN when `b` is 0 (0 / 0 as NumPy gives it).
func ratio(_ a: Int, _ b: Int) -> Double { b == 0 ? .nan : Double(a) / Double(b) }

/// Mean of the non-NaN values (`np.nanmean`); NaN when all are NaN.
public func nanMean(_ values: [Double]) -> Double {
    var s = 0.0, n = 0
    for v in values where !v.isNaN {
        s += v
        n += 1
    }
    return n == 0 ? .nan : s / Double(n)
}
