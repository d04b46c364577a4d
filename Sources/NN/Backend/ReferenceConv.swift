import Foundation

/// The reference backend: im2col / col2im + OpenBLAS sgemm (darknet's scheme), direct loops for
/// depthwise convs, pooling and batch norm. All tensors NCHW.
///
/// The three conv kernels below serve conv and transposed conv alike (a transposed conv's
/// forward is a conv's input-gradient):
///   - `convData`:     `out[g] = W[g] · im2col(in[g])`            conv forward, deconv dx
///   - `convDataT`:    `in[g] += col2im(W[g]ᵀ · out[g])`          conv dx, deconv forward
///   - `convWeight`:   `dW[g] += out[g] · im2col(in[g])ᵀ`         conv dW, deconv dW
/// Each runs one sgemm per image and group; im2col / col2im run in parallel over rows / channels.
public final class ReferenceBackend: Backend, @unchecked Sendable {
    public static let shared = ReferenceBackend()
    public let name = "reference (im2col + OpenBLAS sgemm)"

    // MARK: Conv

    public func convForward(x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry) -> (y: Tensor, context: AnyObject?) {
        let y = Tensor(uninitialized: [g.batch, g.outChannels, g.outHeight, g.outWidth])
        fillBias(y.data, bias: bias, images: g.batch, channels: g.outChannels, plane: g.outPlane)
        withNCHW(x, weight) { xs, w in convData(input: xs, weight: w, output: y.data, g, accumulate: bias != nil) }
        return (y, nil)
    }

    public func convBackward(dy: Tensor, x: Tensor, weight: Tensor, geometry g: ConvGeometry, context: AnyObject?,
                             needInput: Bool, needBias: Bool) -> (dx: Tensor?, dWeight: Tensor, dBias: Tensor?) {
        let dW = Tensor(zeros: weight.shape)
        withNCHW(x, dy) { xs, dys in convWeight(input: xs, outGrad: dys, dWeight: dW.data, g) }
        var dx: Tensor? = nil
        if needInput {
            if let gT = g.inputGradientAsConv {
                // Stride 1: dx is a conv of dy with the flipped, transposed kernel — one sgemm with
                // K = O/g·kh·kw instead of a thin one with K = O/g followed by col2im.
                let t = Tensor(uninitialized: x.shape)
                let flipped = weight.withNCHW { flippedTransposedKernel($0, g) }
                withNCHW(dy, flipped) { dys, w in convData(input: dys, weight: w, output: t.data, gT, accumulate: false) }
                dx = t
            } else {
                let t = Tensor(zeros: x.shape)
                withNCHW(dy, weight) { dys, w in convDataT(outGrad: dys, weight: w, inGrad: t.data, g) }
                dx = t
            }
        }
        let db = needBias ? dy.withNCHW { channelSums($0, images: g.batch, channels: g.outChannels, plane: g.outPlane) } : nil
        return (dx, dW, db)
    }

    /// `Wf[g·C/g + c, o, i, j] = W[g·O/g + o, c, kh−1−i, kw−1−j]`: the kernel of the conv that maps
    /// a stride-1 conv's output gradient to its input gradient.
    func flippedTransposedKernel(_ w: UnsafePointer<Float>, _ g: ConvGeometry) -> Tensor {
        let cig = g.inChannelsPerGroup, cog = g.outChannelsPerGroup, kh = g.kernelHeight, kw = g.kernelWidth
        let out = Tensor(uninitialized: [g.groups * cig, cog, kh, kw])
        let o = out.data
        for gr in 0..<g.groups {
            for oc in 0..<cog {
                for c in 0..<cig {
                    let src = w + (((gr * cog + oc) * cig + c) * kh * kw)
                    let dst = o + (((gr * cig + c) * cog + oc) * kh * kw)
                    for i in 0..<kh { for j in 0..<kw { dst[i * kw + j] = src[(kh - 1 - i) * kw + (kw - 1 - j)] } }
                }
            }
        }
        return out
    }

    public func convTransposeForward(x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry) -> (y: Tensor, context: AnyObject?) {
        let shape = [g.batch, g.inChannels, g.inHeight, g.inWidth]
        let y = bias == nil ? Tensor(zeros: shape) : Tensor(uninitialized: shape)
        fillBias(y.data, bias: bias, images: g.batch, channels: g.inChannels, plane: g.inPlane)
        withNCHW(x, weight) { xs, w in convDataT(outGrad: xs, weight: w, inGrad: y.data, g) }
        return (y, nil)
    }

