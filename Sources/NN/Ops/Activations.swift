import Foundation

// MobileNetV3's activations (torchvision's `nn.Hardswish`, `nn.Hardsigmoid`) and LR-ASPP's
// `nn.Sigmoid`, elementwise in the input's layout, with PyTorch's forward arithmetic and its
// backward at the kinks (hardswish: 0 at and below −3, slope x/3 + 1/2 strictly inside (−3, 3),
// 1 at and above 3; hardsigmoid: 1/6 strictly inside (−3, 3), 0 at and outside the kinks).

/// `x · min(max(x + 3, 0), 6) / 6` (PyTorch `hardswish`).
public func hardswish(_ x: Tensor) -> Tensor {
    let y = map(x) { v in v * min(max(v + 3, 0), 6) / 6 }
    let saved = x.detached()
    return y.recording("hardswish", [x]) { g in
        [elementwiseGrad(g, saved) { gv, xv in xv <= -3 ? 0 : (xv < 3 ? gv * (xv / 3 + 0.5) : gv) }]
    }
}

/// `min(max(x + 3, 0), 6) / 6` (PyTorch `hardsigmoid`).
public func hardsigmoid(_ x: Tensor) -> Tensor {
    let y = map(x) { v in min(max(v + 3, 0), 6) / 6 }
    let saved = x.detached()
    return y.recording("hardsigmoid", [x]) { g in
        [elementwiseGrad(g, saved) { gv, xv in xv > -3 && xv < 3 ? gv / 6 : 0 }]
    }
}

/// `1 / (1 + e^−x)`, computed without overflow for large |x|; backward `y · (1 − y)`.
public func sigmoid(_ x: Tensor) -> Tensor {
    let y = map(x) { v in v >= 0 ? 1 / (1 + Foundation.exp(-v)) : Foundation.exp(v) / (1 + Foundation.exp(v)) }
    let saved = y.detached()
    return y.recording("sigmoid", [x]) { g in
        [elementwiseGrad(g, saved) { gv, yv in gv * yv * (1 - yv) }]
    }
}

/// `f(g[i], saved[i])` for every element, in the layout the two share (NCHW otherwise).
func elementwiseGrad(_ g: Tensor, _ saved: Tensor, _ f: @escaping (Float, Float) -> Float) -> Tensor {
    withMatchedLayouts(g, saved) { gd, sd, layout in
        let dx = Tensor(shape: g.shape, storage: Storage(count: g.count, zeroed: false), layout: layout)
        let d = dx.data
        parallelFor(g.count, grain: elementwiseGrain) { r in for i in r { d[i] = f(gd[i], sd[i]) } }
        return dx
    }
}

/// `x · s` with one factor per image and channel: `x` `[N, C, H, W]`, `s` `[N, C, 1, 1]` (the
/// squeeze-excitation of MobileNetV3 and LR-ASPP's attention, PyTorch's broadcast `s * x`).
/// Backward: `dx = dy · s`, `ds = Σ_hw dy · x` (in Double). NCHW out.
public func scaleChannels(_ x: Tensor, by s: Tensor) -> Tensor {
    let (N, C, H, W) = x.dims4("scale_channels")
    require(s.shape == [N, C, 1, 1], "scale_channels: factors must be [\(N), \(C), 1, 1], got \(s.shape)")
    let plane = H * W
    let y = Tensor(uninitialized: [N, C, H, W])
    let yd = y.data
    withNCHW(x, s) { xs, ss in
        parallelFor(N * C) { planes in
            for p in planes {
                let k = ss[p], src = xs + p * plane, dst = yd + p * plane
                for i in 0..<plane { dst[i] = src[i] * k }
            }
        }
    }
    let savedX = x.detached(), savedS = s.detached()
    return y.recording("scale_channels", [x, s]) { g in
        let dx = Tensor(uninitialized: [N, C, H, W]), ds = Tensor(uninitialized: [N, C, 1, 1])
        let dxd = dx.data, dsd = ds.data
        g.withNCHW { gs in
            withNCHW(savedX, savedS) { xs, ss in
                parallelFor(N * C) { planes in
                    for p in planes {
                        let k = ss[p], gp = gs + p * plane, xp = xs + p * plane, dp = dxd + p * plane
                        var acc: Double = 0
                        for i in 0..<plane {
                            dp[i] = gp[i] * k
                            acc += Double(gp[i]) * Double(xp[i])
                        }
                        dsd[p] = Float(acc)
                    }
                }
            }
        }
        return [dx, ds]
    }
}

/// PyTorch `nn.Hardswish`.
public final class Hardswish: Module, Layer {
    public override init() { super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { hardswish(x) }
}

/// PyTorch `nn.Hardsigmoid`.
public final class Hardsigmoid: Module, Layer {
    public override init() { super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { hardsigmoid(x) }
}

/// PyTorch `nn.Sigmoid`.
public final class Sigmoid: Module, Layer {
    public override init() { super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { sigmoid(x) }
}
