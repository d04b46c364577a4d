import Foundation
@preconcurrency import CDNNL

/// The oneDNN backend: convolution, transposed convolution, max pool and batch norm on oneDNN
/// primitives (the library PyTorch's CPU path runs on).
///
/// - Layouts: every conv / deconv asks oneDNN for its preferred memory order
///   (`dnnl_format_tag_any`; `nChw16c` on AVX-512) and returns its result in that order as an
///   opaque `DNNLLayout`, so a chain conv → batch norm → ReLU → conv never converts to NCHW.
///   Inputs in another order are reordered once on entry; weights (NCHW parameters) are reordered
///   to the primitive's blocked order on every training call and once for inference (kept while
///   the parameter's version is unchanged, `DNNLWeights.swift`), weight gradients back to NCHW.
/// - Stride-1 and stride-2 transposed convs without autograd run as stride-1 convs, one per
///   output phase (`DNNLPhaseDeconv.swift`): oneDNN's brgemm convs are ≈ 1.6× faster than its
///   deconvolution.
/// - Caching: primitive descriptors and compiled primitives are kept in a dictionary keyed by the
///   op's geometry, stage and thread count, so after a model's first step no primitive is
///   created again.
/// - Fallback: a shape oneDNN has no implementation for runs on the reference backend (recorded
///   in `fallbacks`, reported by benchmarks).
/// - Threads: oneDNN's OpenMP runtime runs with NN's `Threads.count`.
public final class DNNLBackend: Backend, @unchecked Sendable {
    /// The process-wide instance, or nil when the library cannot create a CPU engine.
    public static let shared: DNNLBackend? = try? DNNLBackend()
    /// Why `shared` is nil (the error creating the engine), for `--backend dnnl` to report.
    public static var unavailableReason: String? {
        if shared != nil { return nil }
        do { _ = try DNNLRuntime(); return nil } catch { return "\(error)" }
    }

    public var name: String { options.bf16 ? "dnnl bf16 (oneDNN bf16 convolutions, fp32 elsewhere)" : "dnnl (oneDNN primitives, blocked layouts)" }

    /// The instance with bf16 convolutions (`DNNLOptions.bf16`), or nil when the CPU has no
    /// AVX512-BF16 / AMX (`BF16Support.current`) or the engine cannot be created.
    public static let sharedBF16: DNNLBackend? = BF16Support.current.available ? try? DNNLBackend(options: DNNLOptions(bf16: true)) : nil

    let runtime: DNNLRuntime
    let lock = NSLock()
    var layouts: [[Int64]: DNNLLayout] = [:]
    private var primitives: [CacheKey: DNNLPrimitive] = [:]
    private var failed: [CacheKey: String] = [:]
    /// Weights kept in primitive orders for inference (`DNNLWeights.swift`).
    var prepared: [PreparedWeightsKey: PreparedWeights] = [:]
    let reference = ReferenceBackend.shared

    /// The feature switches this instance was made with (fixed for its life).
    public let options: DNNLOptions

    /// Per-entry-point timings, when given (benchmarks).
    public let profile: DNNLProfile?

    /// Transposed convs that ran as phase convs (tests check the path was taken).
    var phaseDeconvolutions: Int {
        lock.lock(); defer { lock.unlock() }
        return phaseDeconvolutionCount
    }
    private var phaseDeconvolutionCount = 0
    /// Convs that ran in bf16 (`DNNLBF16Conv.swift`).
    var bf16Count = 0

    /// A backend of its own (its engine, caches and switches). `shared` has the default options;
    /// benchmarks that compare switches make their own instance with other options.
    public init(options: DNNLOptions = DNNLOptions(), profile: DNNLProfile? = nil) throws {
        self.options = options
        self.profile = profile
        runtime = try DNNLRuntime()
    }

    /// Ops that ran on the reference backend because oneDNN had no implementation: description → error.
    public var fallbacks: [String: String] {
        lock.lock(); defer { lock.unlock() }
        var out: [String: String] = [:]
        for (k, v) in failed { out["\(k.key)"] = v }
        return out
    }

    /// Number of cached primitives (reorders included).
    public var cachedPrimitiveCount: Int {
        lock.lock(); defer { lock.unlock() }
        return primitives.count
    }

    /// Primitives built since the backend was made (cached or not), e.g. to check that a repeated
    /// evaluation builds none.
    public var createdPrimitiveCount: Int {
        lock.lock(); defer { lock.unlock() }
        return created
    }
    private var created = 0

