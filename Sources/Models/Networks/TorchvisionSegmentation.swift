import NN

/// torchvision's segmentation models on a dilated ResNet-50 / 101 (`fcn-resnet50`,
/// `fcn-resnet101`, `deeplabv3-resnet50`, `deeplabv3-resnet101`), built as
/// `torchvision.models.segmentation.fcn_resnet50(aux_loss=True)` and its siblings build them,
/// so their `state_dict` names are torchvision's and its checkpoints load unchanged:
///
///     backbone   ResNet, replace_stride_with_dilation = [False, True, True]     NCHW
///       conv1 7×7 s2 · bn1 · relu · maxpool 3 s2                             H/4
///       layer1 (3 Bottlenecks, 256 out)                                      H/4
///       layer2 (4, 512 out, stride 2)                                        H/8
///       layer3 (6 | 23, 1024 out, dilation 2)                                H/8   → aux
///       layer4 (3, 2048 out, dilation 4)                                     H/8   → out
///     classifier      FCNHead(2048) | DeepLabHead(2048): ASPP 12-24-36 + image pooling
///     aux_classifier  FCNHead(1024)
///     both upsampled bilinearly (align_corners = False) to the input size: [N, classes, H, W]
///
/// `callAsFunction` (inference) runs the main head only; `forwardTraining` also returns the aux
/// head's logits (torchvision's loss adds 0.5 × its cross-entropy). Initialisation as
/// torchvision: Kaiming-normal (fan-out) convs and BN γ = 1, β = 0 in the backbone, PyTorch's
/// default for the heads. `loadBackbone` fills `backbone.*` from an ImageNet classifier's file.
public final class TorchvisionSegmentation: SegmentationModel {
    public enum Head: String, Sendable, CaseIterable {
        case fcn, deeplabv3
    }

    public let head: Head
    public let depth: Int
    let backbone: DilatedResNet
    let classifier: Sequential
    let auxClassifier: Sequential

    public init(head: Head, depth: Int, classes: Int, inChannels: Int = 3, seed: UInt64 = 0) {
        let g = Generator(seed: seed)
        self.head = head
        self.depth = depth
        backbone = DilatedResNet(depth: depth, inChannels: inChannels, generator: g)
        switch head {
        case .fcn: classifier = fcnHead(2048, classes, generator: g)
        case .deeplabv3: classifier = deepLabHead(2048, classes, generator: g)
        }
        auxClassifier = fcnHead(1024, classes, generator: g)
        super.init(name: "\(head.rawValue)-resnet\(depth)", classes: classes, inChannels: inChannels)
        register("backbone", backbone)
        register("classifier", classifier)
        register("aux_classifier", auxClassifier)
    }

    public override func callAsFunction(_ input: Tensor) -> Tensor {
        let size = (input.shape[2], input.shape[3])
        let logits = runTraced(classifier, backbone(input))
        return traced(step: "upsample", kind: "Bilinear", resizeBilinear(logits, size: size))
    }

    public override func forwardTraining(_ input: Tensor) -> (logits: Tensor, aux: Tensor?) {
        let size = (input.shape[2], input.shape[3])
        let (layer3, layer4) = backbone.features(input)
        let out = resizeBilinear(runTraced(classifier, layer4), size: size)
        let aux = resizeBilinear(runTraced(auxClassifier, layer3), size: size)
        return (out, aux)
    }
}

/// A layer whose forward reports its own children to the summary trace.
protocol TracesItsChildren: Layer {}

/// `layer(x)` with one summary row per leaf layer: a `Sequential` is run child by child, a
/// `TracesItsChildren` block reports its own, anything else is a row.
func runTraced(_ layer: any Layer, _ x: Tensor) -> Tensor {
    if layer is any TracesItsChildren { return layer(x) }
    if let sequence = layer as? Sequential { return sequence.layers.reduce(x) { runTraced($1, $0) } }
    return layer.traced(x)
}

/// torchvision's `FCNHead(in, classes)`: conv3×3 → in/4 (no bias) · BN · ReLU · Dropout(0.1) ·
/// conv1×1 → classes; children `0 1 2 3 4`.
func fcnHead(_ inChannels: Int, _ classes: Int, generator g: Generator) -> Sequential {
    let mid = inChannels / 4
    return Sequential([
        Conv2d(inChannels, mid, kernel: 3, padding: .symmetric(1), bias: false, generator: g),
        BatchNorm2d(mid),
        ReLU(),
        Dropout(p: 0.1, generator: g),
        Conv2d(mid, classes, kernel: 1, generator: g),
    ])
}

