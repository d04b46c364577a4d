import Foundation
import NN

/// A Keras-style summary of a model at an input size: one row per layer (name, type, output
/// shape, parameters) and the totals — trainable, non-trainable (batch-norm running statistics,
/// which Keras counts as parameters) and their sum.
///
/// Output shapes come from one real forward pass of a single zero image in inference mode,
/// without autograd, during which the model reports each layer to a `LayerTrace`; the pass does
/// not change the model (no batch-norm statistics are updated in inference mode).
public struct ModelSummary: Sendable, Codable, Equatable {
    public struct Row: Sendable, Codable, Equatable {
        public var name: String
        public var type: String
        /// NCHW with the batch dimension first (shown as `None`, as Keras does).
        public var outputShape: [Int]
        public var trainable: Int
        public var nonTrainable: Int
        public var params: Int { trainable + nonTrainable }

        enum CodingKeys: String, CodingKey {
            case name, type, outputShape = "output_shape", trainable, nonTrainable = "non_trainable", params
        }

        public init(name: String, type: String, outputShape: [Int], trainable: Int, nonTrainable: Int) {
            self.name = name
            self.type = type
            self.outputShape = outputShape
            self.trainable = trainable
            self.nonTrainable = nonTrainable
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            type = try c.decode(String.self, forKey: .type)
            outputShape = try c.decode([Int].self, forKey: .outputShape)
            trainable = try c.decode(Int.self, forKey: .trainable)
            nonTrainable = try c.decode(Int.self, forKey: .nonTrainable)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(type, forKey: .type)
            try c.encode(outputShape, forKey: .outputShape)
            try c.encode(trainable, forKey: .trainable)
            try c.encode(nonTrainable, forKey: .nonTrainable)
            try c.encode(params, forKey: .params)
        }
    }

    public var model: String
    public var classes: Int
    public var inChannels: Int
    public var input: InputSize
    public var outputShape: [Int]
    public var layers: [Row]
    public var trainable: Int
    /// Batch-norm running means and variances.
    public var nonTrainable: Int
    public var total: Int { trainable + nonTrainable }
    /// Tensors in the `state_dict` (what a weights file holds), including the
    /// `num_batches_tracked` counters that are not counted as parameters.
    public var stateDictTensors: Int

    enum CodingKeys: String, CodingKey {
        case model, classes, inChannels = "in_channels", input, outputShape = "output_shape", layers
        case trainable, nonTrainable = "non_trainable", total, stateDictTensors = "state_dict_tensors"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        model = try c.decode(String.self, forKey: .model)
        classes = try c.decode(Int.self, forKey: .classes)
        inChannels = try c.decode(Int.self, forKey: .inChannels)
        input = try c.decode(InputSize.self, forKey: .input)
        outputShape = try c.decode([Int].self, forKey: .outputShape)
        layers = try c.decode([Row].self, forKey: .layers)
        trainable = try c.decode(Int.self, forKey: .trainable)
        nonTrainable = try c.decode(Int.self, forKey: .nonTrainable)
        stateDictTensors = try c.decode(Int.self, forKey: .stateDictTensors)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(model, forKey: .model)
        try c.encode(classes, forKey: .classes)
        try c.encode(inChannels, forKey: .inChannels)
        try c.encode(input, forKey: .input)
        try c.encode(outputShape, forKey: .outputShape)
        try c.encode(layers, forKey: .layers)
        try c.encode(trainable, forKey: .trainable)
        try c.encode(nonTrainable, forKey: .nonTrainable)
        try c.encode(total, forKey: .total)
        try c.encode(stateDictTensors, forKey: .stateDictTensors)
    }

    /// Traces `model` on one `input`-sized zero image.
    public init(model: SegmentationModel, input: InputSize) {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.setTraining(wasTraining) }
        let trace = LayerTrace(root: model)
        let x = Tensor(zeros: [1, model.inChannels, input.height, input.width])
        let y = GradMode.withoutGrad { trace.recording { model(x) } }
        self.model = model.name
        classes = model.classes
        inChannels = model.inChannels
        self.input = input
        outputShape = y.shape
        layers = trace.rows.map {
            Row(name: $0.name, type: $0.kind, outputShape: $0.outputShape, trainable: $0.trainable, nonTrainable: $0.statistics)
        }
        trainable = model.trainableCount
        nonTrainable = model.batchNormStatisticsCount
        stateDictTensors = model.stateDict().count
    }

    /// The Keras-like table.
    public func table() -> String {
        func shape(_ s: [Int]) -> String { "(" + (["None"] + s.dropFirst().map(String.init)).joined(separator: ", ") + ")" }
        let header = ("Layer (type)", "Output Shape", "Param #")
        let cells = layers.map { ("\($0.name) (\($0.type))", shape($0.outputShape), grouped($0.params)) }
        let w0 = max(header.0.count, cells.map(\.0.count).max() ?? 0)
        let w1 = max(header.1.count, cells.map(\.1.count).max() ?? 0)
        let w2 = max(header.2.count, cells.map(\.2.count).max() ?? 0)
        let width = w0 + w1 + w2 + 4
        func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
        func padLeft(_ s: String, _ w: Int) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
        var lines: [String] = []
        lines.append("Model: \"\(model)\" — \(classes) classes, input \(inChannels)x\(input.height)x\(input.width) (NCHW)")
        lines.append(String(repeating: "━", count: width))
        lines.append(pad(header.0, w0) + "  " + pad(header.1, w1) + "  " + padLeft(header.2, w2))
        lines.append(String(repeating: "━", count: width))
        for c in cells { lines.append(pad(c.0, w0) + "  " + pad(c.1, w1) + "  " + padLeft(c.2, w2)) }
        lines.append(String(repeating: "━", count: width))
        lines.append("Total params: \(grouped(total))")
        lines.append("Trainable params: \(grouped(trainable))")
        lines.append("Non-trainable params: \(grouped(nonTrainable)) (batch-norm running statistics)")
        lines.append("Output: \(shape(outputShape))")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// `1234567` → `"1,234,567"`.
func grouped(_ n: Int) -> String {
    let digits = String(abs(n))
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return (n < 0 ? "-" : "") + out
}
