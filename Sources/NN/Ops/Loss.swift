import Foundation

/// How `crossEntropy` divides the sum of the per-pixel losses.
public enum CrossEntropyNormalization: String, Sendable, CaseIterable {
    /// By the summed class weights of the counted pixels (their count without weights): PyTorch's
    /// `reduction="mean"`.
    case weightedTargets
    /// By the number of pixels that are not ignored: MMSegmentation's `avg_non_ignore=True`
    /// (its `+ eps` on the count, 1.2e-7, is left out).
    case nonIgnored
    /// By all N·H·W pixels, ignored ones included: MMSegmentation's default
    /// (`avg_non_ignore=False`).
    case allPixels
}

/// Per-pixel softmax cross-entropy of `logits` `[N, C, H, W]` against `targets` (N·H·W class
/// indices, row-major `[N, H, W]`). Pixels equal to `ignoreIndex` (VOC's 255 border) count
/// nowhere. With class `weights` (`[C]`) each pixel's loss is scaled by its class weight.
/// `labelSmoothing` ε mixes the one-hot target with the uniform distribution as PyTorch does:
/// a pixel's loss is (1 − ε)·w_y·(−log p_y) + (ε/C)·Σ_c w_c·(−log p_c). The sum is divided as
/// `normalization` says (default PyTorch's: by the sum of the weights of counted pixels). A batch
/// with no counted pixel gives loss 0 and zero gradient (PyTorch gives NaN).
public func crossEntropy(_ logits: Tensor, targets: [Int32], ignoreIndex: Int32 = 255, weights: [Float]? = nil,
                         labelSmoothing: Float = 0, normalization: CrossEntropyNormalization = .weightedTargets) -> Tensor {
    crossEntropy(logits, targets: targets, ignoreIndex: ignoreIndex, weights: weights, labelSmoothing: labelSmoothing,
                 normalization: normalization, keep: nil)
}

/// `crossEntropy` over the pixels `keep` selects (OHEM); pixels not kept but not ignored still
/// count for `.nonIgnored` and `.allPixels`, as MMSegmentation's per-pixel weight 0 does.
func crossEntropy(_ logits: Tensor, targets: [Int32], ignoreIndex: Int32, weights: [Float]?, labelSmoothing: Float,
                  normalization: CrossEntropyNormalization, keep: [Bool]?) -> Tensor {
    let (N, C, H, W) = logits.dims4("cross_entropy")
    let plane = H * W
    require(targets.count == N * plane,
                 "cross_entropy: \(targets.count) targets for logits \(logits.shape) (need N·H·W = \(N * plane))")
    if let weights { require(weights.count == C, "cross_entropy: \(weights.count) class weights for \(C) classes") }
    if let keep { require(keep.count == targets.count, "cross_entropy: \(keep.count) kept flags for \(targets.count) targets") }
    require(labelSmoothing >= 0 && labelSmoothing <= 1, "cross_entropy: label smoothing \(labelSmoothing) outside [0, 1]")
    for t in targets where t != ignoreIndex {
        require(t >= 0 && Int(t) < C, "cross_entropy: target class \(t) outside 0..<\(C) (and not ignore index \(ignoreIndex))")
    }
    let values = logits.plainNCHW()  // kept by the backward, which reads the logits again
    // Per-image partial sums (loss, weight, non-ignored pixels) in Double, then one reduction.
    var lossSums = [Double](repeating: 0, count: N), weightSums = [Double](repeating: 0, count: N)
    var counts = [Int](repeating: 0, count: N)
    let w = weights ?? [Float](repeating: 1, count: C)
    let eps = labelSmoothing, spread = labelSmoothing / Float(C)
    let weightTotal = w.reduce(0, +)
    values.withNCHW { xs in targets.withUnsafeBufferPointer { tp in
        lossSums.withUnsafeMutableBufferPointer { lp in
            weightSums.withUnsafeMutableBufferPointer { wp in
                counts.withUnsafeMutableBufferPointer { cp in
                    parallelFor(N) { images in
                        for n in images {
                            var loss: Double = 0, wsum: Double = 0, counted = 0
                            let base = xs + n * C * plane
                            for i in 0..<plane {
                                let t = tp[n * plane + i]
                                if t == ignoreIndex { continue }
                                counted += 1
                                if let keep, !keep[n * plane + i] { continue }
                                let (m, s) = softmaxTerms(base, pixel: i, plane: plane, channels: C)
                                let lse = m + Foundation.log(s)
                                let wt = w[Int(t)]
                                if eps == 0 {
                                    loss += Double(wt) * Double(lse - base[Int(t) * plane + i])
                                } else {
                                    var uniform: Float = 0  // Σ_c w_c·(−log p_c)
                                    for c in 0..<C { uniform += w[c] * (lse - base[c * plane + i]) }
                                    loss += Double((1 - eps) * wt * (lse - base[Int(t) * plane + i]) + spread * uniform)
                                }
                                wsum += Double(wt)
                            }
                            lp[n] = loss; wp[n] = wsum; cp[n] = counted
                        }
                    }
                }
            }
        }
    } }
    let total: Double
    switch normalization {
    case .weightedTargets: total = weightSums.reduce(0, +)
    case .nonIgnored: total = Double(counts.reduce(0, +))
    case .allPixels: total = Double(N * plane)
    }
    let value = total > 0 ? lossSums.reduce(0, +) / total : 0
    return Tensor(scalar: Float(value)).recording("cross_entropy", [logits]) { g in
        let dx = Tensor(zeros: [N, C, H, W])
        guard total > 0 else { return [dx] }
        let k = g.item / Float(total)
        let d = dx.data
        values.withNCHW { xs in targets.withUnsafeBufferPointer { tp in
            parallelFor(N) { images in
                for n in images {
                    let base = xs + n * C * plane, out = d + n * C * plane
                    for i in 0..<plane {
                        let t = tp[n * plane + i]
                        if t == ignoreIndex { continue }
                        if let keep, !keep[n * plane + i] { continue }
                        let (m, s) = softmaxTerms(base, pixel: i, plane: plane, channels: C)
                        if eps == 0 {
                            let f = k * w[Int(t)] / s
                            for c in 0..<C { out[c * plane + i] = f * Foundation.exp(base[c * plane + i] - m) }
                            out[Int(t) * plane + i] -= k * w[Int(t)]
                        } else {
                            // d/dx_c = p_c·((1 − ε)·w_y + (ε/C)·Σw) − (ε/C)·w_c − [c = y]·(1 − ε)·w_y
                            let f = k * ((1 - eps) * w[Int(t)] + spread * weightTotal) / s
                            for c in 0..<C { out[c * plane + i] = f * Foundation.exp(base[c * plane + i] - m) - k * spread * w[c] }
                            out[Int(t) * plane + i] -= k * (1 - eps) * w[Int(t)]
                        }
                    }
                }
            }
        } }
        return [dx]
    }
}

