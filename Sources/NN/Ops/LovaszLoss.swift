import Foundation

/// Lovász-softmax loss (Berman, Rannen Triki, Blaschko 2018, "The Lovász-Softmax loss: A
/// tractable surrogate for the optimization of the intersection-over-union measure"), as
/// `segmentation_models_pytorch.losses.LovaszLoss(mode="multiclass", per_image=False,
/// ignore_index)` computes it (PyTorch has none): p = softmax(logits); pixels equal to
/// `ignoreIndex` are dropped; for each class c present in the targets, the errors
/// e = |[label = c] − p_c| sorted in decreasing order are dotted with the gradient of the Lovász
/// extension of the Jaccard loss at the sorted ground truth,
/// g_1 = J_1, g_k = J_k − J_{k−1}, J_k = 1 − (G − Σ_{j≤k} fg_j) / (G + Σ_{j≤k} (1 − fg_j)), G = Σ fg;
/// the loss is the mean over the present classes (absent classes are skipped; none present: 0).
/// The whole batch is one set of pixels (`per_image=False`). The sort is treated as fixed in the
/// gradient, as autograd does. `logits` `[N, C, H, W]`, `targets` N·H·W row-major.
public func lovaszSoftmaxLoss(_ logits: Tensor, targets: [Int32], ignoreIndex: Int32 = 255) -> Tensor {
    let (N, C, H, W) = logits.dims4("lovasz_softmax")
    let plane = H * W
    require(targets.count == N * plane,
            "lovasz_softmax: \(targets.count) targets for logits \(logits.shape) (need N·H·W = \(N * plane))")
    for t in targets where t != ignoreIndex {
        require(t >= 0 && Int(t) < C, "lovasz_softmax: target class \(t) outside 0..<\(C) (and not ignore index \(ignoreIndex))")
    }
    let x = logits.plainNCHW().array
    // The counted pixels as (image, position), and their softmax probabilities [pixel][class].
    var pixels: [(n: Int, i: Int)] = []
    for n in 0..<N { for i in 0..<plane where targets[n * plane + i] != ignoreIndex { pixels.append((n, i)) } }
    let M = pixels.count
    var p = [Double](repeating: 0, count: M * C)
    for (j, (n, i)) in pixels.enumerated() {
        let base = n * C * plane + i
        var m = -Double.infinity
        for c in 0..<C { m = max(m, Double(x[base + c * plane])) }
        var s: Double = 0
        for c in 0..<C { let e = Foundation.exp(Double(x[base + c * plane]) - m); p[j * C + c] = e; s += e }
        for c in 0..<C { p[j * C + c] /= s }
    }
    let labels = pixels.map { Int(targets[$0.n * plane + $0.i]) }
    // d loss / d p[j, c], before dividing by the number of present classes.
    var gp = [Double](repeating: 0, count: M * C)
    var total: Double = 0, present = 0
    for c in 0..<C {
        let fg = labels.map { $0 == c ? 1.0 : 0.0 }
        let G = fg.reduce(0, +)
        guard G > 0 else { continue }
        present += 1
        let errors = (0..<M).map { abs(fg[$0] - p[$0 * C + c]) }
        let order = (0..<M).sorted { errors[$0] > errors[$1] }
        var inside: Double = 0, outside: Double = 0, previous: Double = 0
        for (k, j) in order.enumerated() {
            inside += fg[j]
            outside += 1 - fg[j]
            let jaccard = 1 - (G - inside) / (G + outside)
            let weight = k == 0 ? jaccard : jaccard - previous
            previous = jaccard
            total += errors[j] * weight
            // d|fg − p|/dp = −1 for the class's own pixels (p < 1), +1 elsewhere.
            gp[j * C + c] = fg[j] > 0 ? -weight : weight
        }
    }
    let value = present > 0 ? total / Double(present) : 0
    return Tensor(scalar: Float(value)).recording("lovasz_softmax", [logits]) { grad in
        var dx = [Float](repeating: 0, count: x.count)
        guard present > 0 else { return [Tensor(shape: [N, C, H, W], values: dx)] }
        let k = Double(grad.item) / Double(present)
        for (j, (n, i)) in pixels.enumerated() {
            // Softmax backward: dx_c = p_c·(g_c − Σ_k g_k p_k).
            var dot: Double = 0
            for c in 0..<C { dot += gp[j * C + c] * p[j * C + c] }
            for c in 0..<C { dx[n * C * plane + c * plane + i] = Float(k * p[j * C + c] * (gp[j * C + c] - dot)) }
        }
        return [Tensor(shape: [N, C, H, W], values: dx)]
    }
}

/// `lovaszSoftmaxLoss` with `UInt8` masks.
public func lovaszSoftmaxLoss(_ logits: Tensor, targets: [UInt8], ignoreIndex: Int32 = 255) -> Tensor {
    lovaszSoftmaxLoss(logits, targets: targets.map { Int32($0) }, ignoreIndex: ignoreIndex)
}
