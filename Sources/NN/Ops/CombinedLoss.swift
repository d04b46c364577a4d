/// One loss of a training recipe with its settings (an entry of MMSegmentation's `loss_decode`
/// list), so a recipe can name its losses as data and sum them (`combinedLoss`).
public enum SegmentationLoss: Sendable, Equatable {
    case crossEntropy(weights: [Float]? = nil, labelSmoothing: Float = 0,
                      normalization: CrossEntropyNormalization = .weightedTargets)
    case dice(smooth: Float = 0)
    case focal(gamma: Float = 2, alpha: Float? = nil)
    case lovasz
    case ohem(threshold: Float = 0.7, minKept: Int = 100_000, weights: [Float]? = nil,
              normalization: CrossEntropyNormalization = .weightedTargets)

    /// The loss of `logits` `[N, C, H, W]` against `targets` (N·H·W, `ignoreIndex` counts nowhere).
    public func callAsFunction(_ logits: Tensor, targets: [Int32], ignoreIndex: Int32 = 255) -> Tensor {
        switch self {
        case let .crossEntropy(weights, labelSmoothing, normalization):
            return NN.crossEntropy(logits, targets: targets, ignoreIndex: ignoreIndex, weights: weights,
                                   labelSmoothing: labelSmoothing, normalization: normalization)
        case let .dice(smooth):
            return diceLoss(logits, targets: targets, ignoreIndex: ignoreIndex, smooth: smooth)
        case let .focal(gamma, alpha):
            return focalLoss(logits, targets: targets, gamma: gamma, alpha: alpha, ignoreIndex: ignoreIndex)
        case .lovasz:
            return lovaszSoftmaxLoss(logits, targets: targets, ignoreIndex: ignoreIndex)
        case let .ohem(threshold, minKept, weights, normalization):
            return ohemCrossEntropy(logits, targets: targets, threshold: threshold, minKept: minKept,
                                    ignoreIndex: ignoreIndex, weights: weights, normalization: normalization)
        }
    }
}

/// Σ weight · loss over `terms`, e.g. `[(.crossEntropy(), 1), (.dice(), 3)]` (MMSegmentation's
/// several `loss_decode` entries, each with its `loss_weight`, are added the same way).
public func combinedLoss(_ terms: [(loss: SegmentationLoss, weight: Float)], _ logits: Tensor, targets: [Int32],
                         ignoreIndex: Int32 = 255) -> Tensor {
    require(!terms.isEmpty, "combined_loss: no loss terms")
    let parts = terms.map { term -> Tensor in
        let value = term.loss(logits, targets: targets, ignoreIndex: ignoreIndex)
        return term.weight == 1 ? value : scale(value, by: term.weight)
    }
    return parts.dropFirst().reduce(parts[0], +)
}
