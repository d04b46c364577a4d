import Foundation

/// Per-channel batch statistics kept from forward to backward.
final class BatchNormContext {
    let mean: [Float]   // (C) batch mean (training) or running mean (inference)
    let rstd: [Float]   // (C) 1 / sqrt(var + eps)
    init(mean: [Float], rstd: [Float]) { self.mean = mean; self.rstd = rstd }
}

/// Max-pool winners: for each output element, the index of its input element within the plane.
final class PoolContext {
    let argmax: Storage  // (N·C·oh·ow) Int32 bit patterns
    init(argmax: Storage) { self.argmax = argmax }
}

extension ReferenceBackend {
    // MARK: Batch norm

    public func batchNormForward(x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                                 settings: BatchNormSettings, training: Bool) -> (y: Tensor, context: AnyObject?) {
        let (N, C, H, W) = x.dims4("batch_norm")
        let plane = H * W, m = N * plane
        return x.withNCHW { xs in
            let y = Tensor(uninitialized: x.shape)
            let yd = y.data, gd = gamma.data, bd = beta.data, rm = runningMean.data, rv = runningVar.data
            var mean = [Float](repeating: 0, count: C), rstd = [Float](repeating: 0, count: C)
            let eps = Double(settings.epsilon), f = settings.updateFraction
            mean.withUnsafeMutableBufferPointer { meanP in
                rstd.withUnsafeMutableBufferPointer { rstdP in
                    let mp = meanP.baseAddress!, rp = rstdP.baseAddress!
                    parallelFor(C) { channels in
                        for c in channels {
                            var mu: Double, v: Double
                            if training {
                                var s: Double = 0
                                for n in 0..<N {
                                    let p = xs + (n * C + c) * plane
                                    var acc: Float = 0
                                    for i in 0..<plane { acc += p[i] }
                                    s += Double(acc)
                                }
                                mu = s / Double(m)
                                let muF = Float(mu)
                                var ss: Double = 0
                                for n in 0..<N {
                                    let p = xs + (n * C + c) * plane
                                    var acc: Float = 0
                                    for i in 0..<plane { let d = p[i] - muF; acc += d * d }
                                    ss += Double(acc)
                                }
                                v = ss / Double(m)
                                let runVar = settings.unbiasedRunningVariance && m > 1 ? v * Double(m) / Double(m - 1) : v
                                rm[c] = (1 - f) * rm[c] + f * Float(mu)
                                rv[c] = (1 - f) * rv[c] + f * Float(runVar)
                            } else {
                                mu = Double(rm[c]); v = Double(rv[c])
                            }
                            let r = Float(1 / (v + eps).squareRoot())
                            mp[c] = Float(mu); rp[c] = r
                            let scale = gd[c] * r, shift = bd[c] - Float(mu) * scale
                            for n in 0..<N {
                                let p = xs + (n * C + c) * plane, q = yd + (n * C + c) * plane
                                for i in 0..<plane { q[i] = p[i] * scale + shift }
                            }
                        }
                    }
                }
            }
            return (y, BatchNormContext(mean: mean, rstd: rstd))
        }
    }

    public func batchNormBackward(dy: Tensor, x: Tensor, gamma: Tensor, settings: BatchNormSettings, training: Bool,
                                  context: AnyObject?) -> (dx: Tensor, dGamma: Tensor, dBeta: Tensor) {
        guard let ctx = context as? BatchNormContext else { fatalError("batch_norm backward: missing forward context") }
        let (N, C, H, W) = x.dims4("batch_norm backward")
        let plane = H * W, m = Float(N * plane)
        return withNCHW(x, dy) { xs, g in
            let gd = gamma.data
            let dx = Tensor(uninitialized: x.shape), dGamma = Tensor(uninitialized: [C]), dBeta = Tensor(uninitialized: [C])
            let dxd = dx.data, dgd = dGamma.data, dbd = dBeta.data
            ctx.mean.withUnsafeBufferPointer { meanP in
                ctx.rstd.withUnsafeBufferPointer { rstdP in
                    parallelFor(C) { channels in
                        for c in channels {
                            let mu = meanP[c], r = rstdP[c]
                            var sdy: Double = 0, sdyx: Double = 0
                            for n in 0..<N {
                                let p = xs + (n * C + c) * plane, q = g + (n * C + c) * plane
                                var a: Float = 0, b: Float = 0
                                for i in 0..<plane { a += q[i]; b += q[i] * (p[i] - mu) }
                                sdy += Double(a); sdyx += Double(b)
                            }
                            let sumDy = Float(sdy), sumDyXhat = Float(sdyx) * r
                            dgd[c] = sumDyXhat
                            dbd[c] = sumDy
                            let k = gd[c] * r
                            for n in 0..<N {
                                let p = xs + (n * C + c) * plane, q = g + (n * C + c) * plane, o = dxd + (n * C + c) * plane
                                if training {
                                    let meanDy = sumDy / m, coef = sumDyXhat / m * r
                                    for i in 0..<plane { o[i] = k * (q[i] - meanDy - (p[i] - mu) * coef) }
                                } else {
                                    for i in 0..<plane { o[i] = k * q[i] }
                                }
                            }
                        }
                    }
                }
            }
            return (dx, dGamma, dBeta)
        }
    }

    // MARK: Max pool

