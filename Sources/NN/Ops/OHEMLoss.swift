import Foundation

/// The pixels online hard example mining keeps, as MMSegmentation's
/// `OHEMPixelSampler(thresh, min_kept)` chooses them: among the pixels not equal to `ignoreIndex`,
/// those whose softmax probability of their true class is below
/// max(`threshold`, the (`minKept`·N)-th smallest such probability, counting from 0) — so at least
/// `minKept` per image are kept when the batch has that many, and every pixel the model is unsure
/// of. N·H·W flags, row-major `[N, H, W]`; ignored pixels are never kept.
public func ohemKeptPixels(_ logits: Tensor, targets: [Int32], threshold: Float = 0.7, minKept: Int = 100_000,
                           ignoreIndex: Int32 = 255) -> [Bool] {
    let (N, C, H, W) = logits.dims4("ohem")
    let plane = H * W
    require(targets.count == N * plane, "ohem: \(targets.count) targets for logits \(logits.shape) (need N·H·W = \(N * plane))")
    require(minKept >= 0, "ohem: min_kept \(minKept) must be ≥ 0")
    for t in targets where t != ignoreIndex {
        require(t >= 0 && Int(t) < C, "ohem: target class \(t) outside 0..<\(C) (and not ignore index \(ignoreIndex))")
    }
    let x = logits.plainNCHW().array
    var probability = [Float](repeating: 0, count: targets.count)
    var valid: [Float] = []
    for n in 0..<N {
        for i in 0..<plane {
            let t = targets[n * plane + i]
            if t == ignoreIndex { continue }
            let base = n * C * plane + i
            var m = -Float.infinity
            for c in 0..<C { m = max(m, x[base + c * plane]) }
            var s: Float = 0
            for c in 0..<C { s += Foundation.exp(x[base + c * plane] - m) }
            let p = Foundation.exp(x[base + Int(t) * plane] - m) / s
            probability[n * plane + i] = p
            valid.append(p)
        }
    }
    guard !valid.isEmpty else { return [Bool](repeating: false, count: targets.count) }
    valid.sort()
    let cut = max(valid[min(minKept * N, valid.count - 1)], threshold)
    return targets.indices.map { targets[$0] != ignoreIndex && probability[$0] < cut }
}

/// Cross-entropy over the pixels `ohemKeptPixels` keeps (OHEM; Shrivastava et al. 2016, as
/// MMSegmentation's `OHEMPixelSampler` + `CrossEntropyLoss`). The selection has no gradient.
/// `normalization`: `.weightedTargets` (default) is the mean over the kept pixels (by their class
/// weights), as HRNet's `OhemCrossEntropy`; `.allPixels` is MMSegmentation's default (a kept
/// pixel has weight 1, the others 0, mean over all pixels); `.nonIgnored` its `avg_non_ignore`.
public func ohemCrossEntropy(_ logits: Tensor, targets: [Int32], threshold: Float = 0.7, minKept: Int = 100_000,
                             ignoreIndex: Int32 = 255, weights: [Float]? = nil,
                             normalization: CrossEntropyNormalization = .weightedTargets) -> Tensor {
    let keep = GradMode.withoutGrad {
        ohemKeptPixels(logits, targets: targets, threshold: threshold, minKept: minKept, ignoreIndex: ignoreIndex)
    }
    return crossEntropy(logits, targets: targets, ignoreIndex: ignoreIndex, weights: weights, labelSmoothing: 0,
                        normalization: normalization, keep: keep)
}

/// `ohemCrossEntropy` with `UInt8` masks.
public func ohemCrossEntropy(_ logits: Tensor, targets: [UInt8], threshold: Float = 0.7, minKept: Int = 100_000,
                             ignoreIndex: Int32 = 255, weights: [Float]? = nil,
                             normalization: CrossEntropyNormalization = .weightedTargets) -> Tensor {
    ohemCrossEntropy(logits, targets: targets.map { Int32($0) }, threshold: threshold, minKept: minKept,
                     ignoreIndex: ignoreIndex, weights: weights, normalization: normalization)
}
