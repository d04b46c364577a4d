import Foundation

/// Reverse-mode autograd by a dynamic graph (as PyTorch): each op that has an input needing a
/// gradient attaches a `Node` to its output holding edges to the inputs and a closure mapping the
/// output's gradient to the inputs' gradients. The closure captures the small cache the backward
/// needs (im2col geometry, ReLU output, batch-norm mean/rstd). `backward()` on a scalar visits
/// the graph in reverse topological order and frees it as it goes.
///
/// A node holds its inputs' nodes, not the input tensors: an activation nothing else needs (the
/// input of a ReLU, whose backward reads the output) is freed during the forward pass, as in
/// PyTorch; only what a backward closure captures stays alive.
///
/// Rule for op writers: a backward closure must never modify the gradient it receives (the same
/// tensor may be handed to several inputs, e.g. by `add`).
final class Node {
    /// Where an input's gradient goes: the node that computed it, or a leaf tensor (a
    /// parameter) whose `grad` accumulates; `none` for inputs that need no gradient.
    enum Edge {
        case node(Node, shape: [Int])
        case leaf(Tensor)
        case none
    }

    let op: String
    /// The tensor this node computed, while it lives (its `node` is cleared when the node has run).
    weak var output: Tensor?
    private(set) var edges: [Edge]
    private(set) var backward: ((Tensor) -> [Tensor?])?

    init(op: String, inputs: [Tensor], backward: @escaping (Tensor) -> [Tensor?]) {
        self.op = op
        self.edges = inputs.map { t in
            if let n = t.node { return .node(n, shape: t.shape) }
            return t.requiresGrad ? .leaf(t) : .none
        }
        self.backward = backward
    }

    /// Drops the closure and edges (and with them what they keep alive) once the node has run.
    func release() {
        backward = nil
        edges = []
        output?.node = nil
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
            let n = Node(op: op, inputs: inputs, backward: backward)
            n.output = self
            node = n
        }
        return self
    }

    /// Back-propagates from this scalar (loss): accumulates `d self / d p` into `p.grad` for every
    /// tensor `p` with `requiresGrad` that this one was computed from, then frees the graph.
    public func backward() {
        require(count == 1, "backward() needs a scalar (one-element) tensor, got shape \(shape)")
        backward(gradient: Tensor(shape: shape, repeating: 1))
    }

    /// Back-propagates `gradient` (same shape as `self`). `onLeafReady`, when given, is called
    /// with each leaf (parameter) as soon as its gradient is complete — its last contribution
    /// in this graph accumulated — while the backward goes on (PyTorch's AccumulateGrad hooks;
    /// data-parallel training starts a bucket's all-reduce from it). Leaves the graph does not
    /// reach are not reported.
    public func backward(gradient: Tensor, onLeafReady: ((Tensor) -> Void)? = nil) {
        require(gradient.shape == shape, "backward(gradient:): gradient shape \(gradient.shape) != \(shape)")
        if requiresGrad { accumulate(gradient) }
        guard let root = node else { return }
        node = nil
        // Reverse topological order of the nodes by an iterative depth-first search (post-order).
        // A node is marked when it is expanded, not when it is pushed: a node pushed as one
        // input of a join and reached first through a sibling branch (`x * f(x)`, as in
        // squeeze-excitation) must be finished inside that branch, or its gradient would be
        // used before the branch's contribution arrives (D-236).
        var order: [Node] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Node, Bool)] = [(root, false)]
        while let (n, expanded) = stack.popLast() {
            if expanded { order.append(n); continue }
            guard visited.insert(ObjectIdentifier(n)).inserted else { continue }
            stack.append((n, true))
            for case .node(let input, _) in n.edges where !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        // Leaf edges still to run per leaf, when someone waits for complete gradients.
        var pendingLeafEdges: [ObjectIdentifier: Int] = [:]
        if onLeafReady != nil {
            for n in order {
                for case .leaf(let t) in n.edges { pendingLeafEdges[ObjectIdentifier(t), default: 0] += 1 }
            }
        }
        func leafEdgesDone(_ n: Node) {
            guard let onLeafReady else { return }
            for case .leaf(let t) in n.edges {
                let key = ObjectIdentifier(t)
                let left = (pendingLeafEdges[key] ?? 1) - 1
                pendingLeafEdges[key] = left
                if left == 0 { onLeafReady(t) }
            }
        }
        var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(root): gradient]
        for n in order.reversed() {
            guard let g = grads.removeValue(forKey: ObjectIdentifier(n)), let body = n.backward else {
                leafEdgesDone(n)
                n.release()
                continue
            }
            let inputGrads = body(g)
            require(inputGrads.count == n.edges.count, "autograd: \(n.op) returned \(inputGrads.count) gradients for \(n.edges.count) inputs")
            for (edge, ig) in zip(n.edges, inputGrads) {
                guard let ig else { continue }
                switch edge {
                case .node(let input, let shape):
                    require(ig.shape == shape, "autograd: \(n.op) gave gradient \(ig.shape) for input \(shape)")
                    let key = ObjectIdentifier(input)
                    if let existing = grads[key] { grads[key] = addNoGrad(existing, ig) } else { grads[key] = ig }
                case .leaf(let t):
                    require(ig.shape == t.shape, "autograd: \(n.op) gave gradient \(ig.shape) for input \(t.shape)")
                    t.accumulate(ig)
                case .none:
                    break
                }
            }
            leafEdgesDone(n)
            n.release()
        }
    }

    /// Adds `g` to `grad` (an owned NCHW copy on first use, so later accumulations add in place).
    func accumulate(_ g: Tensor) {
        if let existing = grad { existing.addInPlace(g) } else { grad = g.copy() }
    }

    /// `self += other` elementwise, no autograd.
    func addInPlace(_ other: Tensor) {
        other.withNCHW { o in
            withMutableNCHW { d in
                parallelFor(count, grain: elementwiseGrain) { r in
                    for i in r { d[i] += o[i] }
                }
            }
        }
    }
}

