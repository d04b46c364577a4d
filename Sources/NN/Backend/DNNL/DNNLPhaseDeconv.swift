import Foundation
@preconcurrency import CDNNL

// A stride-2 transposed convolution as stride-1 convolutions, one per output phase.
//
// Output pixel i of a transposed conv (stride s, padding p) gathers input pixel o through tap t
// when i = o·s − p + t. Split the output rows by phase r = i mod s: row i = m·s + r receives only
// the taps t ≡ r + p (mod s), from input rows m + d − j for the j-th of them. So the rows of one
// phase are a plain stride-1 convolution of the input with those taps (flipped), and the whole
// transposed conv is s_h·s_w such convolutions whose results interleave. The multiply-adds are
// the same as the transposed conv's (1 + 2 + 2 + 4 taps for 3×3, stride 2). Stride 1 is the
// one-phase case: a conv with the flipped kernel, written straight into the result.
//
// Why: oneDNN 2.6 runs a strided deconvolution on its older `jit:avx512_core` backward-data
// kernel at ≈ 250 GFLOP/s on this machine, while its brgemm convolutions run the four phases at
// ≈ 420 GFLOP/s (U-Net's 768→256 decoder at 64²: 56 → 34 ms, interleave included). See
// DECISIONS.md, "Strided transposed convolutions run as phase convolutions".

/// One output phase of a transposed conv: the stride-1 conv that computes its pixels.
struct DeconvPhase {
    /// The phase: output rows `row, row + s_h, …`, columns `col, col + s_w, …`.
    let row: Int, col: Int
    /// Kernel rows / columns of the transposed conv's weight, in the phase conv's tap order.
    let rowTaps: [Int], colTaps: [Int]
    /// The phase conv: input = the transposed conv's input, output = this phase's pixels.
    let geometry: ConvGeometry
}

/// One axis of the split: phase → (taps in conv order, padding before, output count), or nil
/// when the axis does not split into plain convs (a phase without taps or output, or padding
/// that would have to be negative).
private func phaseAxis(output: Int, input: Int, kernel k: Int, stride s: Int, pad p: Int)
    -> [(taps: [Int], padBefore: Int, count: Int)]? {
    var out: [(taps: [Int], padBefore: Int, count: Int)] = []
    for r in 0..<s {
        let count = (output - r + s - 1) / s
        let first = (r + p) % s
        let taps = Array(stride(from: first, to: k, by: s))
        guard count >= 1, !taps.isEmpty else { return nil }
        let d = (r + p - first) / s                // input offset of the first tap
        let padBefore = taps.count - 1 - d
        let padAfter = count + taps.count - 1 - input - padBefore
        guard padBefore >= 0, padAfter >= 0 else { return nil }
        out.append((Array(taps.reversed()), padBefore, count))
    }
    return out
}

extension ConvGeometry {
    /// The phase convs of this transposed conv's geometry (its output is `inHeight × inWidth`),
    /// or nil when it is not a plain stride-1 or stride-2 transposed conv that splits cleanly
    /// (groups, dilation, other strides, padding beyond the kernel: the direct deconvolution runs
    /// then). Stride 1 is one phase: the conv with the flipped kernel (xunet's decoder).
    var deconvPhases: [DeconvPhase]? {
        guard groups == 1, dilationH == 1, dilationW == 1, max(strideH, strideW) <= 2, min(strideH, strideW) >= 1,
              let rows = phaseAxis(output: inHeight, input: outHeight, kernel: kernelHeight, stride: strideH, pad: padTop),
              let cols = phaseAxis(output: inWidth, input: outWidth, kernel: kernelWidth, stride: strideW, pad: padLeft)
        else { return nil }
        var phases: [DeconvPhase] = []
        for (r, rp) in rows.enumerated() {
            for (c, cp) in cols.enumerated() {
                let g = ConvGeometry(batch: batch, inChannels: outChannels, inHeight: outHeight, inWidth: outWidth,
                                     outChannels: inChannels, outHeight: rp.count, outWidth: cp.count,
                                     kernelHeight: rp.taps.count, kernelWidth: cp.taps.count, strideH: 1, strideW: 1,
                                     padTop: rp.padBefore, padLeft: cp.padBefore, dilationH: 1, dilationW: 1, groups: 1)
                phases.append(DeconvPhase(row: r, col: c, rowTaps: rp.taps, colTaps: cp.taps, geometry: g))
            }
        }
        return phases
    }
}

