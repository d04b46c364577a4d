import NN

/// torchvision's `lraspp_mobilenet_v3_large` (`lraspp-mobilenet-v3-large`), built as
/// `torchvision.models.segmentation.lraspp_mobilenet_v3_large(num_classes=…)` builds it, so its
/// `state_dict` names are torchvision's and its checkpoints load unchanged:
///
///     backbone   MobileNetV3-Large `features` (dilated = True), children 0 … 16       NCHW
///       0        conv3×3 s2 · BN · hardswish                                         H/2
///       1 … 15   inverted residuals (expand 1×1 · depthwise k×k · [SE] · project 1×1) H/16
///                the C4 stage (13 … 15) dilated by 2 instead of strided
///       4        → low  (40 channels, H/8)
///       16       conv1×1 160 → 960 · BN · hardswish → high (960 channels, H/16)
///     classifier LRASPPHead(40, 960, classes, 128):
///       cbr(high) · scale(high)  (1×1 conv · BN · ReLU, times global pool · 1×1 conv · sigmoid)
///       bilinear to low's size, high_classifier 1×1 + low_classifier(low) 1×1
///     bilinear (align_corners = False) to the input size: [N, classes, H, W]
///
/// Batch norm in the backbone: eps 0.001, momentum 0.01 (MobileNetV3's); the head's is
/// PyTorch's default. Initialisation as torchvision: Kaiming-normal (fan-out) convs with zero
/// biases and BN γ = 1, β = 0 in the backbone, PyTorch's default for the head. No aux head.
/// `loadBackbone` fills `backbone.*` from an ImageNet `mobilenet_v3_large` file (`features.*`).
public final class LRASPPMobileNetV3: SegmentationModel {
    let backbone: Sequential
    let classifier: LRASPPHead
    /// The backbone child whose output is the head's low-level input (C2, output stride 8).
    static let lowIndex = 4

    /// torchvision's `_mobilenet_v3_conf("mobilenet_v3_large", dilated=True)`: input, kernel,
    /// expanded, output channels, squeeze-excitation, hardswish (else ReLU), stride, dilation.
    static let blocks: [(input: Int, kernel: Int, expanded: Int, output: Int, se: Bool, hardswish: Bool, stride: Int, dilation: Int)] = [
        (16, 3, 16, 16, false, false, 1, 1),
        (16, 3, 64, 24, false, false, 2, 1),
        (24, 3, 72, 24, false, false, 1, 1),
        (24, 5, 72, 40, true, false, 2, 1),
        (40, 5, 120, 40, true, false, 1, 1),
        (40, 5, 120, 40, true, false, 1, 1),
        (40, 3, 240, 80, false, true, 2, 1),
        (80, 3, 200, 80, false, true, 1, 1),
        (80, 3, 184, 80, false, true, 1, 1),
        (80, 3, 184, 80, false, true, 1, 1),
        (80, 3, 480, 112, true, true, 1, 1),
        (112, 3, 672, 112, true, true, 1, 1),
        (112, 5, 672, 160, true, true, 2, 2),
        (160, 5, 960, 160, true, true, 1, 2),
        (160, 5, 960, 160, true, true, 1, 2),
    ]

    public init(classes: Int, inChannels: Int = 3, seed: UInt64 = 0) {
        let g = Generator(seed: seed)
        var layers: [any Layer] = [convNormActivation(inChannels, 16, kernel: 3, stride: 2, activation: Hardswish(), generator: g)]
        for b in Self.blocks {
            layers.append(InvertedResidual(b.input, kernel: b.kernel, expanded: b.expanded, output: b.output, se: b.se,
                                           hardswish: b.hardswish, stride: b.stride, dilation: b.dilation, generator: g))
        }
        layers.append(convNormActivation(160, 960, kernel: 1, activation: Hardswish(), generator: g))
        backbone = Sequential(layers)
        classifier = LRASPPHead(low: 40, high: 960, classes: classes, inter: 128, generator: g)
        super.init(name: "lraspp-mobilenet-v3-large", classes: classes, inChannels: inChannels)
        register("backbone", backbone)
        register("classifier", classifier)
    }

    public override func callAsFunction(_ input: Tensor) -> Tensor {
        var low = input, x = input
        for (i, layer) in backbone.layers.enumerated() {
            x = runTraced(layer, x)
            if i == Self.lowIndex { low = x }
        }
        let logits = classifier.forward(low: low, high: x)
        return traced(step: "upsample", kind: "Bilinear", resizeBilinear(logits, size: (input.shape[2], input.shape[3])))
    }
}

/// torchvision's `_make_divisible(v, 8)`: the nearest multiple of 8, never below 90 % of `v`.
func makeDivisible(_ v: Int, _ divisor: Int = 8) -> Int {
    var out = max(divisor, (v + divisor / 2) / divisor * divisor)
    if Double(out) < 0.9 * Double(v) { out += divisor }
    return out
}