    public func convTransposeBackward(dy: Tensor, x: Tensor, weight: Tensor, geometry g: ConvGeometry, context: AnyObject?,
                                      needInput: Bool, needBias: Bool) -> (dx: Tensor?, dWeight: Tensor, dBias: Tensor?) {
        let dW = Tensor(zeros: weight.shape)
        withNCHW(dy, x) { dys, xs in convWeight(input: dys, outGrad: xs, dWeight: dW.data, g) }
        var dx: Tensor? = nil
        if needInput {
            let t = Tensor(uninitialized: x.shape)
            withNCHW(dy, weight) { dys, w in convData(input: dys, weight: w, output: t.data, g, accumulate: false) }
            dx = t
        }
        let db = needBias ? dy.withNCHW { channelSums($0, images: g.batch, channels: g.inChannels, plane: g.inPlane) } : nil
        return (dx, dW, db)
    }

    // MARK: Kernels

    /// `output[n, o] (+)= Σ W · im2col(input[n])` for every image and group.
    func convData(input: UnsafePointer<Float>, weight: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                  _ g: ConvGeometry, accumulate: Bool) {
        if g.isDepthwise {
            if !accumulate { output.update(repeating: 0, count: g.batch * g.outChannels * g.outPlane) }
            depthwiseForward(input, weight, output, g)
            return
        }
        let cig = g.inChannelsPerGroup, cog = g.outChannelsPerGroup, rows = g.colRows, P = g.outPlane
        let col = g.isPointwise ? nil : Storage(count: rows * P, zeroed: false)
        for n in 0..<g.batch {
            for gr in 0..<g.groups {
                let src = input + (n * g.inChannels + gr * cig) * g.inPlane
                let b: UnsafePointer<Float>
                if let col { im2col(src, g, col.data); b = UnsafePointer(col.data) } else { b = src }
                BLAS.gemm(m: cog, n: P, k: rows, a: weight + gr * cog * rows, lda: rows, b: b, ldb: P,
                          beta: accumulate ? 1 : 0, c: output + (n * g.outChannels + gr * cog) * P, ldc: P)
            }
        }
    }

    /// `inGrad[n] += col2im(Wᵀ · outGrad[n])` for every image and group.
    func convDataT(outGrad: UnsafePointer<Float>, weight: UnsafePointer<Float>, inGrad: UnsafeMutablePointer<Float>,
                   _ g: ConvGeometry) {
        if g.isDepthwise { depthwiseInputGrad(outGrad, weight, inGrad, g); return }
        let cig = g.inChannelsPerGroup, cog = g.outChannelsPerGroup, rows = g.colRows, P = g.outPlane
        let col = g.isPointwise ? nil : Storage(count: rows * P, zeroed: false)
        for n in 0..<g.batch {
            for gr in 0..<g.groups {
                let dst = inGrad + (n * g.inChannels + gr * cig) * g.inPlane
                let dyg = outGrad + (n * g.outChannels + gr * cog) * P
                let w = weight + gr * cog * rows
                if let col {
                    BLAS.gemm(transA: true, m: rows, n: P, k: cog, a: w, lda: rows, b: dyg, ldb: P, beta: 0, c: col.data, ldc: P)
                    col2im(col.data, g, dst)
                } else {
                    BLAS.gemm(transA: true, m: rows, n: P, k: cog, a: w, lda: rows, b: dyg, ldb: P, beta: 1, c: dst, ldc: P)
                }
            }
        }
    }

    /// `dWeight += outGrad[n] · im2col(input[n])ᵀ` summed over images, per group.
    func convWeight(input: UnsafePointer<Float>, outGrad: UnsafePointer<Float>, dWeight: UnsafeMutablePointer<Float>,
                    _ g: ConvGeometry) {
        if g.isDepthwise { depthwiseWeightGrad(input, outGrad, dWeight, g); return }
        let cig = g.inChannelsPerGroup, cog = g.outChannelsPerGroup, rows = g.colRows, P = g.outPlane
        let col = g.isPointwise ? nil : Storage(count: rows * P, zeroed: false)
        for n in 0..<g.batch {
            for gr in 0..<g.groups {
                let src = input + (n * g.inChannels + gr * cig) * g.inPlane
                let b: UnsafePointer<Float>
                if let col { im2col(src, g, col.data); b = UnsafePointer(col.data) } else { b = src }
                BLAS.gemm(transB: true, m: cog, n: rows, k: P, a: outGrad + (n * g.outChannels + gr * cog) * P, lda: P,
                          b: b, ldb: P, beta: 1, c: dWeight + gr * cog * rows, ldc: rows)
            }
        }
    }

