/// The seam between the ops (autograd, shapes, layers) and the kernels that do the arithmetic.
///
/// A backend computes conv, transposed conv, max pool and batch norm, forward and backward.
/// It may return activations in its own memory layout (`TensorLayout.opaque`): elementwise ops
/// (ReLU, LeakyReLU, add, dropout) keep such a layout when all their inputs share it, the next
/// conv / pool / batch norm of the same backend reads it directly, and any other op converts to
/// NCHW through the layout's `toNCHW` (so a fast backend only needs to cover these four
/// families to keep data in its own format from layer to layer). Gradients handed to a
/// backward may be in NCHW or in the backend's layout; parameter gradients must be NCHW.
///
/// `context` is whatever the backend wants to keep from forward to backward (saved statistics,
/// a compiled primitive, an argmax workspace); the reference backend stores plain arrays.
public protocol Backend: AnyObject, Sendable {
    var name: String { get }

    /// `y[n, o] = bias[o] + Σ w[o, c, i, j] · x[n, g·C/g + c, …]` (cross-correlation).
    func convForward(x: Tensor, weight: Tensor, bias: Tensor?, geometry: ConvGeometry) -> (y: Tensor, context: AnyObject?)
    func convBackward(dy: Tensor, x: Tensor, weight: Tensor, geometry: ConvGeometry, context: AnyObject?,
                      needInput: Bool, needBias: Bool) -> (dx: Tensor?, dWeight: Tensor, dBias: Tensor?)

    /// Transposed conv; `geometry` is the matching forward conv (`ConvGeometry.transposed`).
    func convTransposeForward(x: Tensor, weight: Tensor, bias: Tensor?, geometry: ConvGeometry) -> (y: Tensor, context: AnyObject?)
    func convTransposeBackward(dy: Tensor, x: Tensor, weight: Tensor, geometry: ConvGeometry, context: AnyObject?,
                               needInput: Bool, needBias: Bool) -> (dx: Tensor?, dWeight: Tensor, dBias: Tensor?)

    func maxPoolForward(x: Tensor, geometry: PoolGeometry) -> (y: Tensor, context: AnyObject?)
    func maxPoolBackward(dy: Tensor, x: Tensor, geometry: PoolGeometry, context: AnyObject?) -> Tensor

    /// Batch norm over N, H, W per channel. In training it uses the batch statistics and updates
    /// `runningMean` / `runningVar` in place (`settings` says how); in inference it uses them.
    func batchNormForward(x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                          settings: BatchNormSettings, training: Bool) -> (y: Tensor, context: AnyObject?)
    func batchNormBackward(dy: Tensor, x: Tensor, gamma: Tensor, settings: BatchNormSettings, training: Bool,
                           context: AnyObject?) -> (dx: Tensor, dGamma: Tensor, dBeta: Tensor)

    // Layout-keeping extras. The defaults (below) are NN's NCHW loops; a backend with its own
    // layout overrides them so decoder paths (upsample → add, deconv → concat) stay in it.

    /// Nearest upsampling by integer factors; the backward gets the input's shape and layout.
    func upsampleNearestForward(x: Tensor, scale: (Int, Int)) -> Tensor
    func upsampleNearestBackward(dy: Tensor, inputShape: [Int], scale: (Int, Int), inputLayout: TensorLayout) -> Tensor
    /// Concatenation along channels, and the split of its gradient (nil where `needed` is false).
    func concatForward(_ xs: [Tensor]) -> Tensor
    func concatBackward(dy: Tensor, channels: [Int], needed: [Bool]) -> [Tensor?]
    /// `a + b` without autograd when their layouts differ (equal layouts add in place of memory).
    func add(_ a: Tensor, _ b: Tensor) -> Tensor
}

extension Backend {
    public func upsampleNearestForward(x: Tensor, scale: (Int, Int)) -> Tensor { upsampleNearestNCHW(x, scale: scale) }
    public func upsampleNearestBackward(dy: Tensor, inputShape: [Int], scale: (Int, Int), inputLayout: TensorLayout) -> Tensor {
        upsampleNearestGradNCHW(dy, inputShape: inputShape, scale: scale)
    }
    public func concatForward(_ xs: [Tensor]) -> Tensor { concatNCHW(xs) }
    public func concatBackward(dy: Tensor, channels: [Int], needed: [Bool]) -> [Tensor?] {
        concatGradNCHW(dy, channels: channels, needed: needed)
    }
    public func add(_ a: Tensor, _ b: Tensor) -> Tensor { addNCHW(a, b) }
}

/// The backend new ops use. Switch it before building a model's first forward pass.
public enum Backends {
    nonisolated(unsafe) public static var current: any Backend = ReferenceBackend.shared
    public static let reference = ReferenceBackend.shared
}

/// Batch-norm conventions. PyTorch: `running = (1 − m)·running + m·batch` with m = 0.1, eps 1e-5,
/// running variance unbiased (n / (n − 1)). Keras: `moving = k·moving + (1 − k)·batch` with k = 0.99,
/// eps 1e-3, moving variance biased (Keras 3 `moments`; tf.keras 2's fused kernel used the unbiased
/// one — set `unbiasedRunningVariance` to emulate it). `updateFraction` is PyTorch's momentum.
public struct BatchNormSettings: Sendable, Hashable, Codable {
    /// Weight of the batch statistic in the running-statistics update (PyTorch's `momentum`,
    /// `1 − momentum` in Keras).
    public var updateFraction: Float
    public var epsilon: Float
    /// Use the unbiased batch variance for the running variance (PyTorch) or the biased one (Keras).
    public var unbiasedRunningVariance: Bool

    public init(updateFraction: Float, epsilon: Float, unbiasedRunningVariance: Bool) {
        self.updateFraction = updateFraction
        self.epsilon = epsilon
        self.unbiasedRunningVariance = unbiasedRunningVariance
    }

    /// PyTorch `nn.BatchNorm2d` defaults (momentum 0.1, eps 1e-5).
    public static func pytorch(momentum: Float = 0.1, epsilon: Float = 1e-5) -> BatchNormSettings {
        BatchNormSettings(updateFraction: momentum, epsilon: epsilon, unbiasedRunningVariance: true)
    }

    /// Keras `BatchNormalization` defaults (momentum 0.99 kept, eps 1e-3).
    public static func keras(momentum: Float = 0.99, epsilon: Float = 1e-3) -> BatchNormSettings {
        BatchNormSettings(updateFraction: 1 - momentum, epsilon: epsilon, unbiasedRunningVariance: false)
    }
}
