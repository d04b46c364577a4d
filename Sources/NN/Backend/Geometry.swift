/// How a conv / pool pads its input.
public enum Padding: Sendable, Hashable, Codable {
    /// No padding.
    case valid
    /// TensorFlow / Keras `'same'`: output = ceil(input / stride); the total padding
    /// `max((out − 1)·s + (k − 1)·d + 1 − in, 0)` is split with the extra pixel *after*
    /// (bottom / right). For a transposed conv: output = input · stride.
    case same
    /// PyTorch-style symmetric padding: `h` rows above and below, `w` columns left and right.
    case explicit(h: Int, w: Int)

    /// The same padding on all four sides.
    public static func symmetric(_ p: Int) -> Padding { .explicit(h: p, w: p) }
}

/// Sizes of one 2-D convolution, also used for transposed convs (whose *output* is the conv's
/// `input` here: a transposed conv is the input-gradient of this conv).
///
/// Output size (per axis): `out = (in + padBefore + padAfter − d·(k − 1) − 1) / s + 1`.
/// Input pixel of output `o` and tap `t`: `i = o·s − padBefore + t·d` (outside ⇒ zero).
public struct ConvGeometry: Sendable, Hashable {
    public var batch: Int
    public var inChannels: Int, inHeight: Int, inWidth: Int
    public var outChannels: Int, outHeight: Int, outWidth: Int
    public var kernelHeight: Int, kernelWidth: Int
    public var strideH: Int, strideW: Int
    /// Padding before the first row / column (padding after is implied by the output size).
    public var padTop: Int, padLeft: Int
    public var dilationH: Int, dilationW: Int
    public var groups: Int

    public var inPlane: Int { inHeight * inWidth }
    public var outPlane: Int { outHeight * outWidth }
    public var inChannelsPerGroup: Int { inChannels / groups }
    public var outChannelsPerGroup: Int { outChannels / groups }
    /// Rows of one group's im2col matrix: `inChannelsPerGroup · kh · kw`.
    public var colRows: Int { inChannelsPerGroup * kernelHeight * kernelWidth }
    /// Multiply-adds ×2 of the forward pass.
    public var flops: Double {
        2 * Double(batch) * Double(outChannels) * Double(outPlane) * Double(colRows)
    }
    /// True for a 1×1, stride-1, unpadded conv, whose im2col matrix is the input itself.
    public var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && strideH == 1 && strideW == 1 && padTop == 0 && padLeft == 0
            && outHeight == inHeight && outWidth == inWidth
    }
    /// True when every group has one input and one output channel (depthwise, multiplier 1).
    public var isDepthwise: Bool { groups > 1 && groups == inChannels && groups == outChannels }

    /// For a stride-1 conv (not depthwise, not pointwise) whose padding before is at most
    /// `d·(k − 1)`: the geometry of the conv from the output gradient `[N, O, oh, ow]` to the input
    /// gradient `[N, C, H, W]` with the flipped, transposed kernel (padding before `d·(k − 1) − p`).
    public var inputGradientAsConv: ConvGeometry? {
        guard strideH == 1, strideW == 1, !isDepthwise, !isPointwise,
              padTop <= dilationH * (kernelHeight - 1), padLeft <= dilationW * (kernelWidth - 1) else { return nil }
        return ConvGeometry(batch: batch, inChannels: outChannels, inHeight: outHeight, inWidth: outWidth,
                            outChannels: inChannels, outHeight: inHeight, outWidth: inWidth,
                            kernelHeight: kernelHeight, kernelWidth: kernelWidth, strideH: 1, strideW: 1,
                            padTop: dilationH * (kernelHeight - 1) - padTop, padLeft: dilationW * (kernelWidth - 1) - padLeft,
                            dilationH: dilationH, dilationW: dilationW, groups: groups)
    }

    /// Resolves the forward conv's geometry from the input shape and settings.
    public static func conv(input: [Int], outChannels: Int, kernel: (Int, Int), stride: (Int, Int),
                            padding: Padding, dilation: (Int, Int), groups: Int) -> ConvGeometry {
        require(input.count == 4, "conv2d: expected a 4-D NCHW input, got shape \(input)")
        let (n, c, h, w) = (input[0], input[1], input[2], input[3])
        require(groups >= 1 && c % groups == 0 && outChannels % groups == 0,
                     "conv2d: groups \(groups) must divide input channels \(c) and output channels \(outChannels)")
        require(kernel.0 >= 1 && kernel.1 >= 1 && stride.0 >= 1 && stride.1 >= 1 && dilation.0 >= 1 && dilation.1 >= 1,
                     "conv2d: kernel \(kernel), stride \(stride), dilation \(dilation) must be positive")
        let (oh, top) = convAxis(h, kernel.0, stride.0, dilation.0, padding, vertical: true)
        let (ow, left) = convAxis(w, kernel.1, stride.1, dilation.1, padding, vertical: false)
        require(oh >= 1 && ow >= 1,
                     "conv2d: input \(h)×\(w) is too small for kernel \(kernel), dilation \(dilation), padding \(padding)")
        return ConvGeometry(batch: n, inChannels: c, inHeight: h, inWidth: w,
                            outChannels: outChannels, outHeight: oh, outWidth: ow,
                            kernelHeight: kernel.0, kernelWidth: kernel.1, strideH: stride.0, strideW: stride.1,
                            padTop: top, padLeft: left, dilationH: dilation.0, dilationW: dilation.1, groups: groups)
    }

    /// Geometry of a transposed conv from its input `[n, inC, h, w]` to `outChannels`:
    /// `out = (in − 1)·s − 2p + d·(k − 1) + outputPadding + 1` (explicit padding), `in·s` ('same'),
    /// `(in − 1)·s + d·(k − 1) + 1` ('valid'). The returned geometry is the matching forward conv
    /// (its `in*` fields are the transposed conv's output).
    public static func transposed(input: [Int], outChannels: Int, kernel: (Int, Int), stride: (Int, Int),
                                  padding: Padding, outputPadding: (Int, Int), dilation: (Int, Int),
                                  groups: Int = 1) -> ConvGeometry {
        require(input.count == 4, "conv_transpose2d: expected a 4-D NCHW input, got shape \(input)")
        let (n, c, h, w) = (input[0], input[1], input[2], input[3])
        require(groups >= 1 && c % groups == 0 && outChannels % groups == 0,
                     "conv_transpose2d: groups \(groups) must divide channels \(c) and \(outChannels)")
        func axis(_ i: Int, _ k: Int, _ s: Int, _ d: Int, _ op: Int, _ p: Int?) -> (Int, Int) {
            let span = d * (k - 1) + 1
            switch padding {
            case .valid: return ((i - 1) * s + span + op, 0)
            case .same:
                let total = max(span - s, 0)
                return (i * s, total / 2)
            case .explicit:
                let pp = p ?? 0
                return ((i - 1) * s - 2 * pp + span + op, pp)
            }
        }
        var ph: Int? = nil, pw: Int? = nil
        if case .explicit(let a, let b) = padding { ph = a; pw = b }
        require(outputPadding.0 < max(stride.0, dilation.0) && outputPadding.1 < max(stride.1, dilation.1),
                     "conv_transpose2d: output padding \(outputPadding) must be smaller than stride or dilation")
        let (oh, top) = axis(h, kernel.0, stride.0, dilation.0, outputPadding.0, ph)
        let (ow, left) = axis(w, kernel.1, stride.1, dilation.1, outputPadding.1, pw)
        require(oh >= 1 && ow >= 1, "conv_transpose2d: output size \(oh)×\(ow) is empty for input \(input)")
        return ConvGeometry(batch: n, inChannels: outChannels, inHeight: oh, inWidth: ow,
                            outChannels: c, outHeight: h, outWidth: w,
                            kernelHeight: kernel.0, kernelWidth: kernel.1, strideH: stride.0, strideW: stride.1,
                            padTop: top, padLeft: left, dilationH: dilation.0, dilationW: dilation.1, groups: groups)
    }
}

