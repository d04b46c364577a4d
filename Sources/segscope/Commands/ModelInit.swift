import ArgumentParser
import Foundation
import Models

/// `segscope model init NAME --out FILE`: a freshly initialised weights file.
struct ModelInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a network's initial weights (the reference initialisation) to a safetensors file.",
        discussion: """
            The file has PyTorch state_dict names, so it loads into the PyTorch reference with \
            load_state_dict(strict=True). With --backbone-weights, fcn-resnet18 starts from \
            torchvision ResNet-18 weights, as d2l starts from pretrained ones.
            """)

    @Argument(help: "Model name (see `segscope model list`).")
    var name: String

    @Option(help: "Output file (.safetensors); written atomically.")
    var out: String

    @Option(help: "Number of classes (default: the model's).")
    var classes: Int?

    @Option(help: "Seed of the initialisation.")
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp(backboneWeightsHelp))
    var backboneWeights: String?

    @Option(help: ArgumentHelp(checkpointKeyHelp))
    var key: String?

    func run() throws {
        let spec = try ModelRegistry.spec(named: name)
        let model = try spec.build(ModelOptions(classes: classes ?? spec.defaultClasses, seed: seed))
        var metadata = ["segscope.seed": String(seed)]
        if let backboneWeights {
            try loadBackbone(into: model, from: backboneWeights, key: key)
            metadata["segscope.backbone"] = backboneWeights
        }
        try model.saveWeights(to: URL(fileURLWithPath: out), metadata: metadata)
        let tensors = model.stateDict()
        print("wrote \(out): \(spec.name), \(model.classes) classes, \(tensors.count) tensors, "
              + "\(grouped(tensors.reduce(0) { $0 + $1.tensor.count })) values")
    }
}
