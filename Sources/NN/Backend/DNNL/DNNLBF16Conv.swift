import Foundation
@preconcurrency import CDNNL

// bf16 convolutions and transposed convolutions (`DNNLOptions.bf16`, `precision = bf16`).
//
// Mixed precision as PyTorch's CPU autocast does it, per op: the conv's input and weights are
// rounded to bf16 (round to nearest even) on entry, oneDNN's AVX512-BF16 / AMX kernels multiply
// them and accumulate in fp32, and the result is fp32 — so batch norm statistics, ReLU, pooling,
// the loss and the metrics see fp32 tensors, and everything between two convs is unchanged.
//
//   forward          src bf16 · weights bf16 → dst fp32 (bias fp32)
//   backward data    diff_dst bf16 · weights bf16 → diff_src fp32
//   backward weights src bf16 · diff_dst bf16 → diff_weights fp32, diff_bias fp32
//
// Master weights stay fp32 parameters (the optimizer and its state never see bf16). Their bf16
// copies (in each primitive's blocked order) are kept while the parameter's `Storage.version`
// is unchanged (`DNNLWeights.swift`), so one training step rounds each weight once per order and
// the optimizer's in-place update makes the next step round afresh. The forward keeps its bf16
// input for the weight gradient (half the bytes of the fp32 activation).
//
// A shape oneDNN has no bf16 implementation for returns nil here and runs the fp32 path
// (recorded in `fallbacks` under `bf16(…)`).

/// A memory descriptor of `dims` in `tag` with element type `type`.
func dnnlDesc(_ dims: [Int], _ tag: dnnl_format_tag_t, type: dnnl_data_type_t) throws -> dnnl_memory_desc_t {
    try DNNLLimits.check(dims)
    var md = dnnl_memory_desc_t()
    var d = dnnlDims(dims)
    try dnnlCheck(dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), &d, type, tag),
                  "memory descriptor \(dims) tag \(tag.rawValue) type \(type.rawValue)")
    return md
}

extension dnnl_memory_desc_t {
    /// The logical dimensions.
    var dimensions: [Int] {
        withUnsafeBytes(of: dims) { Array($0.bindMemory(to: Int64.self).prefix(Int(ndims))) }.map { Int($0) }
    }

    /// The same dimensions with element type `type`, order left to the primitive.
    func anyOrder(_ type: dnnl_data_type_t) throws -> dnnl_memory_desc_t {
        try dnnlDesc(dimensions, dnnl_format_tag_any, type: type)
    }
}

extension DNNLBackend {
    /// Convolutions (and transposed convolutions) that ran in bf16 since the backend was made.
    public var bf16ConvolutionCount: Int {
        lock.lock(); defer { lock.unlock() }
        return bf16Count
    }