    /// Valid output columns `lo..<hi` for a tap whose input column is `x·s + off`.
    @inline(__always)
    static func validRange(off: Int, stride s: Int, inSize: Int, outSize: Int) -> (Int, Int) {
        let lo = off >= 0 ? 0 : min(outSize, (-off + s - 1) / s)
        let hi = off > inSize - 1 ? 0 : min(outSize, (inSize - 1 - off) / s + 1)
        return (lo, max(lo, hi))
    }

    /// One group's im2col matrix `[cig·kh·kw, oh·ow]` from `src` (its first channel).
    func im2col(_ src: UnsafePointer<Float>, _ g: ConvGeometry, _ col: UnsafeMutablePointer<Float>) {
        let kh = g.kernelHeight, kw = g.kernelWidth, oh = g.outHeight, ow = g.outWidth
        let ih = g.inHeight, iw = g.inWidth, sh = g.strideH, sw = g.strideW
        let pt = g.padTop, pl = g.padLeft, dh = g.dilationH, dw = g.dilationW
        parallelFor(g.colRows, grain: max(1, 4096 / max(1, oh * ow))) { rows in
            for r in rows {
                let c = r / (kh * kw), ki = (r / kw) % kh, kj = r % kw
                let plane = src + c * ih * iw
                let dst = col + r * oh * ow
                let offW = kj * dw - pl
                let (lo, hi) = Self.validRange(off: offW, stride: sw, inSize: iw, outSize: ow)
                for y in 0..<oh {
                    let iy = y * sh - pt + ki * dh
                    let row = dst + y * ow
                    if iy < 0 || iy >= ih { row.update(repeating: 0, count: ow); continue }
                    let srow = plane + iy * iw + offW
                    if lo > 0 { row.update(repeating: 0, count: lo) }
                    if sw == 1 {
                        (row + lo).update(from: srow + lo, count: hi - lo)
                    } else {
                        for x in lo..<hi { row[x] = srow[x * sw] }
                    }
                    if hi < ow { (row + hi).update(repeating: 0, count: ow - hi) }
                }
            }
        }
    }

    /// Adds one group's column matrix back into images (`dst` += col2im(col)), in parallel over channels.
    func col2im(_ col: UnsafePointer<Float>, _ g: ConvGeometry, _ dst: UnsafeMutablePointer<Float>) {
        let kh = g.kernelHeight, kw = g.kernelWidth, oh = g.outHeight, ow = g.outWidth
        let ih = g.inHeight, iw = g.inWidth, sh = g.strideH, sw = g.strideW
        let pt = g.padTop, pl = g.padLeft, dh = g.dilationH, dw = g.dilationW
        parallelFor(g.inChannelsPerGroup) { channels in
            for c in channels {
                let plane = dst + c * ih * iw
                for t in 0..<(kh * kw) {
                    let ki = t / kw, kj = t % kw
                    let r = c * kh * kw + t
                    let src = col + r * oh * ow
                    let offW = kj * dw - pl
                    let (lo, hi) = Self.validRange(off: offW, stride: sw, inSize: iw, outSize: ow)
                    if lo >= hi { continue }
                    for y in 0..<oh {
                        let iy = y * sh - pt + ki * dh
                        if iy < 0 || iy >= ih { continue }
                        let drow = plane + iy * iw + offW
                        let srow = src + y * ow
                        if sw == 1 {
                            for x in lo..<hi { drow[x] += srow[x] }
                        } else {
                            for x in lo..<hi { drow[x * sw] += srow[x] }
                        }
                    }
                }
            }
        }
    }

    // MARK: Depthwise (groups == channels): direct loops, parallel over channels

