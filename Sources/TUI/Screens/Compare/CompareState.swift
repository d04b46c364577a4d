import Datasets
import EngineProtocol

/// State of the compare view: the gallery (the latest evaluation's images, worst first), the
/// selection, which classes are shown, and the samples read for it.
public struct CompareState: Sendable {
    public var selection = 0
    public var scroll = 0
    /// Opacity of the masks over the image in the truth and prediction panes (1 = mask only).
    public var opacity = 1.0
    /// Classes switched off (drawn as the image, or as background when opacity is 1).
    public var hidden: Set<Int> = []
    /// The class under the class-toggle cursor.
    public var classCursor = 0
    /// Samples read for the view, newest last.
    public var samples: [(id: String, slot: SampleSlot)] = []
    /// Predictions asked for: sample id → the evaluation count when asked.
    public var requested: [String: Int] = [:]
    public static let cacheSize = 8
    /// A past run's saved predictions (nil: not asked for; live runs never ask).
    public var saved: SavedPredictionsState?
    /// The saved evaluation asked for with `b` / `[` / `]` and not arrived yet (nil: none pending).
    public var savedTarget: Int?

    public init() {}

    public func slot(for id: String) -> SampleSlot? { samples.last { $0.id == id }?.slot }

    mutating func store(_ id: String, _ slot: SampleSlot) {
        samples.removeAll { $0.id == id }
        samples.append((id, slot))
        if samples.count > Self.cacheSize { samples.removeFirst(samples.count - Self.cacheSize) }
    }
}

/// The error map's three kinds of pixel.
public enum ErrorKind: UInt8, Sendable {
    case correct = 0, wrong = 1, ignored = 2
}

public enum CompareMath {
    /// Per-pixel correct / wrong / ignored (truth = void) of a prediction against the truth;
    /// nil when the sizes differ.
    public static func errorMap(truth: LabelMap, prediction: LabelMap) -> LabelMap? {
        guard truth.width == prediction.width, truth.height == prediction.height else { return nil }
        var out = LabelMap(width: truth.width, height: truth.height)
        for i in 0..<truth.values.count {
            let t = truth.values[i]
            out.values[i] = t == LabelMap.void ? ErrorKind.ignored.rawValue
                : (t == prediction.values[i] ? ErrorKind.correct.rawValue : ErrorKind.wrong.rawValue)
        }
        return out
    }

    /// An error map shrunk to `width` × `height` so that errors stay visible: a target pixel is
    /// wrong when at least `wrongShare` of the labelled pixels it covers are wrong, ignored when
    /// it covers no labelled pixel, else correct. (Mode pooling would let thin error bands along
    /// object boundaries — the commonest error — vanish at terminal sizes.)
    public static func poolErrors(_ errors: LabelMap, width: Int, height: Int, wrongShare: Double = 0.25) -> LabelMap {
        guard width > 0, height > 0, errors.width > 0, errors.height > 0 else {
            return LabelMap(width: max(0, width), height: max(0, height))
        }
        let xs = ImageScaler.spans(source: errors.width, target: width)
        let ys = ImageScaler.spans(source: errors.height, target: height)
        var out = LabelMap(width: width, height: height)
        for ty in 0..<height {
            for tx in 0..<width {
                var wrong = 0, labelled = 0
                for sy in ys[ty].0..<ys[ty].1 {
                    let row = sy * errors.width
                    for sx in xs[tx].0..<xs[tx].1 {
                        let v = errors.values[row + sx]
                        if v != ErrorKind.ignored.rawValue { labelled += 1 }
                        if v == ErrorKind.wrong.rawValue { wrong += 1 }
                    }
                }
                let kind: ErrorKind = labelled == 0 ? .ignored
                    : (Double(wrong) >= wrongShare * Double(labelled) ? .wrong : .correct)
                out.values[ty * width + tx] = kind.rawValue
            }
        }
        return out
    }

    /// `label` with the hidden classes replaced by `replacement`.
    public static func hiding(_ hidden: Set<Int>, in label: LabelMap, replacement: UInt8) -> LabelMap {
        guard !hidden.isEmpty else { return label }
        var out = label
        for i in 0..<out.values.count where hidden.contains(Int(out.values[i])) { out.values[i] = replacement }
        return out
    }

    /// IoU of each class present in the truth or the prediction of one image.
    public static func classIoU(truth: LabelMap, prediction: LabelMap, classCount: Int) -> [(Int, Double)] {
        guard truth.width == prediction.width, truth.height == prediction.height, classCount > 0 else { return [] }
        var m = ConfusionMatrix(classCount: classCount)
        m.add(truth: truth.values, prediction: prediction.values)
        let metrics = SegmentationMetrics(m)
        return metrics.classIoU.enumerated().filter { !$0.element.isNaN }.map { ($0.offset, $0.element) }
    }
}

/// What the compare view knows about a past run's saved predictions.
public enum SavedPredictionsState: Sendable {
    case loading
    case loaded(SavedEvaluation)
    case failed(String)
}
