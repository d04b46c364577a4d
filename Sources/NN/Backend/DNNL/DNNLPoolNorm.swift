import Foundation
@preconcurrency import CDNNL

/// Max-pool winners as oneDNN records them (its workspace), and the input's order.
final class DNNLPoolContext {
    let workspace: Storage
    let workspaceDesc: dnnl_memory_desc_t
    let srcDesc: dnnl_memory_desc_t
    init(workspace: Storage, workspaceDesc: dnnl_memory_desc_t, srcDesc: dnnl_memory_desc_t) {
        self.workspace = workspace; self.workspaceDesc = workspaceDesc; self.srcDesc = srcDesc
    }
}

/// Batch-norm statistics used by the forward (batch mean and biased variance in training, the
/// running statistics in inference), and the data order.
final class DNNLBatchNormContext {
    let mean: Storage       // (C)
    let variance: Storage   // (C)
    let shift: Storage      // (C) β, which oneDNN's backward asks for although it does not use it
    let dataDesc: dnnl_memory_desc_t
    init(mean: Storage, variance: Storage, shift: Storage, dataDesc: dnnl_memory_desc_t) {
        self.mean = mean; self.variance = variance; self.shift = shift; self.dataDesc = dataDesc
    }
}

extension DNNLBackend {
    /// `t`'s descriptor and storage as they are (another backend's layout: NCHW).
    func concrete(_ t: Tensor) throws -> (dnnl_memory_desc_t, Storage) {
        if let d = try currentDesc(of: t) { return (d, t.storage) }
        return (try dnnlDesc(t.shape, dnnlPlainTag(rank: t.shape.count)), t.plainNCHW().storage)
    }

    // MARK: Max pool

    func poolPrimitive(_ g: PoolGeometry, src: dnnl_memory_desc_t, stage: Stage, training: Bool) -> DNNLPrimitive? {
        let what = "max pool \(stage) \(g)"
        return optionalPrimitive(.pool(g, src: src.key, stage, training: training)) {
            var s = src
            var dst = try dnnlDesc([g.batch, g.channels, g.outHeight, g.outWidth], dnnl_format_tag_any)
            let strides = dnnlDims([g.strideH, g.strideW]), kernel = dnnlDims([g.kernelHeight, g.kernelWidth])
            let dilation = dnnlDims([0, 0]), padL = dnnlDims([g.padTop, g.padLeft])
            let padR = dnnlDims([max(0, (g.outHeight - 1) * g.strideH + g.kernelHeight - g.inHeight - g.padTop),
                                 max(0, (g.outWidth - 1) * g.strideW + g.kernelWidth - g.inWidth - g.padLeft)])
            var op = dnnl_pooling_v2_desc_t()
            if stage == .forward {
                try dnnlCheck(dnnl_pooling_v2_forward_desc_init(&op, training ? dnnl_forward_training : dnnl_forward_inference,
                                                                dnnl_pooling_max, &s, &dst, strides, kernel, dilation, padL, padR),
                              "describe \(what)")
                return try DNNLPrimitive(opDesc: &op, engine: runtime.engine, hint: nil, what: what)
            }
            guard let hint = poolPrimitive(g, src: src, stage: .forward, training: true) else {
                throw DNNLError(operation: "forward primitive for \(what)", status: Int(dnnl_unimplemented.rawValue))
            }
            dst = hint.desc(dnnl_query_dst_md)
            try dnnlCheck(dnnl_pooling_v2_backward_desc_init(&op, dnnl_pooling_max, &s, &dst, strides, kernel, dilation, padL, padR),
                          "describe \(what)")
            return try DNNLPrimitive(opDesc: &op, engine: runtime.engine, hint: hint, what: what)
        }
    }

    public func maxPoolForward(x: Tensor, geometry g: PoolGeometry) -> (y: Tensor, context: AnyObject?) {
        measured("max pool fwd") { maxPoolForwardBody(x: x, geometry: g) }
    }

    private func maxPoolForwardBody(x: Tensor, geometry g: PoolGeometry,
                                    training forced: Bool? = nil) -> (y: Tensor, context: AnyObject?) {
        let training = forced ?? (GradMode.isEnabled && x.needsGrad)
        // Plain NCHW input: oneDNN 2.6 has only its reference `simple_nchw` pooling for that
        // order (≈ 0.2 GB/s here); reordered to nChw16c once it runs the JIT kernel, and the
        // result stays blocked (DECISIONS.md D-220).
        let (srcDesc, src) = fatalOnError("max pool input \(x.shape)") { () throws -> (dnnl_memory_desc_t, Storage) in
            if case .nchw = x.layout, options.keepsBlockedLayouts, x.rank == 4, x.shape[1] % 8 == 0,
               let tag = blockedTag(x.shape[1] % 16 == 0 ? 16 : 8) {
                let want = try dnnlDesc(x.shape, tag)
                return (want, try input(x, as: want))
            }
            return try concrete(x)
        }
        guard let p = poolPrimitive(g, src: srcDesc, stage: .forward, training: training) else {
            let r = reference.maxPoolForward(x: x, geometry: g)
            return (r.y, ReferenceContext(r.context))
        }
        return fatalOnError(p.what) {
            let dstDesc = p.desc(dnnl_query_dst_md)
            let y = Storage(count: dstDesc.floatCount, zeroed: false)
            var args = [DNNLArg(DNNL_ARG_SRC, srcDesc, src), DNNLArg(DNNL_ARG_DST, dstDesc, y)]
            var context: DNNLPoolContext? = nil
            if training {
                let wsDesc = p.desc(dnnl_query_workspace_md)
                let ws = Storage(count: max(1, wsDesc.floatCount), zeroed: false)
                args.append(DNNLArg(DNNL_ARG_WORKSPACE, wsDesc, ws))
                context = DNNLPoolContext(workspace: ws, workspaceDesc: wsDesc, srcDesc: srcDesc)
            }
            try runtime.execute(p, args)
            return (try output(y, dstDesc, shape: [g.batch, g.channels, g.outHeight, g.outWidth]), context)
        }
    }

