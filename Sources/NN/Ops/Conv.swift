/// 2-D convolution (cross-correlation, as PyTorch's `conv2d`), NCHW.
///
/// - x: `[N, C, H, W]`; weight: `[O, C / groups, kh, kw]`; bias: `[O]` → `[N, O, oh, ow]` with
///   `oh = (H + padTop + padBottom − dilation·(kh − 1) − 1) / stride + 1` (`Padding` gives the
///   pads; `.same` is TensorFlow's, extra pad after). Depthwise = `groups: C` with `O == C`.
public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                   padding: Padding = .valid, dilation: (Int, Int) = (1, 1), groups: Int = 1,
                   backend: any Backend = Backends.current) -> Tensor {
    require(weight.rank == 4, "conv2d: weight must be [out, in/groups, kh, kw], got \(weight.shape)")
    let g = ConvGeometry.conv(input: x.shape, outChannels: weight.shape[0], kernel: (weight.shape[2], weight.shape[3]),
                              stride: stride, padding: padding, dilation: dilation, groups: groups)
    require(weight.shape[1] == g.inChannelsPerGroup,
                 "conv2d: weight \(weight.shape) expects \(weight.shape[1] * groups) input channels (groups \(groups)), input is \(x.shape)")
    if let bias { require(bias.shape == [g.outChannels], "conv2d: bias must be [\(g.outChannels)], got \(bias.shape)") }
    let (y, ctx) = backend.convForward(x: x, weight: weight, bias: bias, geometry: g)
    var inputs = [x, weight]
    if let bias { inputs.append(bias) }
    return y.recording("conv2d", inputs) { dy in
        let r = backend.convBackward(dy: dy, x: x, weight: weight, geometry: g, context: ctx,
                                     needInput: x.needsGrad, needBias: bias?.needsGrad ?? false)
        return bias == nil ? [r.dx, r.dWeight] : [r.dx, r.dWeight, r.dBias]
    }
}

/// 2-D transposed convolution (PyTorch's `conv_transpose2d`), NCHW: the input-gradient of
/// `conv2d`.
///
/// - x: `[N, C, H, W]`; weight: `[C, O / groups, kh, kw]`; bias: `[O]` → `[N, O, oh, ow]` with
///   `oh = (H − 1)·stride − 2·padding + dilation·(kh − 1) + outputPadding + 1` for explicit
///   padding, `H·stride` for `.same` (TensorFlow's `Conv2DTranspose`, cropping the extra pixel at
///   the bottom / right), `(H − 1)·stride + dilation·(kh − 1) + 1` for `.valid`.
public func convTranspose2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                            padding: Padding = .valid, outputPadding: (Int, Int) = (0, 0),
                            dilation: (Int, Int) = (1, 1), groups: Int = 1,
                            backend: any Backend = Backends.current) -> Tensor {
    require(weight.rank == 4, "conv_transpose2d: weight must be [in, out/groups, kh, kw], got \(weight.shape)")
    require(x.rank == 4 && weight.shape[0] == x.shape[1],
                 "conv_transpose2d: weight \(weight.shape) expects \(weight.shape[0]) input channels, input is \(x.shape)")
    let g = ConvGeometry.transposed(input: x.shape, outChannels: weight.shape[1] * groups,
                                    kernel: (weight.shape[2], weight.shape[3]), stride: stride, padding: padding,
                                    outputPadding: outputPadding, dilation: dilation, groups: groups)
    if let bias { require(bias.shape == [g.inChannels], "conv_transpose2d: bias must be [\(g.inChannels)], got \(bias.shape)") }
    let (y, ctx) = backend.convTransposeForward(x: x, weight: weight, bias: bias, geometry: g)
    var inputs = [x, weight]
    if let bias { inputs.append(bias) }
    return y.recording("conv_transpose2d", inputs) { dy in
        let r = backend.convTransposeBackward(dy: dy, x: x, weight: weight, geometry: g, context: ctx,
                                              needInput: x.needsGrad, needBias: bias?.needsGrad ?? false)
        return bias == nil ? [r.dx, r.dWeight] : [r.dx, r.dWeight, r.dBias]
    }
}

/// Batch norm over N, H, W per channel of `[N, C, H, W]`. Training: batch statistics, and
/// `runningMean` / `runningVar` (`[C]`) updated in place as `settings` says; inference: the
/// running statistics. gamma, beta: `[C]`.
public func batchNorm(_ x: Tensor, gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
                      settings: BatchNormSettings, training: Bool, backend: any Backend = Backends.current) -> Tensor {
    let (_, C, _, _) = x.dims4("batch_norm")
    for (name, t) in [("gamma", gamma), ("beta", beta), ("running_mean", runningMean), ("running_var", runningVar)] {
        require(t.shape == [C], "batch_norm: \(name) must be [\(C)] for input \(x.shape), got \(t.shape)")
    }
    let (y, ctx) = backend.batchNormForward(x: x, gamma: gamma, beta: beta, runningMean: runningMean,
                                            runningVar: runningVar, settings: settings, training: training)
    return y.recording("batch_norm", [x, gamma, beta]) { dy in
        let r = backend.batchNormBackward(dy: dy, x: x, gamma: gamma, settings: settings, training: training, context: ctx)
        return [r.dx, r.dGamma, r.dBeta]
    }
}

/// Max pool of `[N, C, H, W]`; `.same` pads as TensorFlow (padded cells never win).
/// Output per axis: `(H + padBefore + padAfter − k) / stride + 1`.
public func maxPool2d(_ x: Tensor, kernel: (Int, Int), stride: (Int, Int), padding: Padding = .valid,
                      backend: any Backend = Backends.current) -> Tensor {
    let g = PoolGeometry.pool(input: x.shape, kernel: kernel, stride: stride, padding: padding)
    let (y, ctx) = backend.maxPoolForward(x: x, geometry: g)
    return y.recording("max_pool2d", [x]) { dy in [backend.maxPoolBackward(dy: dy, x: x, geometry: g, context: ctx)] }
}