    /// The bf16 conv / deconv primitive of one stage (fp32 outputs and gradients), or nil.
    func bf16ConvPrimitive(_ g: ConvGeometry, transposed: Bool, stage: Stage, bias: Bool, training: Bool) -> DNNLPrimitive? {
        let inner: PrimitiveKey = transposed ? .deconv(g, stage, bias: bias, training: training)
            : .conv(g, stage, bias: bias, training: training)
        let what = "bf16 \(transposed ? "deconvolution" : "convolution") \(stage) \(g)"
        return optionalPrimitive(.bf16(inner)) {
            let f = try convDescs(g, transposed: transposed, tag: dnnl_format_tag_any)
            var src16 = try f.src.anyOrder(dnnl_bf16), w16 = try f.weights.anyOrder(dnnl_bf16)
            var dst16 = try f.dst.anyOrder(dnnl_bf16)
            var src32 = f.src, w32 = f.weights, dst32 = f.dst, bias32 = f.bias
            let noBias = dnnl_memory_desc_t()
            switch stage {
            case .forward:
                let prop = training ? dnnl_forward_training : dnnl_forward_inference
                if transposed {
                    var op = dnnl_deconvolution_desc_t()
                    try dnnlCheck(withUnsafePointer(to: bias ? bias32 : noBias) { b in
                        dnnl_dilated_deconvolution_forward_desc_init(&op, prop, dnnl_deconvolution_direct, &src16, &w16, b,
                                                                     &dst32, f.strides, f.dilates, f.padL, f.padR)
                    }, "describe \(what)")
                    return try DNNLPrimitive(opDesc: &op, engine: runtime.engine, hint: nil, what: what)
                }
                var op = dnnl_convolution_desc_t()
                try dnnlCheck(withUnsafePointer(to: bias ? bias32 : noBias) { b in
                    dnnl_dilated_convolution_forward_desc_init(&op, prop, dnnl_convolution_direct, &src16, &w16, b,
                                                               &dst32, f.strides, f.dilates, f.padL, f.padR)
                }, "describe \(what)")
                return try DNNLPrimitive(opDesc: &op, engine: runtime.engine, hint: nil, what: what)
            case .backwardData, .backwardWeights:
                guard let hint = bf16ConvPrimitive(g, transposed: transposed, stage: .forward, bias: bias, training: true) else {
                    throw DNNLError(operation: "forward primitive for \(what)", status: Int(dnnl_unimplemented.rawValue))
                }
                if transposed {
                    var op = dnnl_deconvolution_desc_t()
                    if stage == .backwardData {
                        try dnnlCheck(dnnl_dilated_deconvolution_backward_data_desc_init(
                            &op, dnnl_deconvolution_direct, &src32, &w16, &dst16, f.strides, f.dilates, f.padL, f.padR),
                                      "describe \(what)")
                    } else {
                        try dnnlCheck(withUnsafePointer(to: bias ? bias32 : noBias) { b in
                            dnnl_dilated_deconvolution_backward_weights_desc_init(
                                &op, dnnl_deconvolution_direct, &src16, &w32, b, &dst16, f.strides, f.dilates, f.padL, f.padR)
                        }, "describe \(what)")
                    }
                    return try DNNLPrimitive(opDesc: &op, engine: runtime.engine, hint: hint, what: what)
                }
                var op = dnnl_convolution_desc_t()
                if stage == .backwardData {
                    try dnnlCheck(dnnl_dilated_convolution_backward_data_desc_init(
                        &op, dnnl_convolution_direct, &src32, &w16, &dst16, f.strides, f.dilates, f.padL, f.padR),
                                  "describe \(what)")
                } else {
                    try dnnlCheck(withUnsafePointer(to: bias ? bias32 : noBias) { b in
                        dnnl_dilated_convolution_backward_weights_desc_init(
                            &op, dnnl_convolution_direct, &src16, &w32, b, &dst16, f.strides, f.dilates, f.padL, f.padR)
                    }, "describe \(what)")
                }
                return try DNNLPrimitive(opDesc: &op, engine: runtime.engine, hint: hint, what: what)
            }
        }
    }

    /// The bf16 forward of a conv / transposed conv, or nil when oneDNN has no bf16 kernel for it.
    func bf16ConvLikeForward(x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry,
                             transposed: Bool, training: Bool) -> (y: Tensor, context: AnyObject?)? {
        guard let p = bf16ConvPrimitive(g, transposed: transposed, stage: .forward, bias: bias != nil, training: training) else {
            return nil
        }
        let result: (y: Tensor, context: AnyObject?) = fatalOnError(p.what) {
            let srcDesc = p.desc(dnnl_query_src_md), wDesc = p.desc(dnnl_query_weights_md), dstDesc = p.desc(dnnl_query_dst_md)
            let src = try input(x, as: srcDesc)
            let w = try bf16Weights(weight, g, transposed: transposed, as: wDesc)
            let y = Storage(count: dstDesc.floatCount, zeroed: false)
            var args = [DNNLArg(DNNL_ARG_SRC, srcDesc, src), DNNLArg(DNNL_ARG_WEIGHTS, wDesc, w),
                        DNNLArg(DNNL_ARG_DST, dstDesc, y)]
            if let bias { args.append(DNNLArg(DNNL_ARG_BIAS, try dnnlDesc([bias.count], dnnl_a), bias.plainNCHW())) }
            try runtime.execute(p, args)
            let outShape = transposed ? [g.batch, g.inChannels, g.inHeight, g.inWidth]
                : [g.batch, g.outChannels, g.outHeight, g.outWidth]
            let out = try output(y, dstDesc, shape: outShape)
            return (out, training ? ConvContext(src: src, srcDesc: srcDesc) : nil)
        }
        countBF16()
        return result
    }

