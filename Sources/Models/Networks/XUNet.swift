import NN

/// `xunet`: the Keras Oxford-Pets "U-Net-like architecture" (Xception-style), as
/// `../shared/bench/torch_reference.py` (`UNetXception`) writes it in PyTorch, with the same
/// `state_dict` names. Activations NCHW; output `[N, classes, H, W]` for H, W divisible by 16.
///
///     entry_conv 3×3 s2 → entry_bn → ReLU                               H/2
///     down.i (64, 128, 256): ReLU → sep1 → bn1 → ReLU → sep2 → bn2 → maxpool 3 s2 p1
///                            + res (1×1 s2 conv of the block input)     H/4, H/8, H/16
///     up.i (256, 128, 64, 32): ReLU → deconv1 → bn1 → ReLU → deconv2 → bn2 → ×2 nearest
///                            + res (1×1 conv of the ×2 block input)     H/8 … H
///     out_conv 3×3 → logits
///
/// Keras padding `'same'` on even sizes equals PyTorch's symmetric padding 1 here in shape; the
/// reference uses the PyTorch padding and so do we (for parity). Initialisation is Keras's
/// default (Glorot-uniform kernels, zero biases); batch norm is Keras's (momentum 0.99, eps 1e-3)
/// written as the reference's `BatchNorm2d(eps=1e-3, momentum=0.01)`.
public final class XUNet: SegmentationModel {
    let entryConv: Conv2d
    let entryBN: BatchNorm2d
    let down: [XDownBlock]
    let up: [XUpBlock]
    let outConv: Conv2d

    /// Keras BatchNormalization defaults in PyTorch's convention (the reference's `keras_bn`).
    static let batchNorm = BatchNormSettings.pytorch(momentum: 0.01, epsilon: 1e-3)

    public init(classes: Int, inChannels: Int = 3, seed: UInt64 = 0) {
        let g = Generator(seed: seed)
        entryConv = Conv2d(inChannels, 32, kernel: 3, stride: 2, padding: .symmetric(1),
                           weightInit: .glorotUniform, biasInit: .zeros, generator: g)
        entryBN = BatchNorm2d(32, settings: XUNet.batchNorm)
        var previous = 32
        var downBlocks: [XDownBlock] = []
        for filters in [64, 128, 256] {
            downBlocks.append(XDownBlock(previous, filters, generator: g))
            previous = filters
        }
        var upBlocks: [XUpBlock] = []
        for filters in [256, 128, 64, 32] {
            upBlocks.append(XUpBlock(previous, filters, generator: g))
            previous = filters
        }
        down = downBlocks
        up = upBlocks
        outConv = Conv2d(32, classes, kernel: 3, padding: .symmetric(1),
                         weightInit: .glorotUniform, biasInit: .zeros, generator: g)
        super.init(name: "xunet", classes: classes, inChannels: inChannels)
        register("entry_conv", entryConv)
        register("entry_bn", entryBN)
        register("down", ModuleList(down))
        register("up", ModuleList(up))
        register("out_conv", outConv)
    }

    public override func callAsFunction(_ input: Tensor) -> Tensor {
        var x = entryConv.traced(input)
        x = entryBN.traced(x)
        x = traced(step: "entry_relu", kind: "ReLU", relu(x))
        var previous = x
        for block in down {
            x = block(x, previous)
            previous = x
        }
        for block in up {
            x = block(x, previous)
            previous = x
        }
        return outConv.traced(x)
    }
}

/// Keras `SeparableConv2D(filters, 3, padding='same')`: depthwise 3×3 (no bias) then pointwise
/// 1×1 (with bias). Parameters `depthwise.weight` `[in, 1, 3, 3]`, `pointwise.weight`
/// `[out, in, 1, 1]`, `pointwise.bias` `[out]`.
final class SeparableConv2d: Module, Layer {
    let depthwise: Conv2d
    let pointwise: Conv2d

