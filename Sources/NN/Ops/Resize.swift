import Foundation

/// Nearest-neighbour upsampling by integer factors: `[N, C, H, W]` → `[N, C, H·sh, W·sw]`
/// (Keras `UpSampling2D`, PyTorch `Upsample(mode: 'nearest')`).
public func upsampleNearest(_ x: Tensor, scale: (Int, Int), backend: any Backend = Backends.current) -> Tensor {
    let shape = x.dims4("upsample_nearest")
    require(scale.0 >= 1 && scale.1 >= 1, "upsample_nearest: scale must be positive, got \(scale)")
    let layout = x.layout
    return backend.upsampleNearestForward(x: x, scale: scale).recording("upsample_nearest", [x]) { g in
        [backend.upsampleNearestBackward(dy: g, inputShape: [shape.n, shape.c, shape.h, shape.w], scale: scale, inputLayout: layout)]
    }
}

/// `upsampleNearest` on NCHW memory (no autograd).
func upsampleNearestNCHW(_ x: Tensor, scale: (Int, Int)) -> Tensor {
    let (N, C, H, W) = x.dims4("upsample_nearest")
    let (sh, sw) = scale
    let OH = H * sh, OW = W * sw
    let y = Tensor(uninitialized: [N, C, OH, OW])
    let yd = y.data
    x.withNCHW { xs in
        parallelFor(N * C) { planes in
            for p in planes {
                let src = xs + p * H * W, dst = yd + p * OH * OW
                for iy in 0..<H {
                    let row = dst + iy * sh * OW, srow = src + iy * W
                    for ix in 0..<W {
                        let v = srow[ix]
                        for k in 0..<sw { row[ix * sw + k] = v }
                    }
                    for k in 1..<max(sh, 1) { (row + k * OW).update(from: row, count: OW) }
                }
            }
        }
    }
    return y
}

/// The gradient of `upsampleNearestNCHW`: each input cell sums its sh × sw copies (NCHW).
func upsampleNearestGradNCHW(_ g: Tensor, inputShape: [Int], scale: (Int, Int)) -> Tensor {
    let (N, C, H, W) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
    let (sh, sw) = scale
    let OH = H * sh, OW = W * sw
    return g.withNCHW { gs in
        let dx = Tensor(uninitialized: [N, C, H, W])
        let d = dx.data
        parallelFor(N * C) { planes in
            for p in planes {
                let src = gs + p * OH * OW, dst = d + p * H * W
                for iy in 0..<H {
                    for ix in 0..<W {
                        var s: Float = 0
                        for ky in 0..<sh {
                            let row = src + (iy * sh + ky) * OW + ix * sw
                            for kx in 0..<sw { s += row[kx] }
                        }
                        dst[iy * W + ix] = s
                    }
                }
            }
        }
        return dx
    }
}

/// Bilinear resize to `size` with `align_corners = false` (PyTorch `interpolate(mode:
/// 'bilinear')`, TensorFlow `resize(method: bilinear, half_pixel_centers)`): the source
/// coordinate of output `o` is `max((o + 0.5)·in/out − 0.5, 0)`.
public func resizeBilinear(_ x: Tensor, size: (Int, Int)) -> Tensor {
    let (N, C, H, W) = x.dims4("resize_bilinear")
    let (OH, OW) = size
    require(OH >= 1 && OW >= 1, "resize_bilinear: output size must be positive, got \(size)")
    let ys = bilinearTaps(inSize: H, outSize: OH), xt = bilinearTaps(inSize: W, outSize: OW)
    let y = Tensor(uninitialized: [N, C, OH, OW])
    let yd = y.data
    x.withNCHW { xs in
        parallelFor(N * C) { planes in
            for p in planes {
                let src = xs + p * H * W, dst = yd + p * OH * OW
                for oy in 0..<OH {
                    let (y0, y1, ly) = ys[oy]
                    let r0 = src + y0 * W, r1 = src + y1 * W
                    for ox in 0..<OW {
                        let (x0, x1, lx) = xt[ox]
                        let top = r0[x0] + (r0[x1] - r0[x0]) * lx
                        let bottom = r1[x0] + (r1[x1] - r1[x0]) * lx
                        dst[oy * OW + ox] = top + (bottom - top) * ly
                    }
                }
            }
        }
    }
    return y.recording("resize_bilinear", [x]) { g in
        let dx = Tensor(zeros: [N, C, H, W])
        let d = dx.data
        g.withNCHW { gs in
            parallelFor(N * C) { planes in
                for p in planes {
                    let src = gs + p * OH * OW, dst = d + p * H * W
                    for oy in 0..<OH {
                        let (y0, y1, ly) = ys[oy]
                        for ox in 0..<OW {
                            let (x0, x1, lx) = xt[ox]
                            let v = src[oy * OW + ox]
                            dst[y0 * W + x0] += v * (1 - ly) * (1 - lx)
                            dst[y0 * W + x1] += v * (1 - ly) * lx
                            dst[y1 * W + x0] += v * ly * (1 - lx)
                            dst[y1 * W + x1] += v * ly * lx
                        }
                    }
                }
            }
        }
        return [dx]
    }
}

/// For each output index: the two source indices and the weight of the second.
func bilinearTaps(inSize: Int, outSize: Int) -> [(Int, Int, Float)] {
    let scale = Float(inSize) / Float(outSize)
    return (0..<outSize).map { o in
        let src = max((Float(o) + 0.5) * scale - 0.5, 0)
        let i0 = min(Int(src), inSize - 1)
        let i1 = min(i0 + 1, inSize - 1)
        return (i0, i1, src - Float(i0))
    }
}
