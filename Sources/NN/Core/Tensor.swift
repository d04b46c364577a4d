import Foundation

/// A block of Float32 memory taken from the `BufferPool` and handed back when the last tensor
/// using it goes away, so a training loop that repeats the same shapes allocates nothing after
/// its first step.
public final class Storage: @unchecked Sendable {
    /// Number of Float32 elements.
    public let count: Int
    public let data: UnsafeMutablePointer<Float>
    /// Bumped by every in-place write through the tensor API (`assign`, `fill`, optimizer steps,
    /// weight loading): a backend that keeps a prepared copy of a parameter (oneDNN's reordered
    /// weights) reuses it only while the version is unchanged. Code that writes a parameter
    /// through `data` directly must call `markModified()`.
    public private(set) var version: UInt64 = 0

    /// Records an in-place write (see `version`).
    public func markModified() { version &+= 1 }

    /// Memory from the pool, zeroed when `zeroed` (otherwise its contents are arbitrary).
    public init(count: Int, zeroed: Bool = true) {
        self.count = count
        data = BufferPool.shared.take(count)
        if zeroed { data.update(repeating: 0, count: count) }
    }

    deinit { BufferPool.shared.give(data, count: count) }
}

/// Where a tensor's elements live. `.nchw` is the plain row-major NCHW order every reference op
/// reads; a backend may keep activations in its own order (oneDNN's blocked `nChw16c`, say)
/// between its own layers and converts only when an op that needs NCHW sees them.
public enum TensorLayout: Sendable {
    case nchw
    case opaque(any OpaqueLayout)

    public var isNCHW: Bool { if case .nchw = self { return true } else { return false } }
}

/// A backend's private memory order. Conversions are autograd ops (see `Tensor.nchw()`).
public protocol OpaqueLayout: AnyObject, Sendable {
    var name: String { get }
    /// The same values as a plain NCHW tensor (no autograd).
    func toNCHW(_ t: Tensor) -> Tensor
    /// `t` (NCHW, same logical shape) converted into this layout (no autograd).
    func fromNCHW(_ t: Tensor) -> Tensor
}

/// A Float32 tensor. Activations are NCHW: `[batch, channels, height, width]`; conv weights are
/// `[out, in / groups, kh, kw]`, transposed-conv weights `[in, out, kh, kw]` (PyTorch's orders).
///
/// A tensor is a reference: ops never mutate their inputs, they return new tensors whose
/// memory comes from the `BufferPool`. A tensor that `requiresGrad` (a parameter) or that was
/// computed from one carries the autograd node that made it; `backward()` on a scalar walks them.
public final class Tensor: @unchecked Sendable, CustomStringConvertible {
    /// Logical shape (always NCHW order for 4-D activations, whatever the layout).
    public let shape: [Int]
    public let storage: Storage
    public let layout: TensorLayout
    /// Set on parameters; gradients are accumulated into `grad` by `backward()`.
    public var requiresGrad: Bool
    /// Accumulated gradient (same shape, NCHW), or nil before the first backward / after `zeroGrad`.
    public var grad: Tensor?
    /// The op that produced this tensor, while a graph is alive.
    var node: Node?

    public init(shape: [Int], storage: Storage, layout: TensorLayout = .nchw, requiresGrad: Bool = false) {
        require(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        require(shape.reduce(1, *) <= storage.count,
                     "Tensor: shape \(shape) needs \(shape.reduce(1, *)) elements, storage has \(storage.count)")
        self.shape = shape
        self.storage = storage
        self.layout = layout
        self.requiresGrad = requiresGrad
    }

    /// A zero-filled tensor.
    public convenience init(zeros shape: [Int]) {
        self.init(shape: shape, storage: Storage(count: shape.reduce(1, *), zeroed: true))
    }

    /// An uninitialised tensor (every element must be written before it is read).
    public convenience init(uninitialized shape: [Int]) {
        self.init(shape: shape, storage: Storage(count: shape.reduce(1, *), zeroed: false))
    }

    /// A tensor holding `values` (row-major); `values.count` must equal the product of `shape`.
    public convenience init(shape: [Int], values: [Float]) {
        let n = shape.reduce(1, *)
        require(values.count == n, "Tensor(shape: \(shape), values:) got \(values.count) values, expected \(n)")
        self.init(uninitialized: shape)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { storage.data.update(from: base, count: n) }
        }
    }

