import Foundation
import NN

/// A segmentation network: maps images `[N, inChannels, H, W]` to per-pixel class logits
/// `[N, classes, H, W]` (no softmax; the loss applies it). Parameters and buffers carry PyTorch
/// `state_dict` names, so `stateDict()` is what checkpoints store.
///
/// Forward passes report each layer's output to `LayerTrace` (a no-op unless a summary is
/// being recorded), which is how `ModelSummary` learns output shapes without a second
/// description of the network.
open class SegmentationModel: Module, Layer {
    /// Registry name (`xunet`, `unet`, `fcn-resnet18`).
    public let name: String
    public let classes: Int
    public let inChannels: Int

    public init(name: String, classes: Int, inChannels: Int) {
        self.name = name
        self.classes = classes
        self.inChannels = inChannels
        super.init()
    }

    open func callAsFunction(_ x: Tensor) -> Tensor {
        preconditionFailure("\(type(of: self)) must override callAsFunction")
    }

    /// The training forward: the main logits and, for networks with an auxiliary head
    /// (torchvision's FCN / DeepLabV3 on layer3, MMSegmentation's auxiliary FCNHead), the
    /// auxiliary logits at the same resolution; nil for networks without one. Inference calls
    /// `callAsFunction` alone, so an auxiliary head costs nothing there.
    open func forwardTraining(_ x: Tensor) -> (logits: Tensor, aux: Tensor?) {
        (callAsFunction(x), nil)
    }

    /// Trainable scalars (weights, biases, batch-norm γ / β).
    public var trainableCount: Int { namedParameters().reduce(0) { $0 + $1.tensor.count } }

    /// Batch-norm running statistics (`running_mean`, `running_var`): the "non-trainable
    /// parameters" Keras counts. `num_batches_tracked` counters are not statistics and are not
    /// counted (Keras has no such variable).
    public var batchNormStatisticsCount: Int {
        namedBuffers().filter { $0.name.hasSuffix(".running_mean") || $0.name.hasSuffix(".running_var") }
            .reduce(0) { $0 + $1.tensor.count }
    }
}

/// Records the output of each layer during a forward pass, for the summary table.
public final class LayerTrace: @unchecked Sendable {  // rows guarded by `lock`
    public struct Row: Sendable, Equatable {
        /// Dotted module path (`down.0.sep1`), or an operation label for parameter-free steps.
        public var name: String
        /// Layer kind (`Conv2d`, `BatchNorm2d`, `Add`, …).
        public var kind: String
        /// Output shape, NCHW.
        public var outputShape: [Int]
        public var trainable: Int
        /// Batch-norm running statistics held by this layer.
        public var statistics: Int
    }

    private var recorded: [Row] = []
    private let lock = NSLock()
    public var rows: [Row] { lock.withLock { recorded } }
    /// Every module of the traced model by identity, with its dotted `state_dict` path: a row's
    /// name is the name the module was registered under, never written a second time.
    private let paths: [ObjectIdentifier: String]

    /// The trace a forward pass reports to; nil outside `ModelSummary`'s recording pass.
    @TaskLocal static var current: LayerTrace?

    init(root: Module) {
        var paths: [ObjectIdentifier: String] = [:]
        for (path, module) in root.namedModules() { paths[ObjectIdentifier(module)] = path }
        self.paths = paths
    }

    /// The dotted path `module` is registered under in the traced model (`down.0.sep1`).
    func path(of module: Module) -> String {
        guard let path = paths[ObjectIdentifier(module)] else {
            preconditionFailure("LayerTrace: a \(type(of: module)) reported a row but is not registered in the model")
        }
        return path
    }

    /// Runs `body` with this trace active on the current task.
    func recording<T>(_ body: () throws -> T) rethrows -> T {
        try LayerTrace.$current.withValue(self) { try body() }
    }

    func append(name: String, module: Module?, kind: String?, output: Tensor) {
        var trainable = 0, statistics = 0
        if let module {
            trainable = module.namedParameters().reduce(0) { $0 + $1.tensor.count }
            statistics = module.namedBuffers()
                .filter { $0.name.hasSuffix("running_mean") || $0.name.hasSuffix("running_var") }
                .reduce(0) { $0 + $1.tensor.count }
        }
        let label = kind ?? module.map { String(describing: type(of: $0)) } ?? "Op"
        let row = Row(name: name, kind: label, outputShape: output.shape, trainable: trainable, statistics: statistics)
        lock.withLock { recorded.append(row) }
    }
}

extension Layer {
    /// `self(x)`, reported to the active trace (if any) under the path this layer is registered
    /// at: a child is named once, in its parent's `register`.
    @inline(__always)
    func traced(_ x: Tensor) -> Tensor {
        let output = self(x)
        if let trace = LayerTrace.current { trace.append(name: trace.path(of: self), module: self, kind: nil, output: output) }
        return output
    }
}

extension Module {
    /// Reports `output` of a parameter-free step of this module (`add`, `concat`, …) to the active
    /// trace (if any), named `step` under this module's path, and returns it.
    @inline(__always)
    func traced(step: String, kind: String, _ output: Tensor) -> Tensor {
        if let trace = LayerTrace.current {
            let prefix = trace.path(of: self)
            trace.append(name: prefix.isEmpty ? step : prefix + "." + step, module: nil, kind: kind, output: output)
        }
        return output
    }
}

/// A container with numbered children and no forward of its own (PyTorch `nn.ModuleList`).
final class ModuleList: Module {
    init(_ modules: [Module]) {
        super.init()
        for (i, m) in modules.enumerated() { register(String(i), m) }
    }
}