    public func maxPoolForward(x: Tensor, geometry g: PoolGeometry) -> (y: Tensor, context: AnyObject?) {
        return x.withNCHW { xs in
            let y = Tensor(uninitialized: [g.batch, g.channels, g.outHeight, g.outWidth])
            let arg = Storage(count: y.count, zeroed: false)
            let ad = UnsafeMutableRawPointer(arg.data).assumingMemoryBound(to: Int32.self)
            maxPoolPlanes(xs, y.data, ad, g)
            return (y, PoolContext(argmax: arg))
        }
    }

    /// Max pool of NCHW planes into `dst` with winners in `idx` (index within the input plane;
    /// the first maximum in row-major window order wins, as PyTorch's). Windows wholly inside
    /// the input (all but a border row / column with "same" padding) run without bounds
    /// tests, 3×3 unrolled; the border windows are clipped to the input (padded cells never win).
    func maxPoolPlanes(_ xs: UnsafePointer<Float>, _ yd: UnsafeMutablePointer<Float>, _ ad: UnsafeMutablePointer<Int32>,
                       _ g: PoolGeometry) {
        let ip = g.inHeight * g.inWidth, op = g.outHeight * g.outWidth
        let kh = g.kernelHeight, kw = g.kernelWidth, sh = g.strideH, sw = g.strideW
        let ih = g.inHeight, iw = g.inWidth, oh = g.outHeight, ow = g.outWidth, pt = g.padTop, pl = g.padLeft
        // Output columns [cx0, cx1) and rows [cy0, cy1) whose windows lie inside the input.
        func inner(_ pad: Int, _ k: Int, _ s: Int, _ n: Int, _ out: Int) -> (Int, Int) {
            let lo = min(out, (pad + s - 1) / s)
            let hi = n - k + pad >= 0 ? min(out, (n - k + pad) / s + 1) : 0
            return (lo, max(lo, hi))
        }
        let (cy0, cy1) = inner(pt, kh, sh, ih, oh), (cx0, cx1) = inner(pl, kw, sw, iw, ow)
        parallelFor(g.batch * g.channels) { planes in
            for p in planes {
                let src = xs + p * ip, dst = yd + p * op, idx = ad + p * op
                func clipped(_ oy: Int, _ ox: Int) {
                    let y0 = oy * sh - pt, x0 = ox * sw - pl
                    let ys = max(y0, 0), ye = min(y0 + kh, ih), xs0 = max(x0, 0), xe = min(x0 + kw, iw)
                    var best = src[ys * iw + xs0], bi = ys * iw + xs0
                    for iy in ys..<ye {
                        for ix in xs0..<xe where src[iy * iw + ix] > best { best = src[iy * iw + ix]; bi = iy * iw + ix }
                    }
                    dst[oy * ow + ox] = best
                    idx[oy * ow + ox] = Int32(truncatingIfNeeded: bi)
                }
                for oy in 0..<oh {
                    guard oy >= cy0 && oy < cy1 else {
                        for ox in 0..<ow { clipped(oy, ox) }
                        continue
                    }
                    for ox in 0..<cx0 { clipped(oy, ox) }
                    let rowBase = (oy * sh - pt) * iw - pl
                    let d = dst + oy * ow, q = idx + oy * ow
                    if kh == 3 && kw == 3 {
                        for ox in cx0..<cx1 {
                            let b = rowBase + ox * sw
                            let r0 = src + b, r1 = r0 + iw, r2 = r1 + iw
                            var best = r0[0], bi = b
                            if r0[1] > best { best = r0[1]; bi = b + 1 }
                            if r0[2] > best { best = r0[2]; bi = b + 2 }
                            if r1[0] > best { best = r1[0]; bi = b + iw }
                            if r1[1] > best { best = r1[1]; bi = b + iw + 1 }
                            if r1[2] > best { best = r1[2]; bi = b + iw + 2 }
                            if r2[0] > best { best = r2[0]; bi = b + 2 * iw }
                            if r2[1] > best { best = r2[1]; bi = b + 2 * iw + 1 }
                            if r2[2] > best { best = r2[2]; bi = b + 2 * iw + 2 }
                            d[ox] = best
                            q[ox] = Int32(truncatingIfNeeded: bi)
                        }
                    } else {
                        for ox in cx0..<cx1 {
                            let b = rowBase + ox * sw
                            var best = src[b], bi = b
                            for i in 0..<kh {
                                let r = b + i * iw
                                for j in 0..<kw where src[r + j] > best { best = src[r + j]; bi = r + j }
                            }
                            d[ox] = best
                            q[ox] = Int32(truncatingIfNeeded: bi)
                        }
                    }
                    for ox in cx1..<ow { clipped(oy, ox) }
                }
            }
        }
    }

    public func maxPoolBackward(dy: Tensor, x: Tensor, geometry g: PoolGeometry, context: AnyObject?) -> Tensor {
        // No forward context (the forward ran without gradients): find the winners again.
        guard let ctx = context as? PoolContext ?? maxPoolForward(x: x, geometry: g).context as? PoolContext else {
            fatalError("max_pool2d backward: the forward gave no argmax")
        }
        return dy.withNCHW { gd in
            let dx = Tensor(zeros: x.shape)
            let dxd = dx.data
            let ad = UnsafeMutableRawPointer(ctx.argmax.data).assumingMemoryBound(to: Int32.self)
            let ip = g.inHeight * g.inWidth, op = g.outHeight * g.outWidth
            parallelFor(g.batch * g.channels) { planes in
                for p in planes {
                    let dst = dxd + p * ip, src = gd + p * op, idx = ad + p * op
                    for i in 0..<op { dst[Int(idx[i])] += src[i] }
                }
            }
            return dx
        }
    }
}