extension DNNLBackend {
    /// Activation orders a phase conv's result may come in, tried in turn to name it.
    private static let activationTags = [dnnl_acdb, dnnl_aBcd16b, dnnl_aBcd8b, dnnl_aBcd4b, dnnl_abcd]

    /// The transposed conv `g` computed as phase convs, for a forward without autograd; nil when
    /// `g` does not split or oneDNN has no primitive for a phase (the caller runs the direct
    /// deconvolution then). Training keeps the direct deconvolution: its backward primitives
    /// need that forward's descriptor, and the phase weights would be rebuilt at every step
    /// (measured slower there: U-Net b1 step 442 → 509 ms).
    func phaseDeconvInference(x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvGeometry) -> Tensor? {
        guard let phases = g.deconvPhases else { return nil }
        var primitives: [DNNLPrimitive] = []
        for ph in phases {
            guard let p = convPrimitive(ph.geometry, transposed: false, stage: .forward, bias: bias != nil, training: false)
            else { return nil }
            primitives.append(p)
        }
        // The result takes the order of the first phase's result (the brgemm convs pick nhwc).
        let firstDst = primitives[0].desc(dnnl_query_dst_md)
        let firstDims = [g.batch, g.inChannels, phases[0].geometry.outHeight, phases[0].geometry.outWidth]
        guard let tag = Self.activationTags.first(where: { (try? dnnlDesc(firstDims, $0))?.equals(firstDst) == true })
        else { return nil }
        let outShape = [g.batch, g.inChannels, g.inHeight, g.inWidth]
        return fatalOnError("phase convolutions of deconvolution \(g)") {
            let full = try dnnlDesc(outShape, tag)
            let y = Storage(count: full.floatCount, zeroed: false)
            let fullStrides = full.blockingStrides
            let wDescs = primitives.map { $0.desc(dnnl_query_weights_md) }
            let orders = wDescs.flatMap(\.key)
            let weights = try preparedWeights(weight, orders: orders, reusable: options.keepsInferenceWeights) { plain in
                try phaseWeights(plain, g, phases, wDescs)
            }
            let biasArg = try bias.map { DNNLArg(DNNL_ARG_BIAS, try dnnlDesc([g.inChannels], dnnl_a), $0.plainNCHW()) }
            var inputs: [(desc: dnnl_memory_desc_t, data: Storage)] = []
            var phaseOut: Storage? = nil
            // Stride 1: one phase, the whole output; its conv writes the result directly.
            let direct = phases.count == 1 && firstDst.equals(full)
            for (k, (ph, p)) in zip(phases, primitives).enumerated() {
                let srcDesc = p.desc(dnnl_query_src_md), dstDesc = p.desc(dnnl_query_dst_md)
                let src: Storage
                if let have = inputs.first(where: { $0.desc.equals(srcDesc) }) { src = have.data } else {
                    src = try input(x, as: srcDesc)
                    inputs.append((srcDesc, src))
                }
                if !direct && (phaseOut == nil || phaseOut!.count < dstDesc.floatCount) {
                    phaseOut = Storage(count: dstDesc.floatCount, zeroed: false)
                }
                let out = direct ? y : phaseOut!
                let args = [DNNLArg(DNNL_ARG_SRC, srcDesc, src), DNNLArg(DNNL_ARG_WEIGHTS, wDescs[k], weights[k]),
                            DNNLArg(DNNL_ARG_DST, dstDesc, out)] + (biasArg.map { [$0] } ?? [])
                try runtime.execute(p, args)
                if direct { continue }
                // Scatter into rows row, row + s_h, … and columns col, col + s_w, … of the result.
                let view = full.phaseView(rows: ph.geometry.outHeight, cols: ph.geometry.outWidth,
                                          strideH: g.strideH, strideW: g.strideW)
                let offset = ph.row * Int(fullStrides[2]) + ph.col * Int(fullStrides[3])
                try reorder(out.data, dstDesc, into: y.data + offset, view)
            }
            return try output(y, full, shape: outShape)
        }
    }