    // MARK: Primitive cache

    enum Stage: Hashable { case forward, backwardData, backwardWeights }

    enum PrimitiveKey: Hashable {
        case conv(ConvGeometry, Stage, bias: Bool, training: Bool)
        case deconv(ConvGeometry, Stage, bias: Bool, training: Bool)
        case pool(PoolGeometry, src: [Int64], Stage, training: Bool)
        case batchNorm(data: [Int64], epsilon: Float, Stage, training: Bool)
        case reorder([Int64], [Int64])
        case resampling(src: [Int64], dst: [Int], Stage)
        case concat([[Int64]])
        case binary([Int64], [Int64])
        /// The bf16 variant of a conv / deconv key (`DNNLBF16Conv.swift`).
        indirect case bf16(PrimitiveKey)
    }

    struct CacheKey: Hashable {
        let key: PrimitiveKey
        let threads: Int
    }

    /// The cached primitive for `key`, made by `make` on first use.
    func primitive(_ key: PrimitiveKey, make: () throws -> DNNLPrimitive) throws -> DNNLPrimitive {
        let k = CacheKey(key: key, threads: Threads.count)
        lock.lock()
        if let p = primitives[k] { lock.unlock(); return p }
        lock.unlock()
        runtime.applyThreads()  // descriptors size their thread partitioning from the current count
        let p = try make()
        lock.lock()
        created += 1
        // Many input sizes (whole-image evaluation of a varied dataset) would otherwise keep JIT
        // code for every shape ever seen. Past the bound nothing more is kept, and what is kept
        // stays: evaluations pass over the same sizes in the same order every time, so dropping
        // everything (or the least recently used) would rebuild every primitive at every pass,
        // and the training step's primitives with them.
        if primitives.count < options.maxCachedPrimitives { primitives[k] = p }
        lock.unlock()
        return p
    }

    /// Like `primitive(_:make:)`, but nil (remembered) when oneDNN cannot build it.
    func optionalPrimitive(_ key: PrimitiveKey, make: () throws -> DNNLPrimitive) -> DNNLPrimitive? {
        let k = CacheKey(key: key, threads: Threads.count)
        lock.lock()
        if failed[k] != nil { lock.unlock(); return nil }
        lock.unlock()
        do {
            return try primitive(key, make: make)
        } catch {
            lock.lock(); failed[k] = "\(error)"; lock.unlock()
            return nil
        }
    }

    /// Runs `body`; a oneDNN failure here (after the primitive exists) is a bug or an exhausted
    /// machine, and the `Backend` seam has no error path, so it stops with the library's message.
    func fatalOnError<T>(_ what: @autoclosure () -> String, _ body: () throws -> T) -> T {
        do { return try body() } catch {
            fatalError("DNNLBackend: \(what()): \(error)")
        }
    }

    // MARK: Conv geometry in oneDNN terms

    struct ConvDescs {
        var src: dnnl_memory_desc_t      // conv input  [N, C, H, W]
        var weights: dnnl_memory_desc_t  // [O, C, kh, kw] or [G, O/G, C/G, kh, kw]
        var dst: dnnl_memory_desc_t      // conv output [N, O, oh, ow]
        var bias: dnnl_memory_desc_t     // [O]
        var strides: [dnnl_dim_t], dilates: [dnnl_dim_t], padL: [dnnl_dim_t], padR: [dnnl_dim_t]
    }