    init(_ inChannels: Int, _ outChannels: Int, generator: Generator) {
        depthwise = Conv2d(inChannels, inChannels, kernel: 3, padding: .symmetric(1), groups: inChannels,
                           bias: false, weightInit: .glorotUniform, generator: generator)
        pointwise = Conv2d(inChannels, outChannels, kernel: 1, weightInit: .glorotUniform, biasInit: .zeros,
                           generator: generator)
        super.init()
        register("depthwise", depthwise)
        register("pointwise", pointwise)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { pointwise(depthwise(x)) }
}

/// One down block of `xunet` (see `XUNet`); children `sep1 bn1 sep2 bn2 pool res`.
final class XDownBlock: Module {
    let sep1: SeparableConv2d, bn1: BatchNorm2d
    let sep2: SeparableConv2d, bn2: BatchNorm2d
    let pool: MaxPool2d
    let res: Conv2d

    init(_ inChannels: Int, _ filters: Int, generator g: Generator) {
        sep1 = SeparableConv2d(inChannels, filters, generator: g)
        bn1 = BatchNorm2d(filters, settings: XUNet.batchNorm)
        sep2 = SeparableConv2d(filters, filters, generator: g)
        bn2 = BatchNorm2d(filters, settings: XUNet.batchNorm)
        // TF MaxPooling2D(3, strides=2, padding='same') on an even size has this output shape.
        pool = MaxPool2d(kernel: 3, stride: 2, padding: .symmetric(1))
        res = Conv2d(inChannels, filters, kernel: 1, stride: 2, weightInit: .glorotUniform, biasInit: .zeros,
                     generator: g)
        super.init()
        register("sep1", sep1)
        register("bn1", bn1)
        register("sep2", sep2)
        register("bn2", bn2)
        register("pool", pool)
        register("res", res)
    }

    /// `x`: the running activation; `previous`: the previous block's output (for the residual).
    func callAsFunction(_ input: Tensor, _ previous: Tensor) -> Tensor {
        var x = relu(input)
        x = sep1.traced(x)
        x = bn1.traced(x)
        x = relu(x)
        x = sep2.traced(x)
        x = bn2.traced(x)
        x = pool.traced(x)
        let r = res.traced(previous)
        return traced(step: "add", kind: "Add", x + r)
    }
}

/// One up block of `xunet` (see `XUNet`); children `deconv1 bn1 deconv2 bn2 res`.
final class XUpBlock: Module {
    let deconv1: ConvTranspose2d, bn1: BatchNorm2d
    let deconv2: ConvTranspose2d, bn2: BatchNorm2d
    let res: Conv2d

    init(_ inChannels: Int, _ filters: Int, generator g: Generator) {
        deconv1 = ConvTranspose2d(inChannels, filters, kernel: 3, stride: 1, padding: .symmetric(1),
                                  weightInit: .glorotUniform, biasInit: .zeros, generator: g)
        bn1 = BatchNorm2d(filters, settings: XUNet.batchNorm)
        deconv2 = ConvTranspose2d(filters, filters, kernel: 3, stride: 1, padding: .symmetric(1),
                                  weightInit: .glorotUniform, biasInit: .zeros, generator: g)
        bn2 = BatchNorm2d(filters, settings: XUNet.batchNorm)
        res = Conv2d(inChannels, filters, kernel: 1, weightInit: .glorotUniform, biasInit: .zeros, generator: g)
        super.init()
        register("deconv1", deconv1)
        register("bn1", bn1)
        register("deconv2", deconv2)
        register("bn2", bn2)
        register("res", res)
    }

    func callAsFunction(_ input: Tensor, _ previous: Tensor) -> Tensor {
        var x = relu(input)
        x = deconv1.traced(x)
        x = bn1.traced(x)
        x = relu(x)
        x = deconv2.traced(x)
        x = bn2.traced(x)
        x = traced(step: "upsample", kind: "UpsampleNearest", upsampleNearest(x, scale: (2, 2)))
        let r = res.traced(upsampleNearest(previous, scale: (2, 2)))
        return traced(step: "add", kind: "Add", x + r)
    }
}
