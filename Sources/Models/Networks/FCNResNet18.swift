import NN

/// `fcn-resnet18`: d2l's FCN — torchvision's ResNet-18 without its average pool and fc layer,
/// a 1×1 conv to the classes and a transposed conv k64 s32 p16 back to the input size — built,
/// like d2l, as one `nn.Sequential`, so the `state_dict` names are d2l's:
///
///     0 conv1 7×7 s2 p3 · 1 bn1 · 2 relu · 3 maxpool 3 s2 p1     H/4
///     4 … 7  torchvision layer1 … layer4 (BasicBlocks)           H/4, H/8, H/16, H/32
///     final_conv 1×1 → classes
///     transpose_conv k64 s32 p16 → [N, classes, H, W]            (H, W divisible by 32)
///
/// Initialisation: torchvision's ResNet (Kaiming-normal, fan-out, for convs; BN γ = 1, β = 0),
/// Glorot-uniform for `final_conv` (d2l's Xavier), d2l's bilinear kernel for `transpose_conv`;
/// zero biases for both. `loadBackbone(from:)` fills `0` … `7` from torchvision weights.
public final class FCNResNet18: SegmentationModel {
    let conv1: Conv2d
    let bn1: BatchNorm2d
    let relu = ReLU()
    let pool: MaxPool2d
    let stages: [Sequential]
    let finalConv: Conv2d
    let transposeConv: ConvTranspose2d

    /// torchvision stage names (`layer1` …) and their positions in the d2l `Sequential` (`4` …).
    static let backboneNames: [(torchvision: String, here: String)] = [
        ("conv1", "0"), ("bn1", "1"), ("layer1", "4"), ("layer2", "5"), ("layer3", "6"), ("layer4", "7"),
    ]

    public init(classes: Int, inChannels: Int = 3, seed: UInt64 = 0) {
        let g = Generator(seed: seed)
        conv1 = Conv2d(inChannels, 64, kernel: 7, stride: 2, padding: .symmetric(3), bias: false,
                       weightInit: resNetConvInit(64, kernel: 7), generator: g)
        bn1 = BatchNorm2d(64)
        pool = MaxPool2d(kernel: 3, stride: 2, padding: .symmetric(1))
        var stages: [Sequential] = []
        var c = 64
        for (i, width) in [64, 128, 256, 512].enumerated() {
            let stride = i == 0 ? 1 : 2
            stages.append(Sequential([
                BasicBlock(c, width, stride: stride, generator: g),
                BasicBlock(width, width, stride: 1, generator: g),
            ]))
            c = width
        }
        self.stages = stages
        finalConv = Conv2d(512, classes, kernel: 1, weightInit: .glorotUniform, biasInit: .zeros, generator: g)
        transposeConv = ConvTranspose2d(classes, classes, kernel: 64, stride: 32, padding: .symmetric(16),
                                        weightInit: .bilinear, biasInit: .zeros, generator: g)
        super.init(name: "fcn-resnet18", classes: classes, inChannels: inChannels)
        register("0", conv1)
        register("1", bn1)
        register("2", relu)
        register("3", pool)
        for (i, stage) in stages.enumerated() { register(String(4 + i), stage) }
        register("final_conv", finalConv)
        register("transpose_conv", transposeConv)
    }

    public override func callAsFunction(_ input: Tensor) -> Tensor {
        var x = conv1.traced(input)
        x = bn1.traced(x)
        x = relu.traced(x)
        x = pool.traced(x)
        for stage in stages { x = stage(x) }
        x = finalConv.traced(x)
        return transposeConv.traced(x)
    }
}

/// torchvision's ResNet conv init: `kaiming_normal_(mode="fan_out", nonlinearity="relu")`.
func resNetConvInit(_ outChannels: Int, kernel: Int) -> Initializer {
    .normal(std: Float((2.0 / Double(outChannels * kernel * kernel)).squareRoot()))
}

/// torchvision's `BasicBlock`: conv3×3 (stride) → BN → ReLU → conv3×3 → BN, plus the input
/// (through `downsample` = 1×1 conv + BN when the stride or width changes), then ReLU.
/// Children `conv1 bn1 relu conv2 bn2 [downsample]`, as torchvision names them.
final class BasicBlock: Module, Layer {
    let conv1: Conv2d, bn1: BatchNorm2d
    let conv2: Conv2d, bn2: BatchNorm2d
    let downsample: Sequential?

    init(_ inChannels: Int, _ width: Int, stride: Int, generator g: Generator) {
        conv1 = Conv2d(inChannels, width, kernel: 3, stride: stride, padding: .symmetric(1), bias: false,
                       weightInit: resNetConvInit(width, kernel: 3), generator: g)
        bn1 = BatchNorm2d(width)
        conv2 = Conv2d(width, width, kernel: 3, padding: .symmetric(1), bias: false,
                       weightInit: resNetConvInit(width, kernel: 3), generator: g)
        bn2 = BatchNorm2d(width)
        if stride != 1 || inChannels != width {
            downsample = Sequential([
                Conv2d(inChannels, width, kernel: 1, stride: stride, bias: false,
                       weightInit: resNetConvInit(width, kernel: 1), generator: g),
                BatchNorm2d(width),
            ])
        } else {
            downsample = nil
        }
        super.init()
        register("conv1", conv1)
        register("bn1", bn1)
        register("relu", ReLU())
        register("conv2", conv2)
        register("bn2", bn2)
        if let downsample { register("downsample", downsample) }
    }

    func callAsFunction(_ input: Tensor) -> Tensor {
        var x = conv1.traced(input)
        x = bn1.traced(x)
        x = relu(x)
        x = conv2.traced(x)
        x = bn2.traced(x)
        let identity = downsample?.traced(input) ?? input
        return traced(step: "add_relu", kind: "Add+ReLU", relu(x + identity))
    }
}
