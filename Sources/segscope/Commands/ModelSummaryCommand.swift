import ArgumentParser
import Foundation
import Models

/// `segscope model summary NAME`: the Keras-style table of one network.
struct ModelSummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Show a network's layers, output shapes and parameter counts.",
        discussion: """
            Prints one row per layer (name as in the weights file, type, output shape NCHW with the \
            batch as None, parameters) and the totals: trainable, non-trainable (batch-norm running \
            statistics, which Keras counts as parameters) and total. With --weights or \
            --backbone-weights, the file is loaded first and every name and shape is checked.
            """)

    @Argument(help: "Model name (see `segscope model list`).")
    var name: String

    @Option(help: "Number of classes (default: the model's).")
    var classes: Int?

    @Option(help: "Input size HxW (default: the model's reference size).")
    var input: String?

    @Option(help: "Dropout rate after each encoder (unet only).")
    var encoderDropout: Float = 0

    @Option(help: "A safetensors weights file (PyTorch state_dict names) to check and load.")
    var weights: String?

    @Option(help: "torchvision ResNet-18 weights (safetensors) for fcn-resnet18's backbone; fc.* is ignored.")
    var backboneWeights: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let spec = try ModelRegistry.spec(named: name)
        let size = try parseInputSize(input) ?? spec.defaultInput
        try spec.validate(size)
        let model = try spec.build(ModelOptions(classes: classes ?? spec.defaultClasses, encoderDropout: encoderDropout))
        if let backboneWeights {
            guard let fcn = model as? FCNResNet18 else {
                throw ValidationError("--backbone-weights is for fcn-resnet18 (its ResNet-18 backbone), not \(spec.name)")
            }
            try fcn.loadBackbone(from: URL(fileURLWithPath: backboneWeights))
        }
        if let weights {
            try model.loadWeights(from: URL(fileURLWithPath: weights))
        }
        let summary = ModelSummary(model: model, input: size)
        if json {
            print(try jsonText(summary))
        } else {
            print(summary.table(), terminator: "")
            if let backboneWeights { print("Backbone loaded from \(backboneWeights) (torchvision names, fc.* ignored).") }
            if let weights { print("Weights loaded from \(weights): all \(summary.stateDictTensors) tensors matched.") }
        }
    }
}
