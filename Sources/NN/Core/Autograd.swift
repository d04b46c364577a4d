import Foundation

/// Reverse-mode autograd by a dynamic graph (as PyTorch): each op that has an input needing a
/// gradient attaches a `Node` to its output holding the inputs and a closure mapping the
/// output's gradient to the inputs' gradients. The closure captures the small cache the backward
/// needs (im2col geometry, ReLU output, batch-norm mean/rstd). `backward()` on a scalar visits
/// the graph in reverse topological order and frees it as it goes.
///
/// Rule for op writers: a backward closure must never modify the gradient it receives (the same
/// tensor may be handed to several inputs, e.g. by `add`).
final class Node {
    let op: String
    let inputs: [Tensor]
    let backward: (Tensor) -> [Tensor?]

    init(op: String, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
        self.op = op
        self.inputs = inputs
        self.backward = backward
    }
}

/// Whether ops record graphs (switch off for evaluation with `GradMode.withoutGrad`).
public enum GradMode {
    nonisolated(unsafe) private static var disabledDepth = 0
    private static let lock = NSLock()

    public static var isEnabled: Bool {
        lock.lock(); defer { lock.unlock() }
        return disabledDepth == 0
    }

    /// Runs `body` without recording any graph (inference, evaluation).
    public static func withoutGrad<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock(); disabledDepth += 1; lock.unlock()
        defer { lock.lock(); disabledDepth -= 1; lock.unlock() }
        return try body()
    }
}

extension Tensor {
    /// True when a gradient must flow into this tensor (a parameter, or computed from one).
    public var needsGrad: Bool { requiresGrad || node != nil }

    /// Attaches `backward` to `self` when grad mode is on and some input needs a gradient.
    @discardableResult
    func recording(_ op: String, _ inputs: [Tensor], _ backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        if GradMode.isEnabled, inputs.contains(where: { $0.needsGrad }) {
            node = Node(op: op, inputs: inputs, backward: backward)
        }
        return self
    }

    /// Back-propagates from this scalar (loss): accumulates `d self / d p` into `p.grad` for every
    /// tensor `p` with `requiresGrad` that this one was computed from, then frees the graph.
    public func backward() {
        precondition(count == 1, "backward() needs a scalar (one-element) tensor, got shape \(shape)")
        backward(gradient: Tensor(shape: shape, repeating: 1))
    }

    /// Back-propagates `gradient` (same shape as `self`).
    public func backward(gradient: Tensor) {
        precondition(gradient.shape == shape, "backward(gradient:): gradient shape \(gradient.shape) != \(shape)")
        // Reverse topological order by an iterative depth-first search.
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (t, expanded) = stack.popLast() {
            if expanded { order.append(t); continue }
            if !visited.insert(ObjectIdentifier(t)).inserted { continue }
            stack.append((t, true))
            if let node = t.node {
                for input in node.inputs where input.needsGrad && !visited.contains(ObjectIdentifier(input)) {
                    stack.append((input, false))
                }
            }
        }
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): gradient]
        for t in order.reversed() {
            guard let g = grads.removeValue(forKey: ObjectIdentifier(t)) else { continue }
            if let node = t.node {
                let inputGrads = node.backward(g)
                precondition(inputGrads.count == node.inputs.count, "autograd: \(node.op) returned \(inputGrads.count) gradients for \(node.inputs.count) inputs")
                for (input, ig) in zip(node.inputs, inputGrads) {
                    guard let ig, input.needsGrad else { continue }
                    precondition(ig.shape == input.shape, "autograd: \(node.op) gave gradient \(ig.shape) for input \(input.shape)")
                    let key = ObjectIdentifier(input)
                    if let existing = grads[key] { grads[key] = addNoGrad(existing, ig) } else { grads[key] = ig }
                }
                t.node = nil
            }
            if t.requiresGrad {
                if let existing = t.grad {
                    existing.addInPlace(g)
                } else {
                    t.grad = g.copy()  // owned, NCHW: later accumulations add in place
                }
            }
        }
    }

    /// `self += other` elementwise, no autograd.
    func addInPlace(_ other: Tensor) {
        let o = other.nchwStorage.data, d = data
        parallelFor(count, grain: elementwiseGrain) { r in
            for i in r { d[i] += o[i] }
        }
    }
}

/// `a + b` without autograd (layouts must match).
func addNoGrad(_ a: Tensor, _ b: Tensor) -> Tensor {
    let (sa, sb, layout) = matchedLayouts(a, b)
    let out = Tensor(shape: a.shape, storage: Storage(count: a.count, zeroed: false), layout: layout)
    let x = sa.data, y = sb.data, z = out.data
    parallelFor(a.count, grain: elementwiseGrain) { r in
        for i in r { z[i] = x[i] + y[i] }
    }
    return out
}

/// The storages of `a` and `b` in a common layout: theirs when both share one opaque layout
/// object, NCHW otherwise.
func matchedLayouts(_ a: Tensor, _ b: Tensor) -> (Storage, Storage, TensorLayout) {
    if case .opaque(let la) = a.layout, case .opaque(let lb) = b.layout, la === lb {
        return (a.storage, b.storage, a.layout)
    }
    return (a.nchwStorage, b.nchwStorage, .nchw)
}
