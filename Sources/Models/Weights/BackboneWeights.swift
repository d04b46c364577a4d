import Foundation
import NN

/// A network whose backbone starts from an ImageNet classifier's weights file (torchvision
/// names, `fc.*` ignored): `--backbone-weights`, config `backbone_weights`.
public protocol BackboneLoadable: SegmentationModel {
    /// The classifier the file must come from (`torchvision resnet50`), for messages.
    var backboneSource: String { get }
    /// The backbone's tensors as the classifier's file names them, with their shapes.
    func backboneLayout() -> [(name: String, shape: [Int])]
    /// Checks every backbone name and shape in `file`, reports all problems together, and only
    /// then copies; the model is untouched when there is any.
    func loadBackbone(_ file: SafetensorsFile) throws
    /// The classifier's own tensors in such a file, which a backbone load ignores (`fc.*`).
    func isClassifierTensor(_ name: String) -> Bool
}

extension BackboneLoadable {
    /// An ImageNet ResNet's head.
    public func isClassifierTensor(_ name: String) -> Bool { name.hasPrefix("fc.") }

    /// `loadBackbone(_:)` from a safetensors file or a PyTorch checkpoint; `key` selects the
    /// state dict inside a wrapping checkpoint.
    public func loadBackbone(from url: URL, key: String? = nil) throws {
        try loadBackbone(try WeightsFile.read(from: url, key: key))
    }
}

extension FCNResNet18: BackboneLoadable {
    public var backboneSource: String { "torchvision resnet18" }

    /// `0.weight` is `conv1.weight` there, `4.0.conv1.weight` is `layer1.0.conv1.weight`, ….
    public func backboneLayout() -> [(name: String, shape: [Int])] {
        stateDict().compactMap { name, tensor in
            let head = name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? name
            guard let mapping = FCNResNet18.backboneNames.first(where: { $0.here == head }) else { return nil }
            return (mapping.torchvision + name.dropFirst(head.count), tensor.shape)
        }
    }
}

extension TorchvisionSegmentation: BackboneLoadable {
    public var backboneSource: String { "torchvision resnet\(depth)" }

    /// The tensors of `backbone.*` under the names the ImageNet classifier gives them
    /// (`backbone.layer1.0.conv1.weight` is `layer1.0.conv1.weight` there), as torchvision's
    /// `weights_backbone` fills them. `fc.*` in the file is ignored; the heads keep their
    /// initialisation.
    public func backboneLayout() -> [(name: String, shape: [Int])] {
        backboneTensors().map { ($0.name, $0.tensor.shape) }
    }

    func backboneTensors() -> [(name: String, tensor: Tensor)] {
        let prefix = "backbone."
        return stateDict().filter { $0.name.hasPrefix(prefix) }
            .map { (name: String($0.name.dropFirst(prefix.count)), tensor: $0.tensor) }
    }

    public func loadBackbone(_ file: SafetensorsFile) throws {
        try loadBackboneTensors(backboneTensors(), from: file)
    }
}

extension LRASPPMobileNetV3: BackboneLoadable {
    public var backboneSource: String { "torchvision mobilenet_v3_large" }

    /// The ImageNet classifier's `features.*` are `backbone.*` here (`features.3.block.0.0.weight`
    /// is `backbone.3.block.0.0.weight`): torchvision's lraspp builder takes that `features`
    /// module whole (its dilation changes no shape). `classifier.*` in the file is ignored.
    public func backboneLayout() -> [(name: String, shape: [Int])] {
        backboneTensors().map { ($0.name, $0.tensor.shape) }
    }

    public func isClassifierTensor(_ name: String) -> Bool { name.hasPrefix("classifier.") }

    func backboneTensors() -> [(name: String, tensor: Tensor)] {
        let prefix = "backbone."
        return stateDict().filter { $0.name.hasPrefix(prefix) }
            .map { (name: "features." + $0.name.dropFirst(prefix.count), tensor: $0.tensor) }
    }

    public func loadBackbone(_ file: SafetensorsFile) throws {
        try loadBackboneTensors(backboneTensors(), from: file)
    }
}

extension BackboneLoadable {
    /// Checks `expected` (file name → the model's tensor) against `file`, the classifier's
    /// tensors ignored, then copies them all; nothing changes when anything does not fit.
    func loadBackboneTensors(_ expected: [(name: String, tensor: Tensor)], from file: SafetensorsFile) throws {
        let fit = WeightsFit(file: file, expected: expected.map { ($0.name, $0.tensor.shape) }, ignoring: isClassifierTensor)
        guard fit.fits else {
            throw ModelError.weightsMismatch(file: file.file, model: "\(name) backbone (\(backboneSource) names)",
                                             problems: fit.problems(of: backboneSource))
        }
        for (name, tensor) in expected { if let entry = file[name] { WeightCheck.copy(entry, into: tensor) } }
    }
}
