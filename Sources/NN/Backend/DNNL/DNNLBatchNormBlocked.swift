import Foundation
@preconcurrency import CDNNL

/// Batch norm on oneDNN's `nChw16c` layout with NN's own loops: each of the C/16 channel blocks
/// is one independent task (statistics, then normalisation) on GCD's pool, 16 channels per SIMD
/// vector. oneDNN's batch-norm kernels synchronise their OpenMP team with spin barriers several
/// times per call; on a machine whose cores are shared (a build running, another job) a
/// descheduled team member stalls every barrier for a scheduler time slice, which made batch norm
/// the most expensive op of a training step. Measured in DECISIONS.md.
///
/// Element (n, c, h, w) lives at `((n·C/16 + c/16)·H·W + h·W + w)·16 + c%16`.
final class BlockedBatchNormContext {
    let mean: [Float]   // (C) batch mean (training) or running mean (inference)
    let rstd: [Float]   // (C) 1 / sqrt(var + eps)
    let layout: DNNLLayout
    init(mean: [Float], rstd: [Float], layout: DNNLLayout) { self.mean = mean; self.rstd = rstd; self.layout = layout }
}

typealias Lanes = SIMD16<Float>

@inline(__always) private func load(_ p: UnsafeMutablePointer<Float>) -> Lanes {
    UnsafeRawPointer(p).loadUnaligned(as: Lanes.self)
}

@inline(__always) private func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self)
}

extension DNNLBackend {
    /// The `nChw16c` layout object of `t` when it has one.
    func blocked16Layout(_ t: Tensor) -> DNNLLayout? {
        guard case .opaque(let l) = t.layout, let d = l as? DNNLLayout, d.backend === self, t.rank == 4, t.shape[1] % 16 == 0,
              let want = try? dnnlDesc(t.shape, dnnl_aBcd16b), d.desc.equals(want) else { return nil }
        return d
    }

    func blockedBatchNormForward(x: Tensor, layout: DNNLLayout, gamma: Tensor, beta: Tensor, runningMean: Tensor,
                                 runningVar: Tensor, settings: BatchNormSettings, training: Bool) -> (y: Tensor, context: AnyObject?) {
        let (N, C, H, W) = x.dims4("batch_norm")
        let plane = H * W, blocks = C / 16, m = N * plane
        let xs = x.storage.data
        let y = Tensor(shape: x.shape, storage: Storage(count: x.count, zeroed: false), layout: x.layout)
        let yd = y.data
        let rm = runningMean.data, rv = runningVar.data
        let eps = Double(settings.epsilon), f = settings.updateFraction
        return withNCHW(gamma, beta) { gd, bd in
            var mean = [Float](repeating: 0, count: C), rstd = [Float](repeating: 0, count: C)
            mean.withUnsafeMutableBufferPointer { meanP in
                rstd.withUnsafeMutableBufferPointer { rstdP in
                    let mp = meanP.baseAddress!, rp = rstdP.baseAddress!
                    parallelFor(blocks) { range in
                        for b in range {
                            var mu = [Double](repeating: 0, count: 16), variance = [Double](repeating: 0, count: 16)
                            if training {
                                for n in 0..<N {
                                    let p = xs + (n * blocks + b) * plane * 16
                                    var acc = Lanes()
                                    for i in 0..<plane { acc += load(p + i * 16) }
                                    for l in 0..<16 { mu[l] += Double(acc[l]) }
                                }
                                for l in 0..<16 { mu[l] /= Double(m) }
                                var muF = Lanes()
                                for l in 0..<16 { muF[l] = Float(mu[l]) }
                                for n in 0..<N {
                                    let p = xs + (n * blocks + b) * plane * 16
                                    var acc = Lanes()
                                    for i in 0..<plane { let d = load(p + i * 16) - muF; acc += d * d }
                                    for l in 0..<16 { variance[l] += Double(acc[l]) }
                                }
                                for l in 0..<16 {
                                    let c = b * 16 + l
                                    variance[l] /= Double(m)
                                    let runVar = settings.unbiasedRunningVariance && m > 1 ? variance[l] * Double(m) / Double(m - 1) : variance[l]
                                    rm[c] = (1 - f) * rm[c] + f * Float(mu[l])
                                    rv[c] = (1 - f) * rv[c] + f * Float(runVar)
                                }
                            } else {
                                for l in 0..<16 { mu[l] = Double(rm[b * 16 + l]); variance[l] = Double(rv[b * 16 + l]) }
                            }
                            var scale = Lanes(), shift = Lanes()
                            for l in 0..<16 {
                                let c = b * 16 + l
                                let r = Float(1 / (variance[l] + eps).squareRoot())
                                mp[c] = Float(mu[l]); rp[c] = r
                                scale[l] = gd[c] * r
                                shift[l] = bd[c] - Float(mu[l]) * scale[l]
                            }
                            for n in 0..<N {
                                let o = (n * blocks + b) * plane * 16
                                let p = xs + o, q = yd + o
                                for i in 0..<plane { store(load(p + i * 16) * scale + shift, q + i * 16) }
                            }
                        }
                    }
                }
            }
            return (y, BlockedBatchNormContext(mean: mean, rstd: rstd, layout: layout))
        }
    }