    public func maxPoolBackward(dy: Tensor, x: Tensor, geometry g: PoolGeometry, context: AnyObject?) -> Tensor {
        measured("max pool bwd") { maxPoolBackwardBody(dy: dy, x: x, geometry: g, context: context) }
    }

    private func maxPoolBackwardBody(dy: Tensor, x: Tensor, geometry g: PoolGeometry, context: AnyObject?) -> Tensor {
        if let fb = context as? ReferenceContext {
            return reference.maxPoolBackward(dy: dy, x: x, geometry: g, context: fb.inner)
        }
        // A forward run without gradients (inference, or an input that needed none) kept no
        // workspace: run the training forward again for it.
        guard let ctx = context as? DNNLPoolContext ?? maxPoolForwardBody(x: x, geometry: g, training: true).context as? DNNLPoolContext
        else { return reference.maxPoolBackward(dy: dy, x: x, geometry: g, context: nil) }
        guard let p = poolPrimitive(g, src: ctx.srcDesc, stage: .backwardData, training: true) else {
            return reference.maxPoolBackward(dy: dy, x: x, geometry: g, context: nil)
        }
        return fatalOnError(p.what) {
            let dyDesc = p.desc(dnnl_query_diff_dst_md), dxDesc = p.desc(dnnl_query_diff_src_md)
            let g = try input(dy, as: dyDesc)
            let dx = Storage(count: dxDesc.floatCount, zeroed: false)
            try runtime.execute(p, [DNNLArg(DNNL_ARG_DIFF_DST, dyDesc, g),
                                    DNNLArg(DNNL_ARG_WORKSPACE, ctx.workspaceDesc, ctx.workspace),
                                    DNNLArg(DNNL_ARG_DIFF_SRC, dxDesc, dx)])
            return try output(dx, dxDesc, shape: x.shape)
        }
    }

    // MARK: Batch norm

    /// Forward primitives always use `forward_training` (it outputs the batch statistics, and a
    /// backward needs a training forward as its hint); `batchStats` false = running statistics.
    func batchNormPrimitive(data: dnnl_memory_desc_t, epsilon: Float, stage: Stage, batchStats: Bool) -> DNNLPrimitive? {
        let what = "batch norm \(stage) \(data.formatName)"
        return optionalPrimitive(.batchNorm(data: data.key, epsilon: epsilon, stage, training: batchStats)) {
            var d = data
            var flags = dnnl_use_scale.rawValue | dnnl_use_shift.rawValue
            if !batchStats { flags |= dnnl_use_global_stats.rawValue }
            var op = dnnl_batch_normalization_desc_t()
            if stage == .forward {
                try dnnlCheck(dnnl_batch_normalization_forward_desc_init(&op, dnnl_forward_training, &d, epsilon, flags),
                              "describe \(what)")
                return try DNNLPrimitive(opDesc: &op, engine: runtime.engine, hint: nil, what: what)
            }
            guard let hint = batchNormPrimitive(data: data, epsilon: epsilon, stage: .forward, batchStats: batchStats) else {
                throw DNNLError(operation: "forward primitive for \(what)", status: Int(dnnl_unimplemented.rawValue))
            }
            var dd = data
            try dnnlCheck(dnnl_batch_normalization_backward_desc_init(&op, dnnl_backward, &dd, &d, epsilon, flags),
                          "describe \(what)")
            return try DNNLPrimitive(opDesc: &op, engine: runtime.engine, hint: hint, what: what)
        }
    }

    public func batchNormForward(x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                                 settings: BatchNormSettings, training: Bool) -> (y: Tensor, context: AnyObject?) {
        measured("batch norm fwd") {
            batchNormForwardBody(x: x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                                 settings: settings, training: training)
        }
    }