    /// A tensor filled with `value`.
    public convenience init(shape: [Int], repeating value: Float) {
        self.init(uninitialized: shape)
        storage.data.update(repeating: value, count: count)
    }

    /// A 0-dimensional tensor (a loss, a step count).
    public convenience init(scalar: Float) { self.init(shape: [], values: [scalar]) }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// Number of dimensions.
    public var rank: Int { shape.count }
    /// First element pointer (NCHW order only when `layout.isNCHW`).
    public var data: UnsafeMutablePointer<Float> { storage.data }
    /// The value of a one-element tensor.
    public var item: Float {
        require(count == 1, "Tensor.item needs a one-element tensor, got shape \(shape)")
        return withNCHW { $0[0] }
    }
    /// The elements in NCHW order.
    public var array: [Float] {
        withNCHW { Array(UnsafeBufferPointer(start: $0, count: count)) }
    }

    public var description: String { "Tensor\(shape)" }

    // MARK: 4-D accessors

    /// `(n, c, h, w)` of a 4-D tensor; stops with a message naming `op` otherwise.
    public func dims4(_ op: String) -> (n: Int, c: Int, h: Int, w: Int) {
        require(shape.count == 4, "\(op): expected a 4-D NCHW tensor, got shape \(shape)")
        return (shape[0], shape[1], shape[2], shape[3])
    }

    // MARK: NCHW access

    /// Calls `body` with the elements in NCHW order. For a tensor in a backend's own layout the
    /// pointer is into a converted copy (no autograd) that lives exactly as long as the call, so
    /// the pointer must not escape `body`.
    public func withNCHW<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        let values = plainNCHW()
        return try withExtendedLifetime(values) { try body(UnsafePointer(values.storage.data)) }
    }

    /// Calls `body` with this NCHW tensor's memory to write in place (the write is recorded by
    /// `Storage.markModified()`). Stops on a tensor in a backend's own layout: writes to a
    /// converted copy would be lost.
    public func withMutableNCHW<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
        require(layout.isNCHW, "Tensor: writing in place needs an NCHW tensor, not one in a backend's own layout")
        defer { storage.markModified() }
        return try withExtendedLifetime(self) { try body(storage.data) }
    }

    /// This tensor's values as a plain NCHW tensor outside any graph: itself when already NCHW,
    /// otherwise a converted copy. For results that must outlive one scope (a reshape's storage,
    /// a saved batch-norm shift); the returned tensor owns that memory, so hold it, not a
    /// pointer taken from it.
    func plainNCHW() -> Tensor {
        switch layout {
        case .nchw: return self
        case .opaque(let l): return l.toNCHW(self)
        }
    }

    /// A tensor sharing this one's memory, outside any graph and without gradient.
    public func detached() -> Tensor { Tensor(shape: shape, storage: storage, layout: layout) }

    /// A deep copy (NCHW), outside any graph.
    public func copy() -> Tensor {
        let t = Tensor(uninitialized: shape)
        withNCHW { t.data.update(from: $0, count: count) }
        return t
    }

    /// Overwrites the elements with `other`'s (same element count; no autograd). Used for loading
    /// checkpoints and by optimizers.
    public func assign(_ other: Tensor) {
        require(other.count == count, "Tensor.assign: shape \(other.shape) into \(shape)")
        other.withNCHW { source in withMutableNCHW { $0.update(from: source, count: count) } }
    }

    /// Sets every element to `value` (no autograd).
    public func fill(_ value: Float) {
        withMutableNCHW { $0.update(repeating: value, count: count) }
    }
}