/// torchvision's `DeepLabHead(in, classes)`: ASPP(in, [12, 24, 36]) · conv3×3 256 (no bias) ·
/// BN · ReLU · conv1×1 → classes; children `0 1 2 3 4`.
func deepLabHead(_ inChannels: Int, _ classes: Int, generator g: Generator) -> Sequential {
    Sequential([
        ASPP(inChannels, rates: [12, 24, 36], generator: g),
        Conv2d(256, 256, kernel: 3, padding: .symmetric(1), bias: false, generator: g),
        BatchNorm2d(256),
        ReLU(),
        Conv2d(256, classes, kernel: 1, generator: g),
    ])
}

/// `conv (no bias) · BN · ReLU` as one `Sequential` (`0 1 2`), the unit of ASPP's branches.
func convBNReLU(_ inChannels: Int, _ outChannels: Int, kernel: Int, dilation: Int = 1,
                generator g: Generator) -> Sequential {
    Sequential([
        Conv2d(inChannels, outChannels, kernel: kernel, padding: .symmetric(kernel / 2 * dilation),
               dilation: dilation, bias: false, generator: g),
        BatchNorm2d(outChannels),
        ReLU(),
    ])
}

/// torchvision's `ASPP(in, rates, out = 256)`: five parallel branches on the same input —
/// 1×1 conv, three 3×3 convs dilated by `rates` (padding = rate, so the size is kept), and
/// image pooling (global average → 1×1 conv → bilinear back to the input size) — each with BN
/// and ReLU, concatenated (5 × 256 channels) and projected by a 1×1 conv · BN · ReLU ·
/// Dropout(0.5) to 256. Children `convs.0 … convs.4`, `project`.
final class ASPP: Module, TracesItsChildren {
    let convs: ModuleList
    let branches: [any Layer]
    let project: Sequential

    init(_ inChannels: Int, rates: [Int], outChannels: Int = 256, generator g: Generator) {
        var branches: [any Layer] = [convBNReLU(inChannels, outChannels, kernel: 1, generator: g)]
        for rate in rates { branches.append(convBNReLU(inChannels, outChannels, kernel: 3, dilation: rate, generator: g)) }
        branches.append(ASPPPooling(inChannels, outChannels, generator: g))
        self.branches = branches
        convs = ModuleList(branches.map { $0 as Module })
        project = Sequential([
            Conv2d(branches.count * outChannels, outChannels, kernel: 1, bias: false, generator: g),
            BatchNorm2d(outChannels),
            ReLU(),
            Dropout(p: 0.5, generator: g),
        ])
        super.init()
        register("convs", convs)
        register("project", project)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let outs = branches.map { runTraced($0, x) }
        return runTraced(project, traced(step: "concat", kind: "Concat", concat(outs)))
    }
}

/// torchvision's `ASPPPooling`: `0` AdaptiveAvgPool2d(1) · `1` conv1×1 (no bias) · `2` BN ·
/// `3` ReLU, then bilinear (align_corners = False) back to the input's size — from 1×1 that is
/// the value repeated.
final class ASPPPooling: Module, TracesItsChildren {
    let pool = AdaptiveAvgPool2d()
    let conv: Conv2d
    let bn: BatchNorm2d

    init(_ inChannels: Int, _ outChannels: Int, generator g: Generator) {
        conv = Conv2d(inChannels, outChannels, kernel: 1, bias: false, generator: g)
        bn = BatchNorm2d(outChannels)
        super.init()
        register("0", pool)
        register("1", conv)
        register("2", bn)
        register("3", ReLU())
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let y = relu(bn.traced(conv.traced(pool.traced(x))))
        return traced(step: "upsample", kind: "Bilinear", resizeBilinear(y, size: (x.shape[2], x.shape[3])))
    }
}

/// torchvision's ResNet-50 / 101 without `avgpool` and `fc` (what `IntermediateLayerGetter`
/// keeps), with `replace_stride_with_dilation = [False, True, True]`: layer3 and layer4 keep
/// stride 1 and dilate by 2 and 4 instead, output stride 8. As in torchvision's `_make_layer`,
/// the first block of a dilated stage runs at the previous stage's dilation (1 for layer3, 2 for
/// layer4) and the others at the new one. Children `conv1 bn1 layer1 … layer4`.
final class DilatedResNet: Module, TracesItsChildren {
    static func blocks(depth: Int) -> [Int] {
        switch depth {
        case 50: return [3, 4, 6, 3]
        case 101: return [3, 4, 23, 3]
        default: preconditionFailure("DilatedResNet: depth 50 or 101, got \(depth)")
        }
    }

    let conv1: Conv2d
    let bn1: BatchNorm2d
    let maxpool: MaxPool2d
    let layers: [Sequential]

