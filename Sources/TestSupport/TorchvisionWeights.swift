import Foundation
import NN

/// A torchvision-named ResNet-18 weights file for tests, made from an fcn-resnet18 weights file
/// (`segscope model init fcn-resnet18 --out …`): the backbone tensors renamed to torchvision's
/// names (`0` → `conv1`, `1` → `bn1`, `4` … `7` → `layer1` … `layer4`), the FCN head dropped and
/// an `fc.bias` added (as torchvision's file has a classifier the loader must ignore).
public enum TorchvisionWeights {
    public static let stageNames = ["0": "conv1", "1": "bn1", "4": "layer1", "5": "layer2", "6": "layer3", "7": "layer4"]

    /// The value `conv1.weight[i]` gets, so a test can recognise the loaded tensor.
    public static func marker(_ i: Int) -> Float { Float(i % 13) * 0.001 - 0.006 }

    /// Writes the torchvision-named file; `conv1.weight` holds `marker(i)`.
    public static func resnet18(fromFCN source: URL, to destination: URL) throws {
        let file = try SafetensorsFile.read(from: source)
        var tensors: [SafetensorsTensor] = []
        for name in file.names {
            let head = String(name.split(separator: ".", maxSplits: 1).first ?? "")
            guard let stage = stageNames[head] else { continue }
            let entry = try file.entry(name)
            let renamed = stage + name.dropFirst(head.count)
            var values = entry.floats()
            if renamed == "conv1.weight" { values = values.indices.map(marker) }
            tensors.append(SafetensorsTensor(name: renamed, shape: entry.shape, values: values))
        }
        tensors.append(SafetensorsTensor(name: "fc.bias", shape: [1000], values: [Float](repeating: 0.5, count: 1000)))
        try Safetensors.write(tensors, metadata: ["format": "pt"], to: destination)
    }
}

extension TorchvisionWeights {
    /// The values of tensor `name` in a safetensors file.
    public static func floats(_ name: String, in url: URL) throws -> [Float] {
        try SafetensorsFile.read(from: url).entry(name).floats()
    }
}