    func depthwiseForward(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ g: ConvGeometry) {
        let kh = g.kernelHeight, kw = g.kernelWidth, oh = g.outHeight, ow = g.outWidth
        let ih = g.inHeight, iw = g.inWidth, sh = g.strideH, sw = g.strideW
        let pt = g.padTop, pl = g.padLeft, dh = g.dilationH, dw = g.dilationW, C = g.inChannels
        parallelFor(g.batch * C) { planes in
            for p in planes {
                let c = p % C
                let src = x + p * ih * iw, dst = y + p * oh * ow
                for t in 0..<(kh * kw) {
                    let wt = w[c * kh * kw + t]
                    let ki = t / kw, kj = t % kw
                    let offW = kj * dw - pl
                    let (lo, hi) = Self.validRange(off: offW, stride: sw, inSize: iw, outSize: ow)
                    for yy in 0..<oh {
                        let iy = yy * sh - pt + ki * dh
                        if iy < 0 || iy >= ih { continue }
                        let srow = src + iy * iw + offW, drow = dst + yy * ow
                        if sw == 1 { for xx in lo..<hi { drow[xx] += wt * srow[xx] } }
                        else { for xx in lo..<hi { drow[xx] += wt * srow[xx * sw] } }
                    }
                }
            }
        }
    }

    func depthwiseInputGrad(_ dy: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ g: ConvGeometry) {
        let kh = g.kernelHeight, kw = g.kernelWidth, oh = g.outHeight, ow = g.outWidth
        let ih = g.inHeight, iw = g.inWidth, sh = g.strideH, sw = g.strideW
        let pt = g.padTop, pl = g.padLeft, dh = g.dilationH, dw = g.dilationW, C = g.inChannels
        parallelFor(g.batch * C) { planes in
            for p in planes {
                let c = p % C
                let src = dy + p * oh * ow, dst = dx + p * ih * iw
                for t in 0..<(kh * kw) {
                    let wt = w[c * kh * kw + t]
                    let ki = t / kw, kj = t % kw
                    let offW = kj * dw - pl
                    let (lo, hi) = Self.validRange(off: offW, stride: sw, inSize: iw, outSize: ow)
                    for yy in 0..<oh {
                        let iy = yy * sh - pt + ki * dh
                        if iy < 0 || iy >= ih { continue }
                        let drow = dst + iy * iw + offW, srow = src + yy * ow
                        if sw == 1 { for xx in lo..<hi { drow[xx] += wt * srow[xx] } }
                        else { for xx in lo..<hi { drow[xx * sw] += wt * srow[xx] } }
                    }
                }
            }
        }
    }

    func depthwiseWeightGrad(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>, _ g: ConvGeometry) {
        let kh = g.kernelHeight, kw = g.kernelWidth, oh = g.outHeight, ow = g.outWidth
        let ih = g.inHeight, iw = g.inWidth, sh = g.strideH, sw = g.strideW
        let pt = g.padTop, pl = g.padLeft, dh = g.dilationH, dlw = g.dilationW, C = g.inChannels
        parallelFor(C) { channels in
            for c in channels {
                for t in 0..<(kh * kw) {
                    let ki = t / kw, kj = t % kw
                    let offW = kj * dlw - pl
                    let (lo, hi) = Self.validRange(off: offW, stride: sw, inSize: iw, outSize: ow)
                    var acc: Double = 0
                    for n in 0..<g.batch {
                        let p = n * C + c
                        let src = x + p * ih * iw, gy = dy + p * oh * ow
                        for yy in 0..<oh {
                            let iy = yy * sh - pt + ki * dh
                            if iy < 0 || iy >= ih { continue }
                            let srow = src + iy * iw + offW, grow = gy + yy * ow
                            var s: Float = 0
                            if sw == 1 { for xx in lo..<hi { s += grow[xx] * srow[xx] } }
                            else { for xx in lo..<hi { s += grow[xx] * srow[xx * sw] } }
                            acc += Double(s)
                        }
                    }
                    dw[c * kh * kw + t] += Float(acc)
                }
            }
        }
    }

    // MARK: Helpers

    /// Fills each output plane with its channel's bias (when given).
    func fillBias(_ y: UnsafeMutablePointer<Float>, bias: Tensor?, images: Int, channels: Int, plane: Int) {
        guard let bias else { return }
        bias.withNCHW { b in
            parallelFor(images * channels) { r in
                for p in r { (y + p * plane).update(repeating: b[p % channels], count: plane) }
            }
        }
    }

    /// Per-channel sums over images and plane (bias gradients), accumulated in Double.
    func channelSums(_ x: UnsafePointer<Float>, images: Int, channels: Int, plane: Int) -> Tensor {
        let out = Tensor(uninitialized: [channels])
        let o = out.data
        parallelFor(channels) { r in
            for c in r {
                var acc: Double = 0
                for n in 0..<images {
                    let p = x + (n * channels + c) * plane
                    var s: Float = 0
                    for i in 0..<plane { s += p[i] }
                    acc += Double(s)
                }
                o[c] = Float(acc)
            }
        }
        return out
    }
}
