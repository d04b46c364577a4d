import Datasets

/// A confusion matrix over `classCount` classes: `counts[truth * classCount + prediction]` pixels.
///
/// Pixels whose true label is `ignoreIndex` (VOC's 255 boundary band) or not a class index are
/// skipped, as torchvision's reference `ConfusionMatrix.update` (`k = (a >= 0) & (a < n)`) and
/// MMSegmentation's `intersect_and_union` (`mask = label != ignore_index`) do. Every metric in
/// `SegmentationMetrics` is derived from this one matrix.
public struct ConfusionMatrix: Sendable, Equatable, Codable {
    public let classCount: Int
    /// Row-major `classCount × classCount`: row = true class, column = predicted class.
    public private(set) var counts: [Int]
    public let ignoreIndex: Int

    public init(classCount: Int, ignoreIndex: Int = Int(LabelMap.void)) {
        self.classCount = max(0, classCount)
        self.counts = [Int](repeating: 0, count: self.classCount * self.classCount)
        self.ignoreIndex = ignoreIndex
    }

    /// Rebuilds a matrix from its counts; nil when the count array does not fit `classCount`.
    public init?(classCount: Int, counts: [Int], ignoreIndex: Int = Int(LabelMap.void)) {
        guard classCount >= 0, counts.count == classCount * classCount, counts.allSatisfy({ $0 >= 0 }) else { return nil }
        self.classCount = classCount
        self.counts = counts
        self.ignoreIndex = ignoreIndex
    }

    public subscript(truth: Int, prediction: Int) -> Int { counts[truth * classCount + prediction] }

    /// Counts the pixels of one image (or batch). `truth` and `prediction` have the same length;
    /// predictions outside the class range are counted as a wrong prediction of no class (they
    /// only enlarge the true class's row total, so they lower its IoU and accuracy).
    public mutating func add(truth: [UInt8], prediction: [UInt8]) {
        precondition(truth.count == prediction.count, "truth has \(truth.count) pixels, prediction \(prediction.count)")
        let n = classCount, ignore = ignoreIndex
        var outOfRange = [Int](repeating: 0, count: n)
        var anyOutOfRange = false
        counts.withUnsafeMutableBufferPointer { m in
            for i in 0..<min(truth.count, prediction.count) {
                let t = Int(truth[i])
                if t == ignore || t >= n { continue }
                let p = Int(prediction[i])
                if p < n {
                    m[t * n + p] += 1
                } else {
                    outOfRange[t] += 1
                    anyOutOfRange = true
                }
            }
        }
        if anyOutOfRange {
            for t in 0..<n where outOfRange[t] > 0 { unmatched[t, default: 0] += outOfRange[t] }
        }
    }

    /// Pixels of class `t` predicted as an out-of-range value, by true class. Kept so the totals
    /// stay true (they count in the label area but in no predicted area). Not serialised.
    public private(set) var unmatched: [Int: Int] = [:]

    public mutating func add(truth: LabelMap, prediction: LabelMap) {
        precondition(truth.width == prediction.width && truth.height == prediction.height,
                     "truth is \(truth.width)x\(truth.height), prediction \(prediction.width)x\(prediction.height)")
        add(truth: truth.values, prediction: prediction.values)
    }

    public mutating func add(_ other: ConfusionMatrix) {
        precondition(other.classCount == classCount, "cannot add a \(other.classCount)-class matrix to a \(classCount)-class one")
        for i in 0..<counts.count { counts[i] += other.counts[i] }
        for (k, v) in other.unmatched { unmatched[k, default: 0] += v }
    }

    public mutating func reset() {
        counts = [Int](repeating: 0, count: counts.count)
        unmatched = [:]
    }

    /// Pixels counted (every non-ignored pixel).
    public var total: Int { counts.reduce(0, +) + unmatched.values.reduce(0, +) }

    /// `area_label` in MMSegmentation: true pixels per class (row sums).
    public var labelArea: [Int] {
        (0..<classCount).map { t in
            var s = unmatched[t] ?? 0
            for p in 0..<classCount { s += counts[t * classCount + p] }
            return s
        }
    }

    /// `area_pred`: predicted pixels per class (column sums).
    public var predictionArea: [Int] {
        (0..<classCount).map { p in
            var s = 0
            for t in 0..<classCount { s += counts[t * classCount + p] }
            return s
        }
    }

    /// `area_intersect`: correctly predicted pixels per class (the diagonal).
    public var intersection: [Int] { (0..<classCount).map { counts[$0 * classCount + $0] } }

    /// The matrix as rows (truth) of columns (prediction), for display and JSON.
    public var rows: [[Int]] {
        (0..<classCount).map { Array(counts[($0 * classCount)..<(($0 + 1) * classCount)]) }
    }

    enum CodingKeys: String, CodingKey { case classCount = "classes", counts, ignoreIndex = "ignore_index" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let n = try c.decode(Int.self, forKey: .classCount)
        let counts = try c.decode([Int].self, forKey: .counts)
        let ignore = try c.decodeIfPresent(Int.self, forKey: .ignoreIndex) ?? Int(LabelMap.void)
        guard let m = ConfusionMatrix(classCount: n, counts: counts, ignoreIndex: ignore) else {
            throw DecodingError.dataCorruptedError(forKey: .counts, in: c,
                debugDescription: "a \(n)-class confusion matrix needs \(n * n) non-negative counts, got \(counts.count)")
        }
        self = m
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(classCount, forKey: .classCount)
        try c.encode(counts, forKey: .counts)
        try c.encode(ignoreIndex, forKey: .ignoreIndex)
    }
}