    /// Descriptors with `tag` for activations and weights (`dnnl_format_tag_any` to let oneDNN
    /// choose). For a transposed conv, `src` / `dst` are its input / output (the conv's output /
    /// input) and the weights are oneDNN's deconvolution weights `[outC, inC, kh, kw]`.
    func convDescs(_ g: ConvGeometry, transposed: Bool, tag: dnnl_format_tag_t) throws -> ConvDescs {
        let convIn = [g.batch, g.inChannels, g.inHeight, g.inWidth]
        let convOut = [g.batch, g.outChannels, g.outHeight, g.outWidth]
        let wdims: [Int]
        if transposed {
            wdims = g.groups == 1 ? [g.inChannels, g.outChannels, g.kernelHeight, g.kernelWidth]
                : [g.groups, g.inChannelsPerGroup, g.outChannelsPerGroup, g.kernelHeight, g.kernelWidth]
        } else {
            wdims = g.groups == 1 ? [g.outChannels, g.inChannels, g.kernelHeight, g.kernelWidth]
                : [g.groups, g.outChannelsPerGroup, g.inChannelsPerGroup, g.kernelHeight, g.kernelWidth]
        }
        // Padding after: whatever makes the output size come out; a negative value (input rows
        // the last window never reaches) is 0 for oneDNN, which floors the same way.
        let padBottom = max(0, (g.outHeight - 1) * g.strideH + (g.kernelHeight - 1) * g.dilationH + 1 - g.inHeight - g.padTop)
        let padRight = max(0, (g.outWidth - 1) * g.strideW + (g.kernelWidth - 1) * g.dilationW + 1 - g.inWidth - g.padLeft)
        return ConvDescs(
            src: try dnnlDesc(transposed ? convOut : convIn, tag),
            weights: try dnnlDesc(wdims, tag),
            dst: try dnnlDesc(transposed ? convIn : convOut, tag),
            bias: try dnnlDesc([transposed ? g.inChannels : g.outChannels], dnnl_a),
            strides: dnnlDims([g.strideH, g.strideW]),
            dilates: dnnlDims([g.dilationH - 1, g.dilationW - 1]),
            padL: dnnlDims([g.padTop, g.padLeft]),
            padR: dnnlDims([padBottom, padRight]))
    }

    /// The plain (PyTorch-order) descriptor of the weight tensor.
    func plainWeights(_ g: ConvGeometry, transposed: Bool) throws -> dnnl_memory_desc_t {
        let d = try convDescs(g, transposed: transposed, tag: dnnl_format_tag_any)
        var w = d.weights
        let dims = withUnsafeBytes(of: &w.dims) { Array($0.bindMemory(to: Int64.self).prefix(Int(w.ndims))) }.map { Int($0) }
        let tag: dnnl_format_tag_t
        if transposed { tag = g.groups == 1 ? dnnl_bacd : dnnl_acbde } else { tag = g.groups == 1 ? dnnl_abcd : dnnl_abcde }
        return try dnnlDesc(dims, tag)
    }

    /// Builds (or finds) the conv / deconv primitive of one stage.
    func convPrimitive(_ g: ConvGeometry, transposed: Bool, stage: Stage, bias: Bool, training: Bool) -> DNNLPrimitive? {
        let key: PrimitiveKey = transposed ? .deconv(g, stage, bias: bias, training: training)
            : .conv(g, stage, bias: bias, training: training)
        let what = "\(transposed ? "deconvolution" : "convolution") \(stage) \(g)"
        return optionalPrimitive(key) {
            var d = try convDescs(g, transposed: transposed, tag: dnnl_format_tag_any)
            let noBias = dnnl_memory_desc_t()
            switch stage {
            case .forward:
                let prop = training ? dnnl_forward_training : dnnl_forward_inference
                if transposed {
                    var op = dnnl_deconvolution_desc_t()
                    try dnnlCheck(withUnsafePointer(to: bias ? d.bias : noBias) { b in
                        dnnl_dilated_deconvolution_forward_desc_init(&op, prop, dnnl_deconvolution_direct, &d.src, &d.weights, b,
                                                                     &d.dst, d.strides, d.dilates, d.padL, d.padR)
                    }, "describe \(what)")
                    return try DNNLPrimitive(opDesc: &op, engine: runtime.engine, hint: nil, what: what)
                }
                var op = dnnl_convolution_desc_t()
                try dnnlCheck(withUnsafePointer(to: bias ? d.bias : noBias) { b in
                    dnnl_dilated_convolution_forward_desc_init(&op, prop, dnnl_convolution_direct, &d.src, &d.weights, b,
                                                               &d.dst, d.strides, d.dilates, d.padL, d.padR)
                }, "describe \(what)")
                return try DNNLPrimitive(opDesc: &op, engine: runtime.engine, hint: nil, what: what)
            case .backwardData, .backwardWeights:
                guard let hint = convPrimitive(g, transposed: transposed, stage: .forward, bias: bias, training: true) else {
                    throw DNNLError(operation: "forward primitive for \(what)", status: Int(dnnl_unimplemented.rawValue))
                }
                if transposed {
                    var op = dnnl_deconvolution_desc_t()
                    if stage == .backwardData {
                        try dnnlCheck(dnnl_dilated_deconvolution_backward_data_desc_init(
                            &op, dnnl_deconvolution_direct, &d.src, &d.weights, &d.dst, d.strides, d.dilates, d.padL, d.padR),
                                      "describe \(what)")
                    } else {
                        try dnnlCheck(withUnsafePointer(to: bias ? d.bias : noBias) { b in
                            dnnl_dilated_deconvolution_backward_weights_desc_init(
                                &op, dnnl_deconvolution_direct, &d.src, &d.weights, b, &d.dst, d.strides, d.dilates, d.padL, d.padR)
                        }, "describe \(what)")
                    }
                    return try DNNLPrimitive(opDesc: &op, engine: runtime.engine, hint: hint, what: what)
                }
                var op = dnnl_convolution_desc_t()
                if stage == .backwardData {
                    try dnnlCheck(dnnl_dilated_convolution_backward_data_desc_init(
                        &op, dnnl_convolution_direct, &d.src, &d.weights, &d.dst, d.strides, d.dilates, d.padL, d.padR),
                                  "describe \(what)")
                } else {
                    try dnnlCheck(withUnsafePointer(to: bias ? d.bias : noBias) { b in
                        dnnl_dilated_convolution_backward_weights_desc_init(
                            &op, dnnl_convolution_direct, &d.src, &d.weights, b, &d.dst, d.strides, d.dilates, d.padL, d.padR)
                    }, "describe \(what)")
                }
                return try DNNLPrimitive(opDesc: &op, engine: runtime.engine, hint: hint, what: what)
            }
        }
    }

