import Foundation

/// Multi-class soft Dice loss on softmax probabilities, the definition of
/// `segmentation_models_pytorch.losses.DiceLoss(mode="multiclass", from_logits=True, smooth=0,
/// eps=1e-7)` (PyTorch itself has none): with p = softmax(logits) and y the one-hot target, both
/// zeroed at pixels equal to `ignoreIndex`, per class over the whole batch
/// I_c = Σ p·y, S_c = Σ (p + y), loss_c = 1 − (2·I_c + smooth) / max(S_c + smooth, eps);
/// a class absent from the (non-ignored) targets contributes 0, and the loss is the mean over
/// all C classes. `logits` `[N, C, H, W]`, `targets` N·H·W row-major.
public func diceLoss(_ logits: Tensor, targets: [Int32], ignoreIndex: Int32 = 255,
                     smooth: Float = 0, eps: Float = 1e-7) -> Tensor {
    let (N, C, H, W) = logits.dims4("dice_loss")
    let plane = H * W
    require(targets.count == N * plane,
            "dice_loss: \(targets.count) targets for logits \(logits.shape) (need N·H·W = \(N * plane))")
    for t in targets where t != ignoreIndex {
        require(t >= 0 && Int(t) < C, "dice_loss: target class \(t) outside 0..<\(C) (and not ignore index \(ignoreIndex))")
    }
    let x = logits.plainNCHW().array
    // Softmax probabilities, zero at ignored pixels.
    var p = [Float](repeating: 0, count: x.count)
    for n in 0..<N {
        let base = n * C * plane
        for i in 0..<plane where targets[n * plane + i] != ignoreIndex {
            var m = -Float.infinity
            for c in 0..<C { m = max(m, x[base + c * plane + i]) }
            var s: Float = 0
            for c in 0..<C { let e = Foundation.exp(x[base + c * plane + i] - m); p[base + c * plane + i] = e; s += e }
            for c in 0..<C { p[base + c * plane + i] /= s }
        }
    }
    var inter = [Double](repeating: 0, count: C), card = [Double](repeating: 0, count: C)
    var present = [Bool](repeating: false, count: C)
    for n in 0..<N {
        for i in 0..<plane {
            let t = targets[n * plane + i]
            if t == ignoreIndex { continue }
            present[Int(t)] = true
            for c in 0..<C { card[c] += Double(p[n * C * plane + c * plane + i]) }
            inter[Int(t)] += Double(p[n * C * plane + Int(t) * plane + i])
            card[Int(t)] += 1
        }
    }
    var total: Double = 0
    // d loss / d p_c at a counted pixel = gI_c·[y = c] + gS_c (gS_c for both p and y terms).
    var gI = [Double](repeating: 0, count: C), gS = [Double](repeating: 0, count: C)
    for c in 0..<C where present[c] {
        let den = card[c] + Double(smooth)
        let clamped = max(den, Double(eps))
        let num = 2 * inter[c] + Double(smooth)
        total += 1 - num / clamped
        gI[c] = -2 / clamped / Double(C)
        if den > Double(eps) { gS[c] = num / (clamped * clamped) / Double(C) }
    }
    let value = total / Double(C)
    return Tensor(scalar: Float(value)).recording("dice_loss", [logits]) { g in
        let k = Double(g.item)
        var dx = [Float](repeating: 0, count: x.count)
        var gp = [Double](repeating: 0, count: C)
        for n in 0..<N {
            let base = n * C * plane
            for i in 0..<plane {
                let t = targets[n * plane + i]
                if t == ignoreIndex { continue }
                var dot: Double = 0
                for c in 0..<C {
                    gp[c] = gS[c] + (c == Int(t) ? gI[c] : 0)
                    dot += gp[c] * Double(p[base + c * plane + i])
                }
                for c in 0..<C {
                    let pc = Double(p[base + c * plane + i])
                    dx[base + c * plane + i] = Float(k * pc * (gp[c] - dot))
                }
            }
        }
        return [Tensor(shape: [N, C, H, W], values: dx)]
    }
}

/// `diceLoss` with `UInt8` masks.
public func diceLoss(_ logits: Tensor, targets: [UInt8], ignoreIndex: Int32 = 255, smooth: Float = 0, eps: Float = 1e-7) -> Tensor {
    diceLoss(logits, targets: targets.map { Int32($0) }, ignoreIndex: ignoreIndex, smooth: smooth, eps: eps)
}
