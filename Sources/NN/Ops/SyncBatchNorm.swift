import Foundation

/// Sums per-channel batch-norm statistics over the replicas of a data-parallel job (an
/// all-reduce). Every replica must call it the same number of times, in the same order: the
/// layers of one model do, forward and backward alike.
public protocol BatchNormSynchronizer: AnyObject {
    /// Replaces `values` by their element-wise sum over all replicas.
    func sumOverReplicas(_ values: inout [Double])
}

/// Synchronised batch norm in training (PyTorch's `nn.SyncBatchNorm`): the mean and variance
/// of each channel are those of the whole batch over all replicas, so N replicas of batch b
/// normalise exactly as one process of batch N·b, and the running statistics are the same on
/// every replica. Two all-reduces in the forward (the sums, then the centred squares: no
/// E[x²] − E[x]² cancellation), one in the backward (Σ dy and Σ dy·(x − μ)).
///
/// The backward follows PyTorch's: γ's and β's gradients are this replica's own sums (the
/// data-parallel step averages them with every other gradient), the input's gradient uses the
/// global sums. Replica r's input gradient is then N times its share of one process's, which
/// the step's averaging over N replicas undoes (D-166). Computed in NCHW order (the tensor is
/// read through `withNCHW`), in Double where it sums.
public func syncBatchNorm(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                          settings: BatchNormSettings, synchronizer: BatchNormSynchronizer) -> Tensor {
    let (N, C, H, W) = x.dims4("sync_batch_norm")
    for (name, t) in [("gamma", gamma), ("beta", beta), ("running_mean", runningMean), ("running_var", runningVar)] {
        require(t.shape == [C], "sync_batch_norm: \(name) must be [\(C)] for input \(x.shape), got \(t.shape)")
    }
    let plane = H * W
    // Pass 1: Σx per channel and the element count, over all replicas.
    var sums = [Double](repeating: 0, count: C + 1)
    x.withNCHW { xs in
        for c in 0..<C {
            var s: Double = 0
            for n in 0..<N {
                let p = xs + (n * C + c) * plane
                var acc: Float = 0
                for i in 0..<plane { acc += p[i] }
                s += Double(acc)
            }
            sums[c] = s
        }
    }
    sums[C] = Double(N * plane)
    synchronizer.sumOverReplicas(&sums)
    let m = sums[C]
    let mean = (0..<C).map { m > 0 ? sums[$0] / m : 0 }
    // Pass 2: Σ(x − μ)² per channel, over all replicas.
    var squares = [Double](repeating: 0, count: C)
    x.withNCHW { xs in
        for c in 0..<C {
            let mu = Float(mean[c])
            var s: Double = 0
            for n in 0..<N {
                let p = xs + (n * C + c) * plane
                var acc: Float = 0
                for i in 0..<plane { let d = p[i] - mu; acc += d * d }
                s += Double(acc)
            }
            squares[c] = s
        }
    }
    synchronizer.sumOverReplicas(&squares)
    let variance = (0..<C).map { m > 0 ? squares[$0] / m : 0 }
    let eps = Double(settings.epsilon), f = settings.updateFraction
    let rstd = variance.map { Float(1 / ($0 + eps).squareRoot()) }
    let muF = mean.map { Float($0) }
    for c in 0..<C {
        let runVar = settings.unbiasedRunningVariance && m > 1 ? variance[c] * m / (m - 1) : variance[c]
        runningMean.data[c] = (1 - f) * runningMean.data[c] + f * muF[c]
        runningVar.data[c] = (1 - f) * runningVar.data[c] + f * Float(runVar)
    }
    runningMean.storage.markModified()
    runningVar.storage.markModified()

    let y = Tensor(uninitialized: x.shape)
    x.withNCHW { xs in
        let yd = y.data, gd = gamma.data, bd = beta.data
        for c in 0..<C {
            let scale = gd[c] * rstd[c], shift = bd[c] - muF[c] * scale
            for n in 0..<N {
                let p = xs + (n * C + c) * plane, q = yd + (n * C + c) * plane
                for i in 0..<plane { q[i] = p[i] * scale + shift }
            }
        }
    }
    return y.recording("sync_batch_norm", [x, gamma, beta]) { dy in
        var local = [Double](repeating: 0, count: 2 * C)
        withNCHW(x, dy) { xs, g in
            for c in 0..<C {
                let mu = muF[c]
                var sdy: Double = 0, sdyx: Double = 0
                for n in 0..<N {
                    let p = xs + (n * C + c) * plane, q = g + (n * C + c) * plane
                    var a: Float = 0, b: Float = 0
                    for i in 0..<plane { a += q[i]; b += q[i] * (p[i] - mu) }
                    sdy += Double(a); sdyx += Double(b)
                }
                local[c] = sdy
                local[C + c] = sdyx
            }
        }
        let dGamma = Tensor(uninitialized: [C]), dBeta = Tensor(uninitialized: [C])
        for c in 0..<C {
            dGamma.data[c] = Float(local[C + c]) * rstd[c]
            dBeta.data[c] = Float(local[c])
        }
        var global = local
        synchronizer.sumOverReplicas(&global)
        let dx = Tensor(uninitialized: x.shape)
        withNCHW(x, dy) { xs, g in
            let gd = gamma.data, dxd = dx.data
            for c in 0..<C {
                let r = rstd[c], mu = muF[c], k = gd[c] * r
                let meanDy = Float(m > 0 ? global[c] / m : 0)
                let coef = Float(m > 0 ? global[C + c] / m : 0) * r * r
                for n in 0..<N {
                    let p = xs + (n * C + c) * plane, q = g + (n * C + c) * plane, o = dxd + (n * C + c) * plane
                    for i in 0..<plane { o[i] = k * (q[i] - meanDy - (p[i] - mu) * coef) }
                }
            }
        }
        return [dx, dGamma, dBeta]
    }
}
