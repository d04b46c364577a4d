import Foundation

/// Mean over each channel's plane: `[N, C, H, W]` → `[N, C, 1, 1]` (PyTorch
/// `adaptive_avg_pool2d(x, 1)`, the image pooling of DeepLabV3's ASPP and of LR-ASPP).
/// Backward: every input cell gets `dy / (H·W)`. NCHW out (a backend's layout is read through
/// `withNCHW`); sums in Double so large planes lose nothing.
public func globalAveragePool(_ x: Tensor) -> Tensor {
    let (N, C, H, W) = x.dims4("global_average_pool")
    let plane = H * W
    require(plane > 0, "global_average_pool: empty input \(x.shape)")
    let y = Tensor(uninitialized: [N, C, 1, 1])
    let yd = y.data
    x.withNCHW { xs in
        parallelFor(N * C) { planes in
            for p in planes {
                let src = xs + p * plane
                var s: Double = 0
                for i in 0..<plane { s += Double(src[i]) }
                yd[p] = Float(s / Double(plane))
            }
        }
    }
    return y.recording("global_average_pool", [x]) { g in
        let dx = Tensor(uninitialized: [N, C, H, W])
        let d = dx.data
        let k = 1 / Float(plane)
        g.withNCHW { gs in
            parallelFor(N * C) { planes in
                for p in planes {
                    let v = gs[p] * k
                    (d + p * plane).update(repeating: v, count: plane)
                }
            }
        }
        return [dx]
    }
}

/// `globalAveragePool` as a layer (PyTorch `nn.AdaptiveAvgPool2d(1)`; other output sizes are
/// not needed by any network here).
public final class AdaptiveAvgPool2d: Module, Layer {
    public override init() { super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { globalAveragePool(x) }
}