    private func batchNormForwardBody(x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                                      settings: BatchNormSettings, training: Bool) -> (y: Tensor, context: AnyObject?) {
        if options.ownBlockedBatchNorm, let l = blocked16Layout(x) {
            return blockedBatchNormForward(x: x, layout: l, gamma: gamma, beta: beta, runningMean: runningMean,
                                           runningVar: runningVar, settings: settings, training: training)
        }
        let (N, C, H, W) = x.dims4("batch_norm")
        let (desc, src) = fatalOnError("batch norm input \(x.shape)") { try concrete(x) }
        guard let p = batchNormPrimitive(data: desc, epsilon: settings.epsilon, stage: .forward, batchStats: training) else {
            let r = reference.batchNormForward(x: x, gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar,
                                               settings: settings, training: training)
            return (r.y, ReferenceContext(r.context))
        }
        return fatalOnError(p.what) {
            let statDesc = try dnnlDesc([C], dnnl_a)
            let y = Storage(count: desc.floatCount, zeroed: false)
            let mean = Storage(count: C, zeroed: false), variance = Storage(count: C, zeroed: false)
            if !training {
                runningMean.withNCHW { mean.data.update(from: $0, count: C) }
                runningVar.withNCHW { variance.data.update(from: $0, count: C) }
            }
            try runtime.execute(p, [DNNLArg(DNNL_ARG_SRC, desc, src), DNNLArg(DNNL_ARG_DST, desc, y),
                                    DNNLArg(DNNL_ARG_SCALE, statDesc, gamma.plainNCHW()),
                                    DNNLArg(DNNL_ARG_SHIFT, statDesc, beta.plainNCHW()),
                                    DNNLArg(DNNL_ARG_MEAN, statDesc, mean),
                                    DNNLArg(DNNL_ARG_VARIANCE, statDesc, variance)])
            if training {
                // oneDNN reports the biased batch variance and leaves running statistics alone.
                let m = N * H * W, f = settings.updateFraction
                let correction: Float = settings.unbiasedRunningVariance && m > 1 ? Float(m) / Float(m - 1) : 1
                let rm = runningMean.data, rv = runningVar.data
                for c in 0..<C {
                    rm[c] = (1 - f) * rm[c] + f * mean.data[c]
                    rv[c] = (1 - f) * rv[c] + f * variance.data[c] * correction
                }
            }
            let out = try output(y, desc, shape: x.shape)
            return (out, DNNLBatchNormContext(mean: mean, variance: variance, shift: beta.plainNCHW().storage, dataDesc: desc))
        }
    }

    public func batchNormBackward(dy: Tensor, x: Tensor, gamma: Tensor, settings: BatchNormSettings, training: Bool,
                                  context: AnyObject?) -> (dx: Tensor, dGamma: Tensor, dBeta: Tensor) {
        measured("batch norm bwd") {
            batchNormBackwardBody(dy: dy, x: x, gamma: gamma, settings: settings, training: training, context: context)
        }
    }

    private func batchNormBackwardBody(dy: Tensor, x: Tensor, gamma: Tensor, settings: BatchNormSettings, training: Bool,
                                       context: AnyObject?) -> (dx: Tensor, dGamma: Tensor, dBeta: Tensor) {
        if let ctx = context as? BlockedBatchNormContext {
            return blockedBatchNormBackward(dy: dy, x: x, gamma: gamma, training: training, context: ctx)
        }
        if let fb = context as? ReferenceContext {
            return reference.batchNormBackward(dy: dy, x: x, gamma: gamma, settings: settings, training: training, context: fb.inner)
        }
        guard let ctx = context as? DNNLBatchNormContext,
              let p = batchNormPrimitive(data: ctx.dataDesc, epsilon: settings.epsilon, stage: .backwardData, batchStats: training)
        else { fatalError("batch_norm backward: missing forward context") }
        let C = x.shape[1]
        return fatalOnError(p.what) {
            let desc = ctx.dataDesc
            let (xDesc, xs) = try concrete(x)
            let src = xDesc.equals(desc) ? xs : try input(x, as: desc)
            let g = try input(dy, as: desc)
            let statDesc = try dnnlDesc([C], dnnl_a)
            let dx = Storage(count: desc.floatCount, zeroed: false)
            let dGamma = Tensor(uninitialized: [C]), dBeta = Tensor(uninitialized: [C])
            try runtime.execute(p, [DNNLArg(DNNL_ARG_SRC, desc, src), DNNLArg(DNNL_ARG_DIFF_DST, desc, g),
                                    DNNLArg(DNNL_ARG_MEAN, statDesc, ctx.mean),
                                    DNNLArg(DNNL_ARG_VARIANCE, statDesc, ctx.variance),
                                    DNNLArg(DNNL_ARG_SCALE, statDesc, gamma.plainNCHW()),
                                    DNNLArg(DNNL_ARG_SHIFT, statDesc, ctx.shift),
                                    DNNLArg(DNNL_ARG_DIFF_SRC, desc, dx),
                                    DNNLArg(DNNL_ARG_DIFF_SCALE, statDesc, dGamma),
                                    DNNLArg(DNNL_ARG_DIFF_SHIFT, statDesc, dBeta)])
            return (try output(dx, desc, shape: x.shape), dGamma, dBeta)
        }
    }
}
