import Foundation

/// Learning rate as a function of the iteration (0-based, counted in optimizer steps).
/// With `warmupIterations > 0` the rate rises linearly from `base·warmupStartFactor` to `base`
/// over those iterations (PyTorch `LinearLR`), then the main schedule runs on the iterations
/// after the warm-up (as torchvision's segmentation reference chains them).
public struct LRSchedule: Sendable, Hashable, Codable {
    public enum Kind: Sendable, Hashable, Codable {
        case constant
        /// `base · gamma^(⌊i / every⌋)` (PyTorch `StepLR`).
        case step(every: Int, gamma: Float)
        /// `base · (1 − i / total)^power`, per iteration (torchvision reference: power 0.9);
        /// 0 after `total`.
        case poly(totalIterations: Int, power: Float)
        /// `min + (base − min)·(1 + cos(π·i / total)) / 2` (PyTorch `CosineAnnealingLR` up to `total`;
        /// it then stays at `min` where PyTorch's would rise again).
        case cosine(totalIterations: Int, minimum: Float)
    }

    public var base: Float
    public var kind: Kind
    public var warmupIterations: Int
    public var warmupStartFactor: Float

    public init(base: Float, kind: Kind = .constant, warmupIterations: Int = 0, warmupStartFactor: Float = 0.001) {
        self.base = base; self.kind = kind
        self.warmupIterations = max(0, warmupIterations); self.warmupStartFactor = warmupStartFactor
    }

    public func learningRate(at iteration: Int) -> Float {
        if iteration < warmupIterations {
            let f = warmupStartFactor + (1 - warmupStartFactor) * Float(iteration) / Float(warmupIterations)
            return base * f
        }
        let i = iteration - warmupIterations
        switch kind {
        case .constant:
            return base
        case .step(let every, let gamma):
            return base * Float(pow(Double(gamma), Double(i / max(every, 1))))
        case .poly(let total, let power):
            let t = min(Double(i), Double(total)) / Double(max(total, 1))
            return base * Float(pow(1 - t, Double(power)))
        case .cosine(let total, let minimum):
            let t = min(Double(i), Double(total)) / Double(max(total, 1))
            return minimum + (base - minimum) * Float((1 + cos(Double.pi * t)) / 2)
        }
    }
}
