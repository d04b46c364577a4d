import Foundation

/// Per-pixel softmax cross-entropy of `logits` `[N, C, H, W]` against `targets` (N·H·W class
/// indices, row-major `[N, H, W]`). Pixels equal to `ignoreIndex` (VOC's 255 border) count
/// nowhere. With class `weights` (`[C]`) each pixel's loss is scaled by its class weight and the
/// mean divides by the sum of the weights of counted pixels (PyTorch `cross_entropy`). A batch
/// with no counted pixel gives loss 0 and zero gradient (PyTorch gives NaN).
public func crossEntropy(_ logits: Tensor, targets: [Int32], ignoreIndex: Int32 = 255, weights: [Float]? = nil) -> Tensor {
    let (N, C, H, W) = logits.dims4("cross_entropy")
    let plane = H * W
    require(targets.count == N * plane,
                 "cross_entropy: \(targets.count) targets for logits \(logits.shape) (need N·H·W = \(N * plane))")
    if let weights { require(weights.count == C, "cross_entropy: \(weights.count) class weights for \(C) classes") }
    for t in targets where t != ignoreIndex {
        require(t >= 0 && Int(t) < C, "cross_entropy: target class \(t) outside 0..<\(C) (and not ignore index \(ignoreIndex))")
    }
    let values = logits.plainNCHW()  // kept by the backward, which reads the logits again
    // Per-image partial sums (loss, weight) in Double, then one reduction.
    var lossSums = [Double](repeating: 0, count: N), weightSums = [Double](repeating: 0, count: N)
    let w = weights ?? [Float](repeating: 1, count: C)
    values.withNCHW { xs in targets.withUnsafeBufferPointer { tp in
        lossSums.withUnsafeMutableBufferPointer { lp in
            weightSums.withUnsafeMutableBufferPointer { wp in
                parallelFor(N) { images in
                    for n in images {
                        var loss: Double = 0, wsum: Double = 0
                        let base = xs + n * C * plane
                        for i in 0..<plane {
                            let t = tp[n * plane + i]
                            if t == ignoreIndex { continue }
                            let (m, s) = softmaxTerms(base, pixel: i, plane: plane, channels: C)
                            let lse = m + Foundation.log(s)
                            let wt = w[Int(t)]
                            loss += Double(wt) * Double(lse - base[Int(t) * plane + i])
                            wsum += Double(wt)
                        }
                        lp[n] = loss; wp[n] = wsum
                    }
                }
            }
        }
    } }
    let total = weightSums.reduce(0, +)
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
                        let (m, s) = softmaxTerms(base, pixel: i, plane: plane, channels: C)
                        let f = k * w[Int(t)] / s
                        for c in 0..<C { out[c * plane + i] = f * Foundation.exp(base[c * plane + i] - m) }
                        out[Int(t) * plane + i] -= k * w[Int(t)]
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
public func crossEntropy(_ logits: Tensor, targets: [UInt8], ignoreIndex: Int32 = 255, weights: [Float]? = nil) -> Tensor {
    crossEntropy(logits, targets: targets.map { Int32($0) }, ignoreIndex: ignoreIndex, weights: weights)
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