/// The stable softmax pieces of pixel `i` of one image (`base` = its first channel plane):
/// `max_c x_c` and `Σ_c exp(x_c − max)`, shared by the loss and its gradient.
@inline(__always)
private func softmaxTerms(_ base: UnsafePointer<Float>, pixel i: Int, plane: Int, channels C: Int) -> (max: Float, sum: Float) {
    var m = -Float.infinity
    for c in 0..<C { m = max(m, base[c * plane + i]) }
    var s: Float = 0
    for c in 0..<C { s += Foundation.exp(base[c * plane + i] - m) }
    return (m, s)
}

/// `crossEntropy` with `UInt8` masks (VOC / Pets labels as read from PNG).
public func crossEntropy(_ logits: Tensor, targets: [UInt8], ignoreIndex: Int32 = 255, weights: [Float]? = nil,
                         labelSmoothing: Float = 0, normalization: CrossEntropyNormalization = .weightedTargets) -> Tensor {
    crossEntropy(logits, targets: targets.map { Int32($0) }, ignoreIndex: ignoreIndex, weights: weights,
                 labelSmoothing: labelSmoothing, normalization: normalization)
}

/// Index of the largest channel per pixel: `[N, C, H, W]` → N·H·W class indices (row-major
/// `[N, H, W]`); ties go to the lowest index.
public func argmaxChannels(_ x: Tensor) -> [Int32] {
    let (N, C, H, W) = x.dims4("argmax")
    let plane = H * W
    var out = [Int32](repeating: 0, count: N * plane)
    x.withNCHW { xs in out.withUnsafeMutableBufferPointer { op in
        let o = op.baseAddress!
        parallelFor(N * plane, grain: 4096) { r in
            for idx in r {
                let n = idx / plane, i = idx % plane
                let base = xs + n * C * plane + i
                var best = base[0], bi: Int32 = 0
                for c in 1..<max(C, 1) where base[c * plane] > best { best = base[c * plane]; bi = Int32(c) }
                o[idx] = bi
            }
        }
    } }
    return out
}

/// A label map that `crossEntropy` cannot use.
public struct TargetError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Checks targets before `crossEntropy` (which stops on bad ones): the count must be N·H·W of
/// `logits` and every value a class in `0..<classes` or `ignoreIndex`. The error names the first
/// bad value, its position and how many there are.
public func validateTargets(_ targets: [Int32], logitsShape: [Int], ignoreIndex: Int32 = 255) throws {
    guard logitsShape.count == 4 else { throw TargetError(message: "logits must be [N, C, H, W], got \(logitsShape)") }
    let (n, classes, h, w) = (logitsShape[0], logitsShape[1], logitsShape[2], logitsShape[3])
    guard targets.count == n * h * w else {
        throw TargetError(message: "\(targets.count) target pixels for a batch of \(n) × \(h)×\(w) (need \(n * h * w))")
    }
    var bad = 0, first: (Int, Int32)? = nil
    for (i, t) in targets.enumerated() where t != ignoreIndex && (t < 0 || Int(t) >= classes) {
        bad += 1
        if first == nil { first = (i, t) }
    }
    if let (i, t) = first {
        let plane = h * w
        throw TargetError(message: "label \(t) at image \(i / plane), row \((i % plane) / w), column \(i % w) is not a class "
                          + "(0..<\(classes)) nor the ignore index \(ignoreIndex); \(bad) such pixel(s) — remap the dataset's labels")
    }
}