    // MARK: Conv and transposed conv

    public func convForward(x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry) -> (y: Tensor, context: AnyObject?) {
        measured("conv fwd \(kernelName(g))") { convLikeForward(x: x, weight: weight, bias: bias, geometry: g, transposed: false) }
    }

    public func convBackward(dy: Tensor, x: Tensor, weight: Tensor, geometry g: ConvGeometry, context: AnyObject?,
                             needInput: Bool, needBias: Bool) -> (dx: Tensor?, dWeight: Tensor, dBias: Tensor?) {
        if let fb = context as? ReferenceContext {
            return reference.convBackward(dy: dy, x: x, weight: weight, geometry: g, context: fb.inner,
                                          needInput: needInput, needBias: needBias)
        }
        return measured("conv bwd \(kernelName(g))") {
            convLikeBackward(dy: dy, x: x, weight: weight, geometry: g, context: context, transposed: false,
                             needInput: needInput, needBias: needBias)
        }
    }

    public func convTransposeForward(x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry) -> (y: Tensor, context: AnyObject?) {
        measured("deconv fwd \(kernelName(g))") { convLikeForward(x: x, weight: weight, bias: bias, geometry: g, transposed: true) }
    }

    public func convTransposeBackward(dy: Tensor, x: Tensor, weight: Tensor, geometry g: ConvGeometry, context: AnyObject?,
                                      needInput: Bool, needBias: Bool) -> (dx: Tensor?, dWeight: Tensor, dBias: Tensor?) {
        if let fb = context as? ReferenceContext {
            return reference.convTransposeBackward(dy: dy, x: x, weight: weight, geometry: g, context: fb.inner,
                                                   needInput: needInput, needBias: needBias)
        }
        return measured("deconv bwd \(kernelName(g))") {
            convLikeBackward(dy: dy, x: x, weight: weight, geometry: g, context: context, transposed: true,
                             needInput: needInput, needBias: needBias)
        }
    }

    /// "3x3 s2", "1x1", "dw3x3", … for profiles.
    func kernelName(_ g: ConvGeometry) -> String {
        (g.isDepthwise ? "dw" : g.groups > 1 ? "g\(g.groups) " : "") + "\(g.kernelHeight)x\(g.kernelWidth)"
            + (g.strideH > 1 ? " s\(g.strideH)" : "")
    }

