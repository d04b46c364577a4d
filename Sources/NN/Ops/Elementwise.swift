import Foundation

/// Elementwise sum of two tensors of the same shape (residual connections).
public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
    require(a.shape == b.shape, "add: shapes differ, \(a.shape) vs \(b.shape)")
    return addNoGrad(a, b).recording("add", [a, b]) { g in [g, g] }
}

public func + (a: Tensor, b: Tensor) -> Tensor { add(a, b) }

/// `x · factor` elementwise.
public func scale(_ x: Tensor, by factor: Float) -> Tensor {
    let out = map(x) { $0 * factor }
    return out.recording("scale", [x]) { g in [map(g) { $0 * factor }] }
}

/// A new tensor with `f` applied to every element (no autograd; keeps the layout).
@inline(__always)
func map(_ x: Tensor, _ f: (Float) -> Float) -> Tensor {
    let out = Tensor(shape: x.shape, storage: Storage(count: x.count, zeroed: false), layout: x.layout)
    let s = x.storage.data, d = out.data
    parallelFor(x.count, grain: elementwiseGrain) { r in for i in r { d[i] = f(s[i]) } }
    return out
}

/// Rectified linear unit `max(x, 0)`.
public func relu(_ x: Tensor) -> Tensor { leakyRelu(x, slope: 0) }

/// `x` for x > 0, `slope·x` otherwise (Keras `LeakyReLU` default 0.3, PyTorch 0.01).
public func leakyRelu(_ x: Tensor, slope: Float) -> Tensor {
    let y = Tensor(shape: x.shape, storage: Storage(count: x.count, zeroed: false), layout: x.layout)
    let xs = x.storage.data, yd = y.data
    parallelFor(x.count, grain: elementwiseGrain) { r in
        if slope == 0 {
            for i in r { yd[i] = max(xs[i], 0) }
        } else {
            for i in r { let v = xs[i]; yd[i] = v > 0 ? v : v * slope }
        }
    }
    let saved = y.detached()
    return y.recording(slope == 0 ? "relu" : "leaky_relu", [x]) { g in
        withMatchedLayouts(g, saved) { gd, yd, layout in
            let dx = Tensor(shape: g.shape, storage: Storage(count: g.count, zeroed: false), layout: layout)
            let d = dx.data
            parallelFor(g.count, grain: elementwiseGrain) { r in
                for i in r { d[i] = yd[i] > 0 ? gd[i] : gd[i] * slope }
            }
            return [dx]
        }
    }
}

/// Concatenation along channels: `[N, C_i, H, W]` → `[N, ΣC_i, H, W]` (U-Net skip connections).
public func concat(_ xs: [Tensor], backend: any Backend = Backends.current) -> Tensor {
    require(!xs.isEmpty, "concat: needs at least one tensor")
    let (N, _, H, W) = xs[0].dims4("concat")
    for x in xs {
        let d = x.dims4("concat")
        require(d.n == N && d.h == H && d.w == W,
                     "concat: all inputs need the same N, H, W; got \(xs.map(\.shape))")
    }
    // Channel counts and flags only: capturing the inputs would keep them alive until the backward.
    let channels = xs.map { $0.shape[1] }, needs = xs.map(\.needsGrad)
    return backend.concatForward(xs).recording("concat", xs) { g in
        backend.concatBackward(dy: g, channels: channels, needed: needs)
    }
}

/// `concat` on NCHW memory (no autograd).
func concatNCHW(_ xs: [Tensor]) -> Tensor {
    let (N, _, H, W) = xs[0].dims4("concat")
    let channels = xs.map { $0.shape[1] }, total = channels.reduce(0, +), plane = H * W
    let out = Tensor(uninitialized: [N, total, H, W])
    let od = out.data
    var offset = 0
    for (x, c) in zip(xs, channels) {
        let off = offset
        x.withNCHW { s in
            parallelFor(N) { r in
                for n in r { (od + (n * total + off) * plane).update(from: s + n * c * plane, count: c * plane) }
            }
        }
        offset += c
    }
    return out
}