/// torchvision's `Conv2dNormActivation`: conv (no bias, padding (k − 1) / 2 · dilation) · BN
/// (MobileNetV3's eps 0.001, momentum 0.01) · activation; children `0 1 [2]`.
func convNormActivation(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, dilation: Int = 1,
                        groups: Int = 1, activation: (any Layer)?, generator g: Generator) -> Sequential {
    var layers: [any Layer] = [
        Conv2d(inChannels, outChannels, kernel: kernel, stride: stride, padding: .symmetric((kernel - 1) / 2 * dilation),
               dilation: dilation, groups: groups, bias: false, weightInit: resNetConvInit(outChannels, kernel: kernel),
               generator: g),
        BatchNorm2d(outChannels, settings: .pytorch(momentum: 0.01, epsilon: 0.001)),
    ]
    if let activation { layers.append(activation) }
    return Sequential(layers)
}

/// torchvision's MobileNetV3 `InvertedResidual`: [expand 1×1 · BN · act] · depthwise k×k
/// (stride, or dilation instead when dilated) · BN · act · [squeeze-excitation] · project 1×1 ·
/// BN, plus the input when the stride is 1 and the width is kept. Children `block.0 …`.
final class InvertedResidual: Module, Layer, TracesItsChildren {
    let block: Sequential
    let residual: Bool

    init(_ input: Int, kernel: Int, expanded: Int, output: Int, se: Bool, hardswish: Bool, stride: Int, dilation: Int,
         generator g: Generator) {
        func activation() -> any Layer { hardswish ? Hardswish() : ReLU() }
        var layers: [any Layer] = []
        if expanded != input {
            layers.append(convNormActivation(input, expanded, kernel: 1, activation: activation(), generator: g))
        }
        layers.append(convNormActivation(expanded, expanded, kernel: kernel, stride: dilation > 1 ? 1 : stride,
                                         dilation: dilation, groups: expanded, activation: activation(), generator: g))
        if se { layers.append(SqueezeExcitation(expanded, squeeze: makeDivisible(expanded / 4), generator: g)) }
        layers.append(convNormActivation(expanded, output, kernel: 1, activation: nil, generator: g))
        block = Sequential(layers)
        residual = stride == 1 && input == output
        super.init()
        register("block", block)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let y = runTraced(block, x)
        return residual ? traced(step: "add", kind: "Add", y + x) : y
    }
}

/// torchvision's `SqueezeExcitation(channels, squeeze, scale_activation=Hardsigmoid)`: global
/// average · fc1 1×1 (bias) · ReLU · fc2 1×1 (bias) · hardsigmoid, times the input per channel.
/// Children `avgpool fc1 fc2 activation scale_activation`.
final class SqueezeExcitation: Module, Layer, TracesItsChildren {
    let pool = AdaptiveAvgPool2d()
    let fc1: Conv2d, fc2: Conv2d

    init(_ channels: Int, squeeze: Int, generator g: Generator) {
        fc1 = Conv2d(channels, squeeze, kernel: 1, weightInit: resNetConvInit(squeeze, kernel: 1), biasInit: .zeros, generator: g)
        fc2 = Conv2d(squeeze, channels, kernel: 1, weightInit: resNetConvInit(channels, kernel: 1), biasInit: .zeros, generator: g)
        super.init()
        register("avgpool", pool)
        register("fc1", fc1)
        register("fc2", fc2)
        register("activation", ReLU())
        register("scale_activation", Hardsigmoid())
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let s = hardsigmoid(fc2.traced(relu(fc1.traced(pool.traced(x)))))
        return traced(step: "scale", kind: "Mul", scaleChannels(x, by: s))
    }
}

/// torchvision's `LRASPPHead(low, high, classes, inter)`; children `cbr scale low_classifier
/// high_classifier`.
final class LRASPPHead: Module {
    let cbr: Sequential
    let scale: Sequential
    let lowClassifier: Conv2d, highClassifier: Conv2d

    init(low: Int, high: Int, classes: Int, inter: Int, generator g: Generator) {
        cbr = Sequential([Conv2d(high, inter, kernel: 1, bias: false, generator: g), BatchNorm2d(inter), ReLU()])
        scale = Sequential([AdaptiveAvgPool2d(), Conv2d(high, inter, kernel: 1, bias: false, generator: g), Sigmoid()])
        lowClassifier = Conv2d(low, classes, kernel: 1, generator: g)
        highClassifier = Conv2d(inter, classes, kernel: 1, generator: g)
        super.init()
        register("cbr", cbr)
        register("scale", scale)
        register("low_classifier", lowClassifier)
        register("high_classifier", highClassifier)
    }

    func forward(low: Tensor, high: Tensor) -> Tensor {
        var x = traced(step: "attention", kind: "Mul", scaleChannels(runTraced(cbr, high), by: runTraced(scale, high)))
        x = traced(step: "upsample", kind: "Bilinear", resizeBilinear(x, size: (low.shape[2], low.shape[3])))
        return traced(step: "add", kind: "Add", lowClassifier.traced(low) + highClassifier.traced(x))
    }
}
