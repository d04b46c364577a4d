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

    @Option(help: "A weights file (safetensors or PyTorch .pth / .pt, state_dict names) to check and load.")
    var weights: String?

    @Option(help: ArgumentHelp(backboneWeightsHelp))
    var backboneWeights: String?

    @Option(help: ArgumentHelp(checkpointKeyHelp))
    var key: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let spec = try ModelRegistry.spec(named: name)
        let size = try parseInputSize(input) ?? spec.defaultInput
        try spec.validate(size)
        let model = try spec.build(ModelOptions(classes: classes ?? spec.defaultClasses, encoderDropout: encoderDropout))
        if let backboneWeights {
            try loadBackbone(into: model, from: backboneWeights, key: key)
        }
        if let weights {
            try model.loadWeights(try WeightsFile.read(from: URL(fileURLWithPath: weights), key: key))
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
