import NN

/// `unet`: the TF2 book chapter's U-Net, as `../shared/bench/torch_reference.py` (`UNetTF2`)
/// writes it in PyTorch, with the same `state_dict` names. Output `[N, classes, H, W]` for H, W
/// divisible by 64.
///
///     encoders.i (128, 256, 512, 512, 512, 512): conv 3×3 s2 p1 → LeakyReLU(0.3)   H/2 … H/64
///     decoders.i (512, 512, 512, 512, 256): deconv 3×3 s2 p1 op1 → ReLU,
///                then concat with the encoder output of the same size              H/32 … H/2
///     last: deconv 3×3 s2 p1 op1 → logits                                          H
///
/// The chapter builds a sixth decoder (depth 128) but zips the decoders with only five skips,
/// so it never runs and has no weights (neither here nor in the reference). TF `'same'` on a
/// stride-2 conv pads 0 before / 1 after where PyTorch's `padding=1` pads 1 on both sides; the
/// shapes and MAC counts agree and we follow the reference for parity. Initialisation: the
/// chapter's `he_normal` for the encoder convs (Keras's truncated normal), Keras's default
/// Glorot-uniform for the transposed convs, zero biases. `encoderDropout` > 0 adds dropout after
/// each encoder (the chapter's exercise; not a parameter, so the weights are unchanged).
public final class UNet: SegmentationModel {
    let encoders: [UNetDown]
    let decoders: [UNetUp]
    let last: ConvTranspose2d

    public init(classes: Int, inChannels: Int = 3, encoderDropout: Float = 0, seed: UInt64 = 0) {
        let g = Generator(seed: seed)
        let encoderDepths = (2..<8).map { min(1 << ($0 + 5), 512) }            // 128 256 512 512 512 512
        let decoderDepths = (2..<8).reversed().map { max(32, min(1 << ($0 + 5), 512)) }  // 512 512 512 512 256 (128)
        var c = inChannels
        var enc: [UNetDown] = []
        for depth in encoderDepths {
            enc.append(UNetDown(c, depth, dropout: encoderDropout, generator: g))
            c = depth
        }
        let skipChannels = Array(encoderDepths.dropLast().reversed())         // 512 512 512 256 128
        var dec: [UNetUp] = []
        for (depth, skip) in zip(decoderDepths, skipChannels) {
            dec.append(UNetUp(c, depth, generator: g))
            c = depth + skip
        }
        encoders = enc
        decoders = dec
        last = ConvTranspose2d(c, classes, kernel: 3, stride: 2, padding: .symmetric(1), outputPadding: 1,
                               weightInit: .glorotUniform, biasInit: .zeros, generator: g)
        super.init(name: "unet", classes: classes, inChannels: inChannels)
        register("encoders", ModuleList(encoders))
        register("decoders", ModuleList(decoders))
        register("last", last)
    }

    public override func callAsFunction(_ input: Tensor) -> Tensor {
        var x = input
        var skips: [Tensor] = []
        for encoder in encoders {
            x = encoder(x)
            skips.append(x)
        }
        for (decoder, skip) in zip(decoders, skips.dropLast().reversed()) {
            x = decoder(x)
            x = decoder.traced(step: "concat", kind: "Concat", concat([x, skip]))
        }
        return last.traced(x)
    }
}

/// Conv 3×3 stride 2 (He-normal) + LeakyReLU(0.3) [+ dropout]; children `conv`, `act` [, `drop`].
final class UNetDown: Module {
    let conv: Conv2d
    let act = LeakyReLU(slope: 0.3)  // Keras LeakyReLU's default slope
    let drop: Dropout?

    init(_ inChannels: Int, _ depth: Int, dropout: Float, generator g: Generator) {
        conv = Conv2d(inChannels, depth, kernel: 3, stride: 2, padding: .symmetric(1),
                      weightInit: .heNormal, biasInit: .zeros, generator: g)
        drop = dropout > 0 ? Dropout(p: dropout, generator: g) : nil
        super.init()
        register("conv", conv)
        register("act", act)
        if let drop { register("drop", drop) }
    }

    func callAsFunction(_ input: Tensor) -> Tensor {
        var x = conv.traced(input)
        x = act.traced(x)
        if let drop { x = drop.traced(x) }
        return x
    }
}

/// Transposed conv 3×3 stride 2 (exactly doubles H, W) + ReLU; children `deconv`, `act`.
final class UNetUp: Module {
    let deconv: ConvTranspose2d
    let act = ReLU()

    init(_ inChannels: Int, _ depth: Int, generator g: Generator) {
        deconv = ConvTranspose2d(inChannels, depth, kernel: 3, stride: 2, padding: .symmetric(1), outputPadding: 1,
                                 weightInit: .glorotUniform, biasInit: .zeros, generator: g)
        super.init()
        register("deconv", deconv)
        register("act", act)
    }

    func callAsFunction(_ input: Tensor) -> Tensor {
        act.traced(deconv.traced(input))
    }
}