    func blockedBatchNormBackward(dy: Tensor, x: Tensor, gamma: Tensor, training: Bool,
                                  context ctx: BlockedBatchNormContext) -> (dx: Tensor, dGamma: Tensor, dBeta: Tensor) {
        let (N, C, H, W) = x.dims4("batch_norm backward")
        let plane = H * W, blocks = C / 16, m = Float(N * plane)
        let src = fatalOnError("batch norm backward input") { try input(x, as: ctx.layout.desc) }
        let gs = fatalOnError("batch norm backward gradient") { try input(dy, as: ctx.layout.desc) }
        let dx = Tensor(shape: x.shape, storage: Storage(count: x.count, zeroed: false), layout: .opaque(ctx.layout))
        let dGamma = Tensor(uninitialized: [C]), dBeta = Tensor(uninitialized: [C])
        let dxd = dx.data, dgd = dGamma.data, dbd = dBeta.data
        // `src` and `gs` may be reordered copies: alive while read.
        return withExtendedLifetime((src, gs)) { gamma.withNCHW { gd in
            let xs = src.data, g = gs.data
            ctx.mean.withUnsafeBufferPointer { meanP in
                ctx.rstd.withUnsafeBufferPointer { rstdP in
                    parallelFor(blocks) { range in
                        for b in range {
                            var mu = Lanes(), r = Lanes(), k = Lanes()
                            for l in 0..<16 { mu[l] = meanP[b * 16 + l]; r[l] = rstdP[b * 16 + l]; k[l] = gd[b * 16 + l] * r[l] }
                            var sdy = [Double](repeating: 0, count: 16), sdyx = [Double](repeating: 0, count: 16)
                            for n in 0..<N {
                                let o = (n * blocks + b) * plane * 16
                                let p = xs + o, q = g + o
                                var a = Lanes(), c = Lanes()
                                for i in 0..<plane {
                                    let dyv = load(q + i * 16)
                                    a += dyv
                                    c += dyv * (load(p + i * 16) - mu)
                                }
                                for l in 0..<16 { sdy[l] += Double(a[l]); sdyx[l] += Double(c[l]) }
                            }
                            var meanDy = Lanes(), coef = Lanes()
                            for l in 0..<16 {
                                let sumDy = Float(sdy[l]), sumDyXhat = Float(sdyx[l]) * r[l]
                                dgd[b * 16 + l] = sumDyXhat
                                dbd[b * 16 + l] = sumDy
                                meanDy[l] = sumDy / m
                                coef[l] = sumDyXhat / m * r[l]
                            }
                            for n in 0..<N {
                                let o = (n * blocks + b) * plane * 16
                                let p = xs + o, q = g + o, out = dxd + o
                                if training {
                                    for i in 0..<plane {
                                        store(k * (load(q + i * 16) - meanDy - (load(p + i * 16) - mu) * coef), out + i * 16)
                                    }
                                } else {
                                    for i in 0..<plane { store(k * load(q + i * 16), out + i * 16) }
                                }
                            }
                        }
                    }
                }
            }
            return (dx, dGamma, dBeta)
        } }
    }
}
