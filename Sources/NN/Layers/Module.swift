import Foundation

/// A layer or a model: holds parameters (trainable, `requiresGrad`), buffers (non-trainable
/// state such as batch-norm running statistics) and child modules, each under a name, so that
/// `namedParameters()` / `stateDict()` give PyTorch `state_dict`-style dotted names
/// (`layer1.0.conv1.weight`, `bn.running_mean`). Checkpoints, optimizers and summary tables all
/// read these visitors; nothing is discovered by reflection.
///
/// Subclasses register what they own in `init` (after `super.init()`) and define
/// `callAsFunction` for their forward pass. PyTorch's order is kept: a module's own parameters,
/// then its own buffers, then its children in registration order.
open class Module {
    public private(set) var children: [(name: String, module: Module)] = []
    public private(set) var ownParameters: [(name: String, tensor: Tensor)] = []
    public private(set) var ownBuffers: [(name: String, tensor: Tensor)] = []
    /// Training mode (batch statistics, dropout on) or inference; see `train()` / `eval()`.
    public private(set) var isTraining = true

    public init() {}

    /// Registers a child module under `name` (a property name, or "0", "1", … in sequences).
    @discardableResult
    public func register<M: Module>(_ name: String, _ module: M) -> M {
        require(!name.isEmpty && !name.contains("."), "Module.register: bad child name '\(name)'")
        require(!children.contains { $0.name == name }, "Module.register: child '\(name)' registered twice")
        children.append((name, module))
        return module
    }

    /// Registers a trainable tensor (marks it `requiresGrad`).
    @discardableResult
    public func registerParameter(_ name: String, _ tensor: Tensor) -> Tensor {
        require(!ownParameters.contains { $0.name == name }, "Module.registerParameter: '\(name)' registered twice")
        tensor.requiresGrad = true
        ownParameters.append((name, tensor))
        return tensor
    }

    /// Registers non-trainable state saved with the model (running statistics).
    @discardableResult
    public func registerBuffer(_ name: String, _ tensor: Tensor) -> Tensor {
        require(!ownBuffers.contains { $0.name == name }, "Module.registerBuffer: '\(name)' registered twice")
        ownBuffers.append((name, tensor))
        return tensor
    }

    /// Every module below and including this one, with dotted names ("" for self).
    public func namedModules(prefix: String = "") -> [(name: String, module: Module)] {
        var out: [(String, Module)] = [(prefix, self)]
        for (name, child) in children {
            out += child.namedModules(prefix: prefix.isEmpty ? name : prefix + "." + name)
        }
        return out
    }

    /// Trainable tensors with dotted names, in PyTorch order.
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        namedModules().flatMap { (path, m) in
            m.ownParameters.map { (path.isEmpty ? $0.name : path + "." + $0.name, $0.tensor) }
        }
    }

    /// Non-trainable state with dotted names.
    public func namedBuffers() -> [(name: String, tensor: Tensor)] {
        namedModules().flatMap { (path, m) in
            m.ownBuffers.map { (path.isEmpty ? $0.name : path + "." + $0.name, $0.tensor) }
        }
    }

    /// Parameters and buffers as PyTorch's `state_dict()` orders them (per module: parameters,
    /// then buffers; modules depth-first).
    public func stateDict() -> [(name: String, tensor: Tensor)] {
        namedModules().flatMap { (path, m) in
            (m.ownParameters + m.ownBuffers).map { (path.isEmpty ? $0.name : path + "." + $0.name, $0.tensor) }
        }
    }

    /// Copies values from `state` into this module's parameters and buffers. Every name of
    /// `stateDict()` must be present with the same element count (shape mismatches are reported
    /// by name); with `strict`, extra names are errors too.
    public func loadStateDict(_ state: [String: Tensor], strict: Bool = true) throws {
        let mine = stateDict()
        var problems: [String] = []
        for (name, t) in mine {
            guard let src = state[name] else { problems.append("missing '\(name)' \(t.shape)"); continue }
            if src.count != t.count || (src.shape != t.shape && src.shape.filter { $0 != 1 } != t.shape.filter { $0 != 1 }) {
                problems.append("'\(name)': expected shape \(t.shape), found \(src.shape)")
            }
        }
        if strict {
            let names = Set(mine.map(\.name))
            for name in state.keys.sorted() where !names.contains(name) { problems.append("unexpected '\(name)'") }
        }
        guard problems.isEmpty else { throw StateDictError(problems: problems) }
        for (name, t) in mine { if let src = state[name] { t.assign(src) } }
    }

    /// Switches this module and its children to training mode.
    public func train() { setTraining(true) }
    /// Switches this module and its children to inference mode.
    public func eval() { setTraining(false) }
    public func setTraining(_ on: Bool) { for (_, m) in namedModules() { m.isTraining = on } }

    /// Drops every parameter's gradient.
    public func zeroGrad() { for (_, p) in namedParameters() { p.grad = nil } }

    /// Number of trainable scalars.
    public var parameterCount: Int { namedParameters().reduce(0) { $0 + $1.tensor.count } }
}

/// A state dict that does not fit the model, with every mismatch listed.
public struct StateDictError: Error, CustomStringConvertible {
    public var problems: [String]
    public var description: String {
        "state dict does not match the model (\(problems.count) problem(s)):\n  " + problems.prefix(20).joined(separator: "\n  ")
            + (problems.count > 20 ? "\n  … and \(problems.count - 20) more" : "")
    }
}

/// A module that maps one tensor to one tensor (the unit `Sequential` chains).
public protocol Layer: Module {
    func callAsFunction(_ x: Tensor) -> Tensor
}

/// Layers applied in order, registered as "0", "1", … (PyTorch `nn.Sequential`).
public final class Sequential: Module, Layer {
    public private(set) var layers: [any Layer] = []

    public init(_ layers: [any Layer]) {
        super.init()
        for l in layers { append(l) }
    }

    public func append(_ layer: any Layer) {
        register(String(layers.count), layer)
        layers.append(layer)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { layers.reduce(x) { $1($0) } }
}