    private func convLikeForward(x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry,
                                 transposed: Bool) -> (y: Tensor, context: AnyObject?) {
        let training = GradMode.isEnabled && (x.needsGrad || weight.needsGrad || (bias?.needsGrad ?? false))
        if transposed && options.usesPhaseDeconvolution && !training,
           let y = phaseDeconvInference(x: x, weight: weight, bias: bias, geometry: g) {
            lock.lock(); phaseDeconvolutionCount += 1; lock.unlock()
            return (y, nil)
        }
        if options.bf16,
           let r = bf16ConvLikeForward(x: x, weight: weight, bias: bias, geometry: g, transposed: transposed, training: training) {
            return r
        }
        guard let p = convPrimitive(g, transposed: transposed, stage: .forward, bias: bias != nil, training: training) else {
            let r = transposed ? reference.convTransposeForward(x: x, weight: weight, bias: bias, geometry: g)
                : reference.convForward(x: x, weight: weight, bias: bias, geometry: g)
            return (r.y, ReferenceContext(r.context))
        }
        return fatalOnError(p.what) {
            let srcDesc = p.desc(dnnl_query_src_md), wDesc = p.desc(dnnl_query_weights_md), dstDesc = p.desc(dnnl_query_dst_md)
            let src = try input(x, as: srcDesc)
            let plainW = try plainWeights(g, transposed: transposed)
            let w = try preparedWeights(weight, orders: wDesc.key, reusable: !training && options.keepsInferenceWeights) { plain in
                [try input(plain: plain, plainW, as: wDesc)]
            }[0]
            let y = Storage(count: dstDesc.floatCount, zeroed: false)
            var args = [DNNLArg(DNNL_ARG_SRC, srcDesc, src), DNNLArg(DNNL_ARG_WEIGHTS, wDesc, w),
                        DNNLArg(DNNL_ARG_DST, dstDesc, y)]
            if let bias { args.append(DNNLArg(DNNL_ARG_BIAS, try dnnlDesc([bias.count], dnnl_a), bias.plainNCHW())) }
            try runtime.execute(p, args)
            let outShape = transposed ? [g.batch, g.inChannels, g.inHeight, g.inWidth]
                : [g.batch, g.outChannels, g.outHeight, g.outWidth]
            let out = try output(y, dstDesc, shape: outShape)
            // The input in the primitive's order is kept for the weight gradient only when it is
            // the input's own memory: a reordered copy would double what the step holds (the
            // backward reorders again, a small cost next to the conv).
            return (out, training && src === x.storage ? ConvContext(src: src, srcDesc: srcDesc) : nil)
        }
    }

    private func convLikeBackward(dy: Tensor, x: Tensor, weight: Tensor, geometry g: ConvGeometry, context: AnyObject?,
                                  transposed: Bool, needInput: Bool, needBias: Bool) -> (dx: Tensor?, dWeight: Tensor, dBias: Tensor?) {
        if options.bf16, let r = bf16ConvLikeBackward(dy: dy, x: x, weight: weight, geometry: g, context: context,
                                                      transposed: transposed, needInput: needInput, needBias: needBias) {
            return r
        }
        let op = transposed ? "conv_transpose2d" : "conv2d"
        let ctx = context as? ConvContext
        guard let bw = convPrimitive(g, transposed: transposed, stage: .backwardWeights, bias: needBias, training: true),
              !needInput || convPrimitive(g, transposed: transposed, stage: .backwardData, bias: false, training: true) != nil
        else {
            // No oneDNN backward for this shape: the reference backend needs no forward context.
            return transposed
                ? reference.convTransposeBackward(dy: dy, x: x, weight: weight, geometry: g, context: nil,
                                                  needInput: needInput, needBias: needBias)
                : reference.convBackward(dy: dy, x: x, weight: weight, geometry: g, context: nil,
                                         needInput: needInput, needBias: needBias)
        }
        return fatalOnError("\(op) backward \(g)") {
            // Weight (and bias) gradient.
            let dyDesc = bw.desc(dnnl_query_diff_dst_md), srcDesc = bw.desc(dnnl_query_src_md)
            let dwDesc = bw.desc(dnnl_query_diff_weights_md)
            let dyW = try input(dy, as: dyDesc)
            let src: Storage
            if let ctx, ctx.srcDesc.equals(srcDesc) { src = ctx.src } else { src = try input(x, as: srcDesc) }
            let plainW = try plainWeights(g, transposed: transposed)
            let dW = Tensor(uninitialized: weight.shape)
            let dwDirect = dwDesc.equals(plainW)
            let dwBuffer = dwDirect ? dW.storage : Storage(count: dwDesc.floatCount, zeroed: false)
            var args = [DNNLArg(DNNL_ARG_SRC, srcDesc, src), DNNLArg(DNNL_ARG_DIFF_DST, dyDesc, dyW),
                        DNNLArg(DNNL_ARG_DIFF_WEIGHTS, dwDesc, dwBuffer)]
            var dBias: Tensor? = nil
            if needBias {
                let b = Tensor(uninitialized: [transposed ? g.inChannels : g.outChannels])
                args.append(DNNLArg(DNNL_ARG_DIFF_BIAS, try dnnlDesc([b.count], dnnl_a), b))
                dBias = b
            }
            try runtime.execute(bw, args)
            if !dwDirect { try reorder(dwBuffer.data, dwDesc, into: dW.data, plainW) }

            // Input gradient.
            var dx: Tensor? = nil
            if needInput, let bd = convPrimitive(g, transposed: transposed, stage: .backwardData, bias: false, training: true) {
                let dyDescD = bd.desc(dnnl_query_diff_dst_md), wDesc = bd.desc(dnnl_query_weights_md)
                let dxDesc = bd.desc(dnnl_query_diff_src_md)
                let dyD = dyDescD.equals(dyDesc) ? dyW : try input(dy, as: dyDescD)
                let w = try input(plain: weight.plainNCHW().storage, plainW, as: wDesc)
                let out = Storage(count: dxDesc.floatCount, zeroed: false)
                try runtime.execute(bd, [DNNLArg(DNNL_ARG_DIFF_DST, dyDescD, dyD), DNNLArg(DNNL_ARG_WEIGHTS, wDesc, w),
                                         DNNLArg(DNNL_ARG_DIFF_SRC, dxDesc, out)])
                dx = try output(out, dxDesc, shape: x.shape)
            }
            return (dx, dW, dBias)
        }
    }
}