/// `(output size, padding before)` of one conv axis.
func convAxis(_ i: Int, _ k: Int, _ s: Int, _ d: Int, _ padding: Padding, vertical: Bool) -> (Int, Int) {
    let span = d * (k - 1) + 1
    switch padding {
    case .valid:
        return (i >= span ? (i - span) / s + 1 : 0, 0)
    case .same:
        let out = (i + s - 1) / s
        let total = max((out - 1) * s + span - i, 0)
        return (out, total / 2)
    case .explicit(let h, let w):
        let p = vertical ? h : w
        let padded = i + 2 * p
        return (padded >= span ? (padded - span) / s + 1 : 0, p)
    }
}

/// Sizes of one max pool (same conventions as `ConvGeometry`; padded cells never win).
public struct PoolGeometry: Sendable, Hashable {
    public var batch: Int, channels: Int
    public var inHeight: Int, inWidth: Int, outHeight: Int, outWidth: Int
    public var kernelHeight: Int, kernelWidth: Int, strideH: Int, strideW: Int
    public var padTop: Int, padLeft: Int

    public static func pool(input: [Int], kernel: (Int, Int), stride: (Int, Int), padding: Padding) -> PoolGeometry {
        require(input.count == 4, "max_pool2d: expected a 4-D NCHW input, got shape \(input)")
        if case .explicit(let h, let w) = padding {
            require(h <= kernel.0 / 2 && w <= kernel.1 / 2,
                         "max_pool2d: padding \(padding) must be at most half the kernel \(kernel)")
        }
        let (oh, top) = convAxis(input[2], kernel.0, stride.0, 1, padding, vertical: true)
        let (ow, left) = convAxis(input[3], kernel.1, stride.1, 1, padding, vertical: false)
        require(oh >= 1 && ow >= 1, "max_pool2d: input \(input) is too small for kernel \(kernel)")
        return PoolGeometry(batch: input[0], channels: input[1], inHeight: input[2], inWidth: input[3],
                            outHeight: oh, outWidth: ow, kernelHeight: kernel.0, kernelWidth: kernel.1,
                            strideH: stride.0, strideW: stride.1, padTop: top, padLeft: left)
    }
}
