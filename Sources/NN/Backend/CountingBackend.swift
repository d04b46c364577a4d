import Foundation

/// A backend that forwards every call to `inner` and adds up the arithmetic of the convs and
/// transposed convs it sees (2 flops per multiply-add), for `bench train`'s achieved GFLOP/s.
///
///     let counter = CountingBackend(inner: Backends.current)
///     Backends.current = counter; step(); Backends.current = counter.inner
///     counter.forwardFlops + counter.backwardFlops
///
/// Forward: `ConvGeometry.flops` per conv (a transposed conv is the input gradient of its
/// geometry's conv, the same product). Backward: the weight gradient is one such product, the
/// input gradient another when it is asked for (`needInput`; the first layer's is not). Results
/// stay in `inner`'s layouts, so the counted step runs the kernels the timed one does.
public final class CountingBackend: Backend, @unchecked Sendable {
    public let inner: any Backend
    private let lock = NSLock()
    private var forward: Double = 0
    private var backward: Double = 0
    private var convCount = 0

    public init(inner: any Backend) { self.inner = inner }

    public var name: String { inner.name }

    /// Flops of the forward passes counted so far.
    public var forwardFlops: Double { lock.lock(); defer { lock.unlock() }; return forward }
    /// Flops of the backward passes counted so far.
    public var backwardFlops: Double { lock.lock(); defer { lock.unlock() }; return backward }
    /// Conv and transposed-conv forwards seen.
    public var convolutions: Int { lock.lock(); defer { lock.unlock() }; return convCount }

    public func reset() { lock.lock(); forward = 0; backward = 0; convCount = 0; lock.unlock() }

    private func add(forward f: Double = 0, backward b: Double = 0, conv: Bool = false) {
        lock.lock(); forward += f; backward += b; if conv { convCount += 1 }; lock.unlock()
    }

    public func convForward(x: Tensor, weight: Tensor, bias: Tensor?, geometry: ConvGeometry) -> (y: Tensor, context: AnyObject?) {
        add(forward: geometry.flops, conv: true)
        return inner.convForward(x: x, weight: weight, bias: bias, geometry: geometry)
    }

    public func convBackward(dy: Tensor, x: Tensor, weight: Tensor, geometry: ConvGeometry, context: AnyObject?,
                             needInput: Bool, needBias: Bool) -> (dx: Tensor?, dWeight: Tensor, dBias: Tensor?) {
        add(backward: geometry.flops * (needInput ? 2 : 1))
        return inner.convBackward(dy: dy, x: x, weight: weight, geometry: geometry, context: context,
                                  needInput: needInput, needBias: needBias)
    }

    public func convTransposeForward(x: Tensor, weight: Tensor, bias: Tensor?, geometry: ConvGeometry) -> (y: Tensor, context: AnyObject?) {
        add(forward: geometry.flops, conv: true)
        return inner.convTransposeForward(x: x, weight: weight, bias: bias, geometry: geometry)
    }

    public func convTransposeBackward(dy: Tensor, x: Tensor, weight: Tensor, geometry: ConvGeometry, context: AnyObject?,
                                      needInput: Bool, needBias: Bool) -> (dx: Tensor?, dWeight: Tensor, dBias: Tensor?) {
        add(backward: geometry.flops * (needInput ? 2 : 1))
        return inner.convTransposeBackward(dy: dy, x: x, weight: weight, geometry: geometry, context: context,
                                           needInput: needInput, needBias: needBias)
    }

    public func maxPoolForward(x: Tensor, geometry: PoolGeometry) -> (y: Tensor, context: AnyObject?) {
        inner.maxPoolForward(x: x, geometry: geometry)
    }

    public func maxPoolBackward(dy: Tensor, x: Tensor, geometry: PoolGeometry, context: AnyObject?) -> Tensor {
        inner.maxPoolBackward(dy: dy, x: x, geometry: geometry, context: context)
    }

    public func batchNormForward(x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                                 settings: BatchNormSettings, training: Bool) -> (y: Tensor, context: AnyObject?) {
        inner.batchNormForward(x: x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                               settings: settings, training: training)
    }

    public func batchNormBackward(dy: Tensor, x: Tensor, gamma: Tensor, settings: BatchNormSettings, training: Bool,
                                  context: AnyObject?) -> (dx: Tensor, dGamma: Tensor, dBeta: Tensor) {
        inner.batchNormBackward(dy: dy, x: x, gamma: gamma, settings: settings, training: training, context: context)
    }

    public func upsampleNearestForward(x: Tensor, scale: (Int, Int)) -> Tensor { inner.upsampleNearestForward(x: x, scale: scale) }

    public func upsampleNearestBackward(dy: Tensor, inputShape: [Int], scale: (Int, Int), inputLayout: TensorLayout) -> Tensor {
        inner.upsampleNearestBackward(dy: dy, inputShape: inputShape, scale: scale, inputLayout: inputLayout)
    }

    public func concatForward(_ xs: [Tensor]) -> Tensor { inner.concatForward(xs) }

    public func concatBackward(dy: Tensor, channels: [Int], needed: [Bool]) -> [Tensor?] {
        inner.concatBackward(dy: dy, channels: channels, needed: needed)
    }

    public func add(_ a: Tensor, _ b: Tensor) -> Tensor { inner.add(a, b) }
}