    /// The bf16 backward of a conv / transposed conv (fp32 gradients), or nil when oneDNN has no
    /// bf16 kernel for one of the stages needed.
    func bf16ConvLikeBackward(dy: Tensor, x: Tensor, weight: Tensor, geometry g: ConvGeometry, context: AnyObject?,
                              transposed: Bool, needInput: Bool, needBias: Bool) -> (dx: Tensor?, dWeight: Tensor, dBias: Tensor?)? {
        guard let bw = bf16ConvPrimitive(g, transposed: transposed, stage: .backwardWeights, bias: needBias, training: true) else {
            return nil
        }
        var bd: DNNLPrimitive? = nil
        if needInput {
            guard let p = bf16ConvPrimitive(g, transposed: transposed, stage: .backwardData, bias: false, training: true) else {
                return nil
            }
            bd = p
        }
        let ctx = context as? ConvContext
        let result: (dx: Tensor?, dWeight: Tensor, dBias: Tensor?) = fatalOnError(bw.what) {
            let dyDesc = bw.desc(dnnl_query_diff_dst_md), srcDesc = bw.desc(dnnl_query_src_md)
            let dwDesc = bw.desc(dnnl_query_diff_weights_md)
            let dy16 = try input(dy, as: dyDesc)
            let src: Storage
            if let ctx, ctx.srcDesc.equals(srcDesc) { src = ctx.src } else { src = try input(x, as: srcDesc) }
            let plainW = try plainWeights(g, transposed: transposed)
            let dW = Tensor(uninitialized: weight.shape)
            let dwDirect = dwDesc.equals(plainW)
            let dwBuffer = dwDirect ? dW.storage : Storage(count: dwDesc.floatCount, zeroed: false)
            var args = [DNNLArg(DNNL_ARG_SRC, srcDesc, src), DNNLArg(DNNL_ARG_DIFF_DST, dyDesc, dy16),
                        DNNLArg(DNNL_ARG_DIFF_WEIGHTS, dwDesc, dwBuffer)]
            var dBias: Tensor? = nil
            if needBias {
                let b = Tensor(uninitialized: [transposed ? g.inChannels : g.outChannels])
                args.append(DNNLArg(DNNL_ARG_DIFF_BIAS, try dnnlDesc([b.count], dnnl_a), b))
                dBias = b
            }
            try runtime.execute(bw, args)
            if !dwDirect { try reorder(dwBuffer.data, dwDesc, into: dW.data, plainW) }

            var dx: Tensor? = nil
            if let bd {
                let dyDescD = bd.desc(dnnl_query_diff_dst_md), wDesc = bd.desc(dnnl_query_weights_md)
                let dxDesc = bd.desc(dnnl_query_diff_src_md)
                let dyD = dyDescD.equals(dyDesc) ? dy16 : try input(dy, as: dyDescD)
                let w = try bf16Weights(weight, g, transposed: transposed, as: wDesc)
                let out = Storage(count: dxDesc.floatCount, zeroed: false)
                try runtime.execute(bd, [DNNLArg(DNNL_ARG_DIFF_DST, dyDescD, dyD), DNNLArg(DNNL_ARG_WEIGHTS, wDesc, w),
                                         DNNLArg(DNNL_ARG_DIFF_SRC, dxDesc, out)])
                dx = try output(out, dxDesc, shape: x.shape)
            }
            return (dx, dW, dBias)
        }
        countBF16()
        return result
    }

    /// The fp32 master `weight` rounded to bf16 in the order `want`, kept while the parameter's
    /// version is unchanged (in training too: the forward and the input gradient of one step
    /// share it; the optimizer's update makes the next step round again).
    private func bf16Weights(_ weight: Tensor, _ g: ConvGeometry, transposed: Bool, as want: dnnl_memory_desc_t) throws -> Storage {
        let plainW = try plainWeights(g, transposed: transposed)
        return try preparedWeights(weight, orders: want.key, reusable: options.keepsInferenceWeights) { plain in
            [try input(plain: plain, plainW, as: want)]
        }[0]
    }

    private func countBF16() { lock.lock(); bf16Count += 1; lock.unlock() }
}
