import Foundation
@preconcurrency import CDNNL

// Nearest upsampling, channel concatenation and mixed-layout addition on oneDNN primitives, so
// decoder paths (xunet's upsample + add, unet's deconv + concat) keep activations blocked
// instead of converting to NCHW and back around every such op. Each op falls back to NN's
// NCHW loops when its input is not in a oneDNN blocked order (nothing to keep) or when oneDNN
// has no implementation for the shapes.

extension DNNLBackend {
    /// `t`'s oneDNN descriptor when it is in one of this backend's blocked orders, else nil.
    func blockedDesc(of t: Tensor) -> dnnl_memory_desc_t? {
        guard options.keepsBlockedLayouts, case .opaque(let l) = t.layout, let d = l as? DNNLLayout, d.backend === self else { return nil }
        return d.desc
    }

    // MARK: Nearest upsampling

    func resamplingPrimitive(src: dnnl_memory_desc_t, dst dims: [Int], factors: [Float], stage: Stage) -> DNNLPrimitive? {
        let what = "nearest resampling \(stage) \(src.formatName) → \(dims)"
        return optionalPrimitive(.resampling(src: src.key, dst: dims, stage)) {
            var op = dnnl_resampling_desc_t()
            if stage == .forward {
                var s = src
                var d = try dnnlDesc(dims, dnnl_format_tag_any)
                try dnnlCheck(dnnl_resampling_forward_desc_init(&op, dnnl_forward_training, dnnl_resampling_nearest, factors, &s, &d),
                              "describe \(what)")
                return try DNNLPrimitive(opDesc: &op, engine: runtime.engine, hint: nil, what: what)
            }
            guard let hint = resamplingPrimitive(src: src, dst: dims, factors: factors, stage: .forward) else {
                throw DNNLError(operation: "forward primitive for \(what)", status: Int(dnnl_unimplemented.rawValue))
            }
            var diffSrc = src
            var diffDst = hint.desc(dnnl_query_dst_md)
            try dnnlCheck(dnnl_resampling_backward_desc_init(&op, dnnl_resampling_nearest, factors, &diffSrc, &diffDst),
                          "describe \(what)")
            return try DNNLPrimitive(opDesc: &op, engine: runtime.engine, hint: hint, what: what)
        }
    }

    public func upsampleNearestForward(x: Tensor, scale: (Int, Int)) -> Tensor {
        let (N, C, H, W) = x.dims4("upsample_nearest")
        let outShape = [N, C, H * scale.0, W * scale.1]
        guard let src = blockedDesc(of: x),
              let p = resamplingPrimitive(src: src, dst: outShape, factors: [Float(scale.0), Float(scale.1)], stage: .forward)
        else { return upsampleNearestNCHW(x, scale: scale) }
        return measured("upsample fwd") {
            fatalOnError(p.what) {
                let dstDesc = p.desc(dnnl_query_dst_md)
                let y = Storage(count: dstDesc.floatCount, zeroed: false)
                try runtime.execute(p, [DNNLArg(DNNL_ARG_SRC, src, x.storage), DNNLArg(DNNL_ARG_DST, dstDesc, y)])
                return try output(y, dstDesc, shape: outShape)
            }
        }
    }

    public func upsampleNearestBackward(dy: Tensor, inputShape: [Int], scale: (Int, Int), inputLayout: TensorLayout) -> Tensor {
        guard case .opaque(let l) = inputLayout, let layout = l as? DNNLLayout, layout.backend === self,
              let p = resamplingPrimitive(src: layout.desc, dst: dy.shape, factors: [Float(scale.0), Float(scale.1)],
                                          stage: .backwardData)
        else { return upsampleNearestGradNCHW(dy, inputShape: inputShape, scale: scale) }
        return measured("upsample bwd") {
            fatalOnError(p.what) {
                let dyDesc = p.desc(dnnl_query_diff_dst_md), dxDesc = p.desc(dnnl_query_diff_src_md)
                let g = try input(dy, as: dyDesc)
                let dx = Storage(count: dxDesc.floatCount, zeroed: false)
                try runtime.execute(p, [DNNLArg(DNNL_ARG_DIFF_DST, dyDesc, g), DNNLArg(DNNL_ARG_DIFF_SRC, dxDesc, dx)])
                return try output(dx, dxDesc, shape: inputShape)
            }
        }
    }

    // MARK: Concatenation along channels