/// The gradient of `concatNCHW`: `dy`'s channel slices (NCHW), nil where not `needed`.
func concatGradNCHW(_ g: Tensor, channels: [Int], needed: [Bool]) -> [Tensor?] {
    let (N, total, H, W) = g.dims4("concat")
    let plane = H * W
    return g.withNCHW { gs in
        var grads: [Tensor?] = []
        var off = 0
        for (need, c) in zip(needed, channels) {
            if need {
                let t = Tensor(uninitialized: [N, c, H, W])
                let td = t.data, o = off
                parallelFor(N) { r in
                    for n in r { (td + n * c * plane).update(from: gs + (n * total + o) * plane, count: c * plane) }
                }
                grads.append(t)
            } else {
                grads.append(nil)
            }
            off += c
        }
        return grads
    }
}

/// Inverted dropout: in training zeroes each element with probability `p` and scales the rest by
/// `1 / (1 − p)`; identity otherwise.
public func dropout(_ x: Tensor, p: Float, training: Bool, generator: Generator = .default) -> Tensor {
    require(p >= 0 && p < 1, "dropout: probability must be in [0, 1), got \(p)")
    if !training || p == 0 { return x }
    // The mask is in the input's memory order.
    let mask = Tensor(shape: x.shape, storage: Storage(count: x.count, zeroed: false), layout: x.layout)
    generator.fillUniform(mask.data, count: x.count, low: 0, high: 1)
    let keep = 1 / (1 - p), m = mask.data
    for i in 0..<x.count { m[i] = m[i] < p ? 0 : keep }
    let out = Tensor(shape: x.shape, storage: Storage(count: x.count, zeroed: false), layout: x.layout)
    let s = x.storage.data, d = out.data
    parallelFor(x.count, grain: elementwiseGrain) { r in for i in r { d[i] = s[i] * m[i] } }
    return out.recording("dropout", [x]) { g in
        withMatchedLayouts(g, mask) { gd, md, layout in
            let dx = Tensor(shape: g.shape, storage: Storage(count: g.count, zeroed: false), layout: layout)
            let dd = dx.data
            parallelFor(g.count, grain: elementwiseGrain) { r in for i in r { dd[i] = gd[i] * md[i] } }
            return [dx]
        }
    }
}

/// `Σ x·w` over all elements, a scalar (`w` is a constant of the same shape; gradient checks).
public func weightedSum(_ x: Tensor, _ w: Tensor) -> Tensor {
    require(x.shape == w.shape, "weightedSum: shapes differ, \(x.shape) vs \(w.shape)")
    let acc = withNCHW(x, w) { xs, ws in
        var acc: Double = 0
        for i in 0..<x.count { acc += Double(xs[i]) * Double(ws[i]) }
        return acc
    }
    return Tensor(scalar: Float(acc)).recording("weighted_sum", [x]) { g in
        let k = g.item
        let dx = Tensor(uninitialized: x.shape)
        let d = dx.data
        w.withNCHW { ws in for i in 0..<x.count { d[i] = ws[i] * k } }
        return [dx]
    }
}

/// Mean of all elements, a scalar.
public func mean(_ x: Tensor) -> Tensor {
    let acc = x.withNCHW { xs in
        var acc: Double = 0
        for i in 0..<x.count { acc += Double(xs[i]) }
        return acc
    }
    let n = Float(x.count)
    return Tensor(scalar: Float(acc) / n).recording("mean", [x]) { g in
        [Tensor(shape: x.shape, repeating: g.item / n)]
    }
}

extension Tensor {
    /// The same elements with another shape (same count); NCHW.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        require(newShape.reduce(1, *) == count, "reshape: \(shape) has \(count) elements, \(newShape) has \(newShape.reduce(1, *))")
        let old = shape
        return Tensor(shape: newShape, storage: plainNCHW().storage).recording("reshape", [self]) { g in
            [Tensor(shape: old, storage: g.plainNCHW().storage)]
        }
    }

    /// This tensor in plain NCHW memory order (itself when already NCHW), as an autograd op.
    public func nchw() -> Tensor {
        guard case .opaque(let l) = layout else { return self }
        return l.toNCHW(self).recording("to_nchw", [self]) { g in [l.fromNCHW(g.detached())] }
    }
}
