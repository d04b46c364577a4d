import Foundation
import NN

// Weights files are safetensors with PyTorch `state_dict` names (`down.0.sep1.depthwise.weight`,
// `4.0.bn1.running_mean`, …), so a file written here loads in PyTorch with
// `model.load_state_dict(safetensors.torch.load_file(path), strict=True)` and PyTorch's files
// load here. Everything is written as F32, including the batch-norm `num_batches_tracked`
// counters PyTorch keeps as int64 (its `load_state_dict` casts them back; see DECISIONS.md).
// Reading accepts any floating type, and any type for the counters, from safetensors or PyTorch
// checkpoints (`WeightsFile`: zip, legacy pickle and tar `.pth` / `.pt`).

extension SegmentationModel {
    /// Loads every parameter and buffer from a safetensors file. Every name and shape is checked
    /// before anything is changed, and all problems (missing, unexpected, wrong shape, wrong
    /// type) are reported together; the model is untouched when there is any.
    /// `ignoring` names tensors of the file that are not weights (e.g. optimizer state).
    /// The file may be safetensors or a PyTorch checkpoint (`WeightsFile`).
    public func loadWeights(from url: URL, ignoring: (String) -> Bool = { _ in false }) throws {
        let file = try WeightsFile.read(from: url)
        try loadWeights(file, ignoring: ignoring)
    }

    /// `loadWeights(from:)` from an already-read file.
    public func loadWeights(_ file: SafetensorsFile, ignoring: (String) -> Bool = { _ in false }) throws {
        let mine = stateDict()
        var (problems, assignments) = WeightCheck.match(mine, in: file)
        let known = Set(mine.map(\.name))
        for name in file.names where !known.contains(name) && !ignoring(name) {
            let shape = file[name]?.shape ?? []
            problems.append("unexpected tensor '\(name)' \(shape) (the model has no such parameter)")
        }
        guard problems.isEmpty else { throw ModelError.weightsMismatch(file: file.file, model: self.name, problems: problems) }
        for (tensor, entry) in assignments { WeightCheck.copy(entry, into: tensor) }
    }

    /// Writes every parameter and buffer (F32, `state_dict` order) to a safetensors file,
    /// atomically (temporary file + rename). `metadata` is added to the file's `__metadata__`
    /// along with the model name, classes and input channels.
    public func saveWeights(to url: URL, metadata: [String: String] = [:]) throws {
        var meta = metadata
        meta["format"] = meta["format"] ?? "pt"
        meta["segscope.model"] = name
        meta["segscope.classes"] = String(classes)
        meta["segscope.in_channels"] = String(inChannels)
        let tensors = stateDict().map { SafetensorsTensor(name: $0.name, shape: $0.tensor.shape, values: $0.tensor.array) }
        try Safetensors.write(tensors, metadata: meta, to: url)
    }
}

extension FCNResNet18 {
    /// Loads torchvision ResNet-18 weights (torchvision's names: `conv1.weight`, `bn1.*`,
    /// `layer1.0.conv1.weight`, …) into the backbone (`0`, `1`, `4` … `7`), as d2l starts from
    /// pretrained weights. `fc.*` is ignored; `final_conv` and `transpose_conv` keep their
    /// initialisation. Every backbone name and shape is checked first and all problems are
    /// reported together; the model is untouched when there is any.
    public func loadBackbone(from url: URL) throws {
        try loadBackbone(try WeightsFile.read(from: url))
    }

    public func loadBackbone(_ file: SafetensorsFile) throws {
        // Our backbone tensors by their torchvision name.
        var expected: [(torchvision: String, tensor: Tensor)] = []
        for (name, tensor) in stateDict() {
            let head = name.split(separator: ".", maxSplits: 1).first.map(String.init) ?? name
            guard let mapping = FCNResNet18.backboneNames.first(where: { $0.here == head }) else { continue }
            expected.append((mapping.torchvision + name.dropFirst(head.count), tensor))
        }
        var (problems, assignments) = WeightCheck.match(expected.map { ($0.torchvision, $0.tensor) }, in: file)
        let known = Set(expected.map(\.torchvision))
        for name in file.names where !known.contains(name) && !name.hasPrefix("fc.") {
            problems.append("unexpected tensor '\(name)' \(file[name]?.shape ?? []) (not part of torchvision's ResNet-18)")
        }
        guard problems.isEmpty else {
            throw ModelError.weightsMismatch(file: file.file, model: "fcn-resnet18 backbone (torchvision resnet18 names)",
                                             problems: problems)
        }
        for (tensor, entry) in assignments { WeightCheck.copy(entry, into: tensor) }
    }
}

/// Shared checks of one file tensor against one model tensor.
enum WeightCheck {
    /// Looks up each of the model's tensors (by the name it has in the file) in `file`: a problem
    /// for each one missing or not fitting, else the copy to make once nothing is wrong.
    static func match(_ expected: [(name: String, tensor: Tensor)], in file: SafetensorsFile)
        -> (problems: [String], assignments: [(Tensor, SafetensorsEntry)]) {
        var problems: [String] = []
        var assignments: [(Tensor, SafetensorsEntry)] = []
        for (name, tensor) in expected {
            guard let entry = file[name] else {
                problems.append("missing tensor '\(name)' \(tensor.shape)")
                continue
            }
            if let problem = problem(name: name, entry: entry, expected: tensor.shape) {
                problems.append(problem)
            } else {
                assignments.append((tensor, entry))
            }
        }
        return (problems, assignments)
    }

    static func problem(name: String, entry: SafetensorsEntry, expected: [Int]) -> String? {
        if entry.shape != expected {
            return "'\(name)': shape \(entry.shape) in the file, the model needs \(expected)"
        }
        let isCounter = name.hasSuffix("num_batches_tracked")
        switch entry.dtype {
        case .f32, .f16, .bf16, .f64: return nil
        default:
            return isCounter ? nil
                : "'\(name)': dtype \(entry.dtype.rawValue), expected a floating-point type (F32, F16, BF16, F64)"
        }
    }

    static func copy(_ entry: SafetensorsEntry, into tensor: Tensor) {
        let values = entry.floats()
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { tensor.data.update(from: base, count: tensor.count) }
        }
        tensor.storage.markModified()
    }
}