/// `a + b` without autograd: in the shared layout when both have one (or both are NCHW),
/// otherwise by the current backend (oneDNN adds a blocked and an NCHW tensor in one pass).
func addNoGrad(_ a: Tensor, _ b: Tensor) -> Tensor {
    switch (a.layout, b.layout) {
    case (.nchw, .nchw): return addNCHW(a, b)
    case (.opaque(let la), .opaque(let lb)) where la === lb: return addNCHW(a, b)
    default: return Backends.current.add(a, b)
    }
}

/// `a + b` without autograd, in the shared layout or NCHW.
func addNCHW(_ a: Tensor, _ b: Tensor) -> Tensor {
    withMatchedLayouts(a, b) { x, y, layout in
        let out = Tensor(shape: a.shape, storage: Storage(count: a.count, zeroed: false), layout: layout)
        let z = out.data
        parallelFor(a.count, grain: elementwiseGrain) { r in
            for i in r { z[i] = x[i] + y[i] }
        }
        return out
    }
}

/// Calls `body` with `a`'s and `b`'s elements in a common layout: their own memory when both
/// share one opaque layout object, NCHW otherwise (the pointers must not escape `body`).
func withMatchedLayouts<R>(_ a: Tensor, _ b: Tensor,
                           _ body: (UnsafePointer<Float>, UnsafePointer<Float>, TensorLayout) throws -> R) rethrows -> R {
    if case .opaque(let la) = a.layout, case .opaque(let lb) = b.layout, la === lb {
        return try body(a.storage.data, b.storage.data, a.layout)  // a, b: alive for this call
    }
    return try withNCHW(a, b) { x, y in try body(x, y, .nchw) }
}

/// `Tensor.withNCHW` for two tensors at once.
func withNCHW<R>(_ a: Tensor, _ b: Tensor, _ body: (UnsafePointer<Float>, UnsafePointer<Float>) throws -> R) rethrows -> R {
    try a.withNCHW { x in try b.withNCHW { y in try body(x, y) } }
}
