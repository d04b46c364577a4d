import Foundation

/// Multi-class focal loss, the definition of
/// `segmentation_models_pytorch.losses.FocalLoss(mode="multiclass", alpha, gamma, ignore_index,
/// reduction="mean", normalized=False)` (PyTorch has none for segmentation; torchvision's
/// `sigmoid_focal_loss` is the binary term below): for every class c a one-vs-rest sigmoid focal
/// loss on the logit x_c with target y = [label = c],
/// ℓ = BCE(x_c, y), p_t = exp(−ℓ), term = (1 − p_t)^γ · ℓ  (times α·y + (1 − α)·(1 − y) with `alpha`),
/// averaged over the pixels not equal to `ignoreIndex` and summed over the C classes (Lin et al.
/// 2017, "Focal Loss for Dense Object Detection"). γ = 0 without α is the sum of the C binary
/// cross-entropies. `logits` `[N, C, H, W]`, `targets` N·H·W row-major. No counted pixel: loss 0,
/// zero gradient (smp gives NaN).
public func focalLoss(_ logits: Tensor, targets: [Int32], gamma: Float = 2, alpha: Float? = nil,
                      ignoreIndex: Int32 = 255) -> Tensor {
    let (N, C, H, W) = logits.dims4("focal_loss")
    let plane = H * W
    require(targets.count == N * plane,
            "focal_loss: \(targets.count) targets for logits \(logits.shape) (need N·H·W = \(N * plane))")
    require(gamma >= 0, "focal_loss: gamma \(gamma) must be ≥ 0")
    if let alpha { require(alpha >= 0 && alpha <= 1, "focal_loss: alpha \(alpha) outside [0, 1]") }
    for t in targets where t != ignoreIndex {
        require(t >= 0 && Int(t) < C, "focal_loss: target class \(t) outside 0..<\(C) (and not ignore index \(ignoreIndex))")
    }
    let x = logits.plainNCHW().array
    let g = Double(gamma)
    let counted = targets.reduce(0) { $0 + ($1 == ignoreIndex ? 0 : 1) }
    var total: Double = 0
    // d term / d x, stored per element for the backward (0 at ignored pixels).
    var slope = [Double](repeating: 0, count: x.count)
    for n in 0..<N {
        for i in 0..<plane {
            let t = targets[n * plane + i]
            if t == ignoreIndex { continue }
            for c in 0..<C {
                let k = n * C * plane + c * plane + i
                let v = Double(x[k]), y: Double = Int(t) == c ? 1 : 0
                let bce = max(v, 0) - v * y + Foundation.log1p(Foundation.exp(-abs(v)))
                let pt = Foundation.exp(-bce), miss = -Foundation.expm1(-bce)  // 1 − p_t without cancellation
                let sigmoid = v >= 0 ? 1 / (1 + Foundation.exp(-v)) : Foundation.exp(v) / (1 + Foundation.exp(v))
                let balance = alpha.map { Double($0) * y + (1 - Double($0)) * (1 - y) } ?? 1
                let focus = Foundation.pow(miss, g)
                total += balance * focus * bce
                // d/dx [(1 − p_t)^γ ℓ] = (σ − y)·(γ (1 − p_t)^(γ−1) p_t ℓ + (1 − p_t)^γ), with dℓ/dx = σ − y.
                let bend = miss > 0 && g > 0 ? g * Foundation.pow(miss, g - 1) * pt * bce : 0
                slope[k] = balance * (sigmoid - y) * (bend + focus)
            }
        }
    }
    let value = counted > 0 ? total / Double(counted) : 0
    return Tensor(scalar: Float(value)).recording("focal_loss", [logits]) { grad in
        let k = counted > 0 ? Double(grad.item) / Double(counted) : 0
        return [Tensor(shape: [N, C, H, W], values: slope.map { Float(k * $0) })]
    }
}

/// `focalLoss` with `UInt8` masks.
public func focalLoss(_ logits: Tensor, targets: [UInt8], gamma: Float = 2, alpha: Float? = nil,
                      ignoreIndex: Int32 = 255) -> Tensor {
    focalLoss(logits, targets: targets.map { Int32($0) }, gamma: gamma, alpha: alpha, ignoreIndex: ignoreIndex)
}