    public func concatForward(_ xs: [Tensor]) -> Tensor {
        guard xs.count > 1, xs.contains(where: { blockedDesc(of: $0) != nil }) else { return concatNCHW(xs) }
        let shape0 = xs[0].shape
        let outShape = [shape0[0], xs.reduce(0) { $0 + $1.shape[1] }, shape0[2], shape0[3]]
        let inputs = fatalOnError("concat inputs \(xs.map(\.shape))") { try xs.map { try concrete($0) } }
        let descs = inputs.map(\.0)
        let key = PrimitiveKey.concat(descs.map(\.key))
        let what = "concat \(descs.map(\.formatName)) \(xs.map(\.shape))"
        // The output in the first blocked input's blocking when the channel total allows it.
        var dstTag = dnnl_format_tag_any
        if let block = descs.lazy.compactMap({ self.channelBlock($0) }).first, outShape[1] % block == 0,
           let tag = blockedTag(block) { dstTag = tag }
        guard let p = optionalPrimitive(key, make: {
            var dst = try dnnlDesc(outShape, dstTag)
            var pd: dnnl_primitive_desc_t? = nil
            try dnnlCheck(descs.withUnsafeBufferPointer { srcs in
                dnnl_concat_primitive_desc_create(&pd, &dst, Int32(srcs.count), 1, srcs.baseAddress, nil, runtime.engine)
            }, "describe \(what)")
            guard let pd else { throw DNNLError(operation: "describe \(what)", status: -1) }
            return try DNNLPrimitive(pd: pd, what: what)
        }) else { return concatNCHW(xs) }
        return measured("concat fwd") {
            fatalOnError(what) {
                let dstDesc = p.desc(dnnl_query_dst_md)
                let y = Storage(count: dstDesc.floatCount, zeroed: false)
                var args = [DNNLArg(DNNL_ARG_DST, dstDesc, y)]
                for (i, (d, s)) in inputs.enumerated() { args.append(DNNLArg(DNNL_ARG_MULTIPLE_SRC + Int32(i), d, s)) }
                try runtime.execute(p, args)
                return try output(y, dstDesc, shape: outShape)
            }
        }
    }

    public func concatBackward(dy: Tensor, channels: [Int], needed: [Bool]) -> [Tensor?] {
        // Slices of a blocked gradient are views (sub-memories) when every channel offset is a
        // multiple of the block; each is reordered into its own buffer in the same blocking.
        guard let parent = blockedDesc(of: dy), let block = channelBlock(parent),
              channels.allSatisfy({ $0 % block == 0 }), let tag = blockedTag(block)
        else { return concatGradNCHW(dy, channels: channels, needed: needed) }
        let (N, _, H, W) = dy.dims4("concat")
        return measured("concat bwd") {
            fatalOnError("concat backward \(dy.shape) into \(channels)") {
                var out: [Tensor?] = []
                var offset = 0
                for (c, need) in zip(channels, needed) {
                    defer { offset += c }
                    guard need else { out.append(nil); continue }
                    var sub = dnnl_memory_desc_t()
                    var whole = parent
                    let dims = dnnlDims([N, c, H, W]), offsets = dnnlDims([0, offset, 0, 0])
                    try dnnlCheck(dnnl_memory_desc_init_submemory(&sub, &whole, dims, offsets), "slice \(parent.formatName) at channel \(offset)")
                    let dst = try dnnlDesc([N, c, H, W], tag)
                    let s = Storage(count: dst.floatCount, zeroed: false)
                    try reorder(dy.storage.data, sub, into: s.data, dst)
                    out.append(try output(s, dst, shape: [N, c, H, W]))
                }
                return out
            }
        }
    }

    /// The channel block of a 4-D `aBcdNb` order (16 for nChw16c), nil for other orders.
    func channelBlock(_ d: dnnl_memory_desc_t) -> Int? {
        guard d.ndims == 4, d.format_kind == dnnl_blocked else { return nil }
        let b = d.format_desc.blocking
        guard b.inner_nblks == 1, b.inner_idxs.0 == 1, d.formatName.hasPrefix("aBcd") else { return nil }
        return Int(b.inner_blks.0)
    }

    func blockedTag(_ block: Int) -> dnnl_format_tag_t? {
        switch block {
        case 16: return dnnl_aBcd16b
        case 8: return dnnl_aBcd8b
        case 4: return dnnl_aBcd4b
        default: return nil
        }
    }

    // MARK: Addition of two layouts

    /// `a + b` (no autograd) in `a`'s blocked order when the two orders differ: one oneDNN binary
    /// add that reads both as they are, instead of converting both to NCHW.
    public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        guard let da = blockedDesc(of: a) ?? blockedDesc(of: b) else { return addNCHW(a, b) }
        let (first, second) = blockedDesc(of: a) != nil ? (a, b) : (b, a)
        if case .opaque(let l1) = first.layout, case .opaque(let l2) = second.layout, l1 === l2 { return addNCHW(a, b) }
        var (db, sb) = fatalOnError("add input \(second.shape)") { try concrete(second) }
        if db.key != da.key {
            // Different orders: oneDNN's binary add would take its slow reference kernel (82 % of
            // an xunet inference step); one JIT reorder into `a`'s order and a same-order add are
            // an order of magnitude faster.
            let converted = Storage(count: da.floatCount, zeroed: false)
            fatalOnError("reorder add input \(second.shape)") { try reorder(sb.data, db, into: converted.data, da) }
            (db, sb) = (da, converted)
        }
        let what = "binary add \(da.formatName) + \(db.formatName)"
        guard let p = optionalPrimitive(.binary(da.key, db.key), make: {
            var s0 = da, s1 = db, d = da
            var op = dnnl_binary_desc_t()
            try dnnlCheck(dnnl_binary_desc_init(&op, dnnl_binary_add, &s0, &s1, &d), "describe \(what)")
            return try DNNLPrimitive(opDesc: &op, engine: runtime.engine, hint: nil, what: what)
        }) else { return addNCHW(a, b) }
        return measured("add (mixed layouts)") {
            fatalOnError(what) {
                let y = Storage(count: da.floatCount, zeroed: false)
                try runtime.execute(p, [DNNLArg(DNNL_ARG_SRC_0, da, first.storage), DNNLArg(DNNL_ARG_SRC_1, db, sb),
                                        DNNLArg(DNNL_ARG_DST, da, y)])
                return try output(y, da, shape: a.shape)
            }
        }
    }
}
