import Datasets
import EngineProtocol

/// An evaluation's per-sample figures as the browser shows them (`v`, D-188).
public struct BrowserMetrics: Sendable {
    /// The run directory they were read from.
    public var run: String
    public var file: SampleMetricsFile
    public var byID: [String: SampleMetrics]
    /// Off-diagonal confusion cells summed over the samples, most pixels first: what `c` steps through.
    public var cells: [(truth: Int, predicted: Int, pixels: Int)]

    public init(run: String, file: SampleMetricsFile) {
        self.run = run
        self.file = file
        byID = Dictionary(file.samples.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        var totals: [[Int]: Int] = [:]
        for s in file.samples {
            for c in s.confusions where c.count == 3 { totals[[c[0], c[1]], default: 0] += c[2] }
        }
        cells = totals.map { (truth: $0.key[0], predicted: $0.key[1], pixels: $0.value) }
            .sorted { $0.pixels != $1.pixels ? $0.pixels > $1.pixels : ($0.truth, $0.predicted) < ($1.truth, $1.predicted) }
    }

    public func className(_ v: Int) -> String { file.classNames.indices.contains(v) ? file.classNames[v] : "class \(v)" }
}

/// Whether the browser shows an evaluation's per-sample figures.
public enum BrowserMetricsSlot: Sendable {
    case loading(run: String)
    case loaded(BrowserMetrics)
    case failed(run: String, String)

    public var loaded: BrowserMetrics? {
        if case .loaded(let m) = self { return m }
        return nil
    }
}

/// The order of the browser's list.
public enum SampleSort: Sendable, Equatable {
    /// The split list's order.
    case name
    /// Worst first: lowest IoU, accuracy or label quality (likeliest label issue) first.
    case iou, accuracy, labelQuality
    /// Samples with pixels of class `truth` predicted as `predicted`, most such pixels first.
    case confusion(truth: Int, predicted: Int)

    /// `s` steps name → IoU → accuracy → label quality → name (a confusion sort goes to name).
    public var next: SampleSort {
        switch self {
        case .name: return .iou
        case .iou: return .accuracy
        case .accuracy: return .labelQuality
        case .labelQuality, .confusion: return .name
        }
    }

    public func title(_ metrics: BrowserMetrics?) -> String {
        switch self {
        case .name: return "by name"
        case .iou: return "worst IoU first"
        case .accuracy: return "worst accuracy first"
        case .labelQuality: return "likeliest label issue first"
        case .confusion(let t, let p):
            return "\(metrics?.className(t) ?? "class \(t)") → \(metrics?.className(p) ?? "class \(p)")"
        }
    }
}

extension BrowserState {
    /// The figure a sort orders by (lower first; nil: not scored, listed last); for a confusion
    /// cell the negated pixel count.
    static func key(_ sort: SampleSort, _ m: SampleMetrics?) -> Double? {
        switch sort {
        case .name: return m == nil ? nil : 0
        case .iou: return SampleFigure.iou.value(m)
        case .accuracy: return SampleFigure.acc.value(m)
        case .labelQuality: return SampleFigure.lq.value(m)
        case .confusion(let t, let p):
            guard let n = m?.confused(truth: t, predicted: p), n > 0 else { return nil }
            return -Double(n)
        }
    }

    /// `indices` (into `ids`) in `sort` order; a confusion sort keeps only samples with that
    /// confusion. Ties and unscored samples keep the split's order.
    static func sorted(_ indices: [Int], ids: [String], by sort: SampleSort, metrics: BrowserMetrics?) -> [Int] {
        guard sort != .name, let metrics else { return indices }
        let keyed = indices.map { (index: $0, key: key(sort, metrics.byID[ids[$0]])) }
        let kept = { if case .confusion = sort { return keyed.filter { $0.key != nil } } else { return keyed } }()
        return kept.sorted { a, b in
            switch (a.key, b.key) {
            case let (x?, y?): return x != y ? x < y : a.index < b.index
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a.index < b.index
            }
        }.map(\.index)
    }
}