    init(depth: Int, inChannels: Int, generator g: Generator) {
        conv1 = Conv2d(inChannels, 64, kernel: 7, stride: 2, padding: .symmetric(3), bias: false,
                       weightInit: resNetConvInit(64, kernel: 7), generator: g)
        bn1 = BatchNorm2d(64)
        maxpool = MaxPool2d(kernel: 3, stride: 2, padding: .symmetric(1))
        var layers: [Sequential] = []
        var inplanes = 64, dilation = 1
        for (i, (planes, count)) in zip([64, 128, 256, 512], DilatedResNet.blocks(depth: depth)).enumerated() {
            var stride = i == 0 ? 1 : 2
            let previousDilation = dilation
            if i >= 2 {  // replace_stride_with_dilation[i - 1]
                dilation *= stride
                stride = 1
            }
            var blocks: [any Layer] = [
                Bottleneck(inplanes, planes: planes, stride: stride, dilation: previousDilation,
                           downsample: stride != 1 || inplanes != planes * Bottleneck.expansion, generator: g),
            ]
            inplanes = planes * Bottleneck.expansion
            for _ in 1..<count {
                blocks.append(Bottleneck(inplanes, planes: planes, stride: 1, dilation: dilation, downsample: false, generator: g))
            }
            layers.append(Sequential(blocks))
        }
        self.layers = layers
        super.init()
        register("conv1", conv1)
        register("bn1", bn1)
        register("relu", ReLU())
        register("maxpool", maxpool)
        for (i, layer) in layers.enumerated() { register("layer\(i + 1)", layer) }
    }

    /// layer3's and layer4's outputs (the aux and main heads' inputs).
    func features(_ input: Tensor) -> (layer3: Tensor, layer4: Tensor) {
        var x = relu(bn1.traced(conv1.traced(input)))
        x = maxpool.traced(x)
        x = runTraced(layers[1], runTraced(layers[0], x))
        let layer3 = runTraced(layers[2], x)
        return (layer3, runTraced(layers[3], layer3))
    }

    func callAsFunction(_ input: Tensor) -> Tensor { features(input).layer4 }
}

/// torchvision's `Bottleneck` (ResNet v1.5: the stride on the 3×3 conv): conv1×1 → planes ·
/// BN · ReLU · conv3×3 (stride, padding = dilation = `dilation`) · BN · ReLU · conv1×1 →
/// 4·planes · BN, plus the input (through `downsample` = 1×1 conv (stride) · BN when the stride
/// or width changes), then ReLU. Children `conv1 bn1 conv2 bn2 conv3 bn3 relu [downsample]`.
final class Bottleneck: Module, TracesItsChildren {
    static let expansion = 4
    let conv1: Conv2d, bn1: BatchNorm2d
    let conv2: Conv2d, bn2: BatchNorm2d
    let conv3: Conv2d, bn3: BatchNorm2d
    let downsample: Sequential?

    init(_ inplanes: Int, planes: Int, stride: Int, dilation: Int, downsample: Bool, generator g: Generator) {
        let out = planes * Bottleneck.expansion
        conv1 = Conv2d(inplanes, planes, kernel: 1, bias: false, weightInit: resNetConvInit(planes, kernel: 1), generator: g)
        bn1 = BatchNorm2d(planes)
        conv2 = Conv2d(planes, planes, kernel: 3, stride: stride, padding: .symmetric(dilation), dilation: dilation,
                       bias: false, weightInit: resNetConvInit(planes, kernel: 3), generator: g)
        bn2 = BatchNorm2d(planes)
        conv3 = Conv2d(planes, out, kernel: 1, bias: false, weightInit: resNetConvInit(out, kernel: 1), generator: g)
        bn3 = BatchNorm2d(out)
        self.downsample = downsample ? Sequential([
            Conv2d(inplanes, out, kernel: 1, stride: stride, bias: false, weightInit: resNetConvInit(out, kernel: 1), generator: g),
            BatchNorm2d(out),
        ]) : nil
        super.init()
        register("conv1", conv1)
        register("bn1", bn1)
        register("conv2", conv2)
        register("bn2", bn2)
        register("conv3", conv3)
        register("bn3", bn3)
        register("relu", ReLU())
        if let d = self.downsample { register("downsample", d) }
    }

    func callAsFunction(_ input: Tensor) -> Tensor {
        var x = relu(bn1.traced(conv1.traced(input)))
        x = relu(bn2.traced(conv2.traced(x)))
        x = bn3.traced(conv3.traced(x))
        let identity = downsample.map { runTraced($0, input) } ?? input
        return traced(step: "add_relu", kind: "Add+ReLU", relu(x + identity))
    }
}