/// What a conv forward keeps for its backward: the input in the primitive's order (the input
/// tensor's own storage when it already was in that order).
final class ConvContext {
    let src: Storage
    let srcDesc: dnnl_memory_desc_t
    init(src: Storage, srcDesc: dnnl_memory_desc_t) { self.src = src; self.srcDesc = srcDesc }
}

/// A forward that ran on the reference backend (no oneDNN implementation); its backward must too.
final class ReferenceContext {
    let inner: AnyObject?
    init(_ inner: AnyObject?) { self.inner = inner }
}

/// `DNNLBackend`'s feature switches, set when an instance is made. The defaults are what the
/// product runs; the others exist to measure what each feature saves (`bench backends`) and to
/// test both paths.
public struct DNNLOptions: Sendable, Equatable {
    /// Keep results in oneDNN's blocked orders between layers (true) or convert every result to
    /// NCHW (false).
    public var keepsBlockedLayouts: Bool
    /// Batch norm of `nChw16c` data with NN's own per-channel-block loops (true) or oneDNN's
    /// kernel (false); see `DNNLBatchNormBlocked.swift`.
    public var ownBlockedBatchNorm: Bool
    /// Stride-1 / stride-2 transposed convs without autograd as phase convs (true) or oneDNN's
    /// deconvolution (false); see `DNNLPhaseDeconv.swift`.
    public var usesPhaseDeconvolution: Bool
    /// Keep weights reordered for inference while the parameter is unchanged (true) or reorder
    /// them at every call (false); see `DNNLWeights.swift`.
    public var keepsInferenceWeights: Bool
    /// Cached primitives kept at most. A training step of the largest model uses ~150; whole-image
    /// evaluation builds ~80 per padded input size (xunet), so the demo val split (43 sizes) needs
    /// ~3500 (≈ 33 KB each: 4096 are ≈ 130 MB). Past the bound new primitives are built, used and
    /// dropped (`primitive(_:make:)`).
    public var maxCachedPrimitives: Int
    /// Convolutions and transposed convolutions in bf16 with fp32 results (true; `precision =
    /// bf16`, `DNNLBF16Conv.swift`) or fp32 throughout (false). Needs `BF16Support.current`.
    public var bf16: Bool

    public init(keepsBlockedLayouts: Bool = true, ownBlockedBatchNorm: Bool = true, usesPhaseDeconvolution: Bool = true,
                keepsInferenceWeights: Bool = true, maxCachedPrimitives: Int = 4096, bf16: Bool = false) {
        self.bf16 = bf16
        self.keepsBlockedLayouts = keepsBlockedLayouts
        self.ownBlockedBatchNorm = ownBlockedBatchNorm
        self.usesPhaseDeconvolution = usesPhaseDeconvolution
        self.keepsInferenceWeights = keepsInferenceWeights
        self.maxCachedPrimitives = maxCachedPrimitives
    }
}