    /// The phase convs' weights `[O, C, th, tw]` in their primitives' orders `descs`, from the
    /// transposed conv's weight `[C, O, kh, kw]` (PyTorch's order, in `source`): one reorder makes
    /// every tap a plain `[O, C]` matrix, then one reorder per tap writes it into its place.
    private func phaseWeights(_ source: Storage, _ g: ConvGeometry, _ phases: [DeconvPhase],
                              _ descs: [dnnl_memory_desc_t]) throws -> [Storage] {
        let (C, O, kh, kw) = (g.outChannels, g.inChannels, g.kernelHeight, g.kernelWidth)
        let plain = try plainWeights(g, transposed: true)                  // dims [O, C, kh, kw]
        var tapMajor = dnnl_memory_desc_t()                                  // [kh][kw][O][C]
        var dims = dnnlDims([O, C, kh, kw]), strides = dnnlDims([C, 1, kw * O * C, O * C])
        try dnnlCheck(dnnl_memory_desc_init_by_strides(&tapMajor, 4, &dims, dnnl_f32, &strides), "tap-major weights \(g)")
        let taps = Storage(count: O * C * kh * kw, zeroed: false)
        try reorder(source.data, plain, into: taps.data, tapMajor)
        let matrix = try dnnlDesc([O, C, 1, 1], dnnl_abcd)
        return try zip(phases, descs).map { ph, desc in
            // Zeroed: blocked orders may pad channels, and padding must read as zeros.
            let out = Storage(count: desc.floatCount, zeroed: true)
            for (u, r) in ph.rowTaps.enumerated() {
                for (v, c) in ph.colTaps.enumerated() {
                    var tap = dnnl_memory_desc_t()
                    var parent = desc
                    var dims = dnnlDims([O, C, 1, 1]), offsets = dnnlDims([0, 0, u, v])
                    try dnnlCheck(dnnl_memory_desc_init_submemory(&tap, &parent, &dims, &offsets),
                                  "weight tap (\(u), \(v)) of \(desc.formatName)")
                    try reorder(taps.data + (r * kw + c) * O * C, matrix, into: out.data, tap)
                }
            }
            return out
        }
    }
}

extension dnnl_memory_desc_t {
    /// This dense 4-D descriptor's rows 0, s_h, 2·s_h, … and columns 0, s_w, … (`rows × cols` of
    /// them) as a strided descriptor of the same order; offset the pointer to start elsewhere.
    func phaseView(rows: Int, cols: Int, strideH: Int, strideW: Int) -> dnnl_memory_desc_t {
        var v = self
        withUnsafeMutableBytes(of: &v.dims) { b in
            let d = b.bindMemory(to: Int64.self); d[2] = Int64(rows); d[3] = Int64(cols)
        }
        withUnsafeMutableBytes(of: &v.padded_dims) { b in
            let d = b.bindMemory(to: Int64.self); d[2] = Int64(rows); d[3] = Int64(cols)
        }
        withUnsafeMutableBytes(of: &v.format_desc.blocking.strides) { b in
            let d = b.bindMemory(to: Int64.self); d[2] *= Int64(strideH); d[3] *= Int64(strideW)
        }
        return v
    }
}
