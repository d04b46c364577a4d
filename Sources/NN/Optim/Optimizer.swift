import Foundation

/// One optimizer = one per-parameter update rule (mlx-swift's `applySingle`, tinygrad's
/// `_step`) applied to every named parameter that has a gradient. Its per-parameter state
/// (momentum buffers, Adam moments, step counts) is kept by parameter name and exported with
/// names `"<param>.<slot>"` (slots as PyTorch's optimizer state: `momentum_buffer`, `exp_avg`,
/// `exp_avg_sq`, `square_avg`, `step`) so a checkpoint restores it exactly.
public protocol UpdateRule: Sendable {
    /// Per-parameter state buffers, each the parameter's shape, created zeroed on first update.
    var slots: [String] { get }
    /// Updates `param` in place from `grad`. `step` counts this parameter's updates from 1;
    /// `state` holds one buffer per slot.
    func update(param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>, count: Int,
                state: [UnsafeMutablePointer<Float>], step: Int, learningRate: Float)
}

public final class Optimizer {
    /// The parameters this optimizer updates, by name.
    public let parameters: [(name: String, tensor: Tensor)]
    public var rule: any UpdateRule
    /// Learning rate used by the next `step()` (set it from a schedule each iteration).
    public var learningRate: Float
    /// Per-parameter factors of `learningRate` by name (MMSeg's `paramwise_cfg` `lr_mult`); absent = 1.
    public var learningRateMultipliers: [String: Float] = [:]
    private var state: [String: [Tensor]] = [:]
    private var steps: [String: Int] = [:]

    public init(parameters: [(name: String, tensor: Tensor)], rule: any UpdateRule, learningRate: Float) {
        self.parameters = parameters
        self.rule = rule
        self.learningRate = learningRate
    }

    /// Convenience: all parameters of `module`.
    public convenience init(_ module: Module, rule: any UpdateRule, learningRate: Float) {
        self.init(parameters: module.namedParameters(), rule: rule, learningRate: learningRate)
    }

    /// Applies the rule to every parameter with a gradient.
    public func step() {
        for (name, p) in parameters {
            guard let g = p.grad else { continue }
            require(g.shape == p.shape, "Optimizer: gradient of '\(name)' has shape \(g.shape), parameter \(p.shape)")
            let buffers = state[name] ?? rule.slots.map { _ in Tensor(zeros: p.shape) }
            state[name] = buffers
            let t = (steps[name] ?? 0) + 1
            steps[name] = t
            let pointers = buffers.map(\.data)
            let rule = self.rule, lr = learningRate * (learningRateMultipliers[name] ?? 1)
            g.withNCHW { gd in
                p.withMutableNCHW { pd in
                    parallelFor(p.count, grain: 1 << 14) { r in
                        rule.update(param: pd + r.lowerBound, grad: gd + r.lowerBound, count: r.count,
                                    state: pointers.map { $0 + r.lowerBound }, step: t, learningRate: lr)
                    }
                }
            }
        }
    }

    /// Drops every parameter's gradient.
    public func zeroGrad() { for (_, p) in parameters { p.grad = nil } }

    /// The optimizer state by name: `"<param>.<slot>"` tensors and `"<param>.step"` scalars.
    public func stateDict() -> [(name: String, tensor: Tensor)] {
        var out: [(String, Tensor)] = []
        for (name, _) in parameters {
            guard let buffers = state[name] else { continue }
            for (slot, b) in zip(rule.slots, buffers) { out.append((name + "." + slot, b)) }
            out.append((name + ".step", Tensor(scalar: Float(steps[name] ?? 0))))
        }
        return out
    }

    /// Restores state written by `stateDict()`; parameters absent from it start fresh.
    public func loadStateDict(_ dict: [String: Tensor]) throws {
        var problems: [String] = []
        var newState: [String: [Tensor]] = [:], newSteps: [String: Int] = [:]
        for (name, p) in parameters {
            guard let step = dict[name + ".step"] else { continue }
            var buffers: [Tensor] = []
            for slot in rule.slots {
                guard let b = dict[name + "." + slot] else { problems.append("missing '\(name).\(slot)'"); continue }
                guard b.count == p.count else { problems.append("'\(name).\(slot)': \(b.shape) for parameter \(p.shape)"); continue }
                let t = Tensor(zeros: p.shape)
                t.assign(b)
                buffers.append(t)
            }
            newState[name] = buffers
            newSteps[name] = Int(step.item)
        }
        guard problems.isEmpty else { throw StateDictError(problems: problems) }
        state = newState
        steps = newSteps
    }
}

/// SGD with momentum, dampening, Nesterov and L2 weight decay, as `torch.optim.SGD`
/// (Sutskever et al. 2013 form): `g ← g + wd·p; b ← μ·b + (1 − τ)·g (b = g at step 1);
/// g ← g + μ·b (Nesterov) or b; p ← p − lr·g`.
public struct SGD: UpdateRule {
    public var momentum: Float, dampening: Float, nesterov: Bool, weightDecay: Float
    public init(momentum: Float = 0, dampening: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) {
        require(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov needs momentum > 0 and no dampening")
        self.momentum = momentum; self.dampening = dampening; self.nesterov = nesterov; self.weightDecay = weightDecay
    }
    public var slots: [String] { momentum != 0 ? ["momentum_buffer"] : [] }
    public func update(param p: UnsafeMutablePointer<Float>, grad g: UnsafePointer<Float>, count: Int,
                       state: [UnsafeMutablePointer<Float>], step: Int, learningRate lr: Float) {
        for i in 0..<count {
            var d = g[i] + weightDecay * p[i]
            if momentum != 0 {
                let b = state[0]
                b[i] = step == 1 ? d : momentum * b[i] + (1 - dampening) * d
                d = nesterov ? d + momentum * b[i] : b[i]
            }
            p[i] -= lr * d
        }
    }
}

/// Adam (Kingma & Ba 2015) as `torch.optim.Adam`, and AdamW (Loshchilov & Hutter 2019,
/// `torch.optim.AdamW`) when `decoupledWeightDecay`: `p ← p·(1 − lr·wd)` instead of `g ← g + wd·p`;
/// then `m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
/// p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + ε)`.
public struct Adam: UpdateRule {
    public var beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float, decoupledWeightDecay: Bool
    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0,
                decoupledWeightDecay: Bool = false) {
        self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
        self.weightDecay = weightDecay; self.decoupledWeightDecay = decoupledWeightDecay
    }
    /// `torch.optim.AdamW` defaults (weight decay 0.01).
    public static func adamW(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01) -> Adam {
        Adam(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, decoupledWeightDecay: true)
    }
    /// Keras `Adam` defaults (eps 1e-7).
    public static var keras: Adam { Adam(epsilon: 1e-7) }
    public var slots: [String] { ["exp_avg", "exp_avg_sq"] }
    public func update(param p: UnsafeMutablePointer<Float>, grad g: UnsafePointer<Float>, count: Int,
                       state: [UnsafeMutablePointer<Float>], step: Int, learningRate lr: Float) {
        let m = state[0], v = state[1]
        let bc1 = 1 - Float(pow(Double(beta1), Double(step))), bc2 = 1 - Float(pow(Double(beta2), Double(step)))
        let stepSize = lr / bc1, sqrtBc2 = bc2.squareRoot()
        for i in 0..<count {
            var d = g[i]
            if decoupledWeightDecay { p[i] *= 1 - lr * weightDecay } else { d += weightDecay * p[i] }
            m[i] = beta1 * m[i] + (1 - beta1) * d
            v[i] = beta2 * v[i] + (1 - beta2) * d * d
            p[i] -= stepSize * m[i] / (v[i].squareRoot() / sqrtBc2 + epsilon)
        }
    }
}

/// RMSprop (Hinton, Lecture 6e): `s ← ρ·s + (1 − ρ)·g²; p ← p − lr·g / (√s + ε)`, with optional
/// momentum (`b ← μ·b + g/(√s + ε); p ← p − lr·b`) as `torch.optim.RMSprop`. Keras 3 puts ε
/// inside the root (`g / √(s + ε)`): `epsilonInsideRoot`. `.keras` = ρ 0.9, ε 1e-7, inside.
public struct RMSprop: UpdateRule {
    public var rho: Float, epsilon: Float, momentum: Float, weightDecay: Float, epsilonInsideRoot: Bool
    public init(rho: Float = 0.99, epsilon: Float = 1e-8, momentum: Float = 0, weightDecay: Float = 0,
                epsilonInsideRoot: Bool = false) {
        self.rho = rho; self.epsilon = epsilon; self.momentum = momentum
        self.weightDecay = weightDecay; self.epsilonInsideRoot = epsilonInsideRoot
    }
    /// Keras `RMSprop` defaults: rho 0.9, epsilon 1e-7 (inside the root).
    public static var keras: RMSprop { RMSprop(rho: 0.9, epsilon: 1e-7, epsilonInsideRoot: true) }
    public var slots: [String] { momentum != 0 ? ["square_avg", "momentum_buffer"] : ["square_avg"] }
    public func update(param p: UnsafeMutablePointer<Float>, grad g: UnsafePointer<Float>, count: Int,
                       state: [UnsafeMutablePointer<Float>], step: Int, learningRate lr: Float) {
        let s = state[0]
        for i in 0..<count {
            let d = g[i] + weightDecay * p[i]
            s[i] = rho * s[i] + (1 - rho) * d * d
            let denom = epsilonInsideRoot ? (s[i] + epsilon).squareRoot() : s[i].squareRoot() + epsilon
            if momentum != 0 {
                let b = state[1]
                b[i] = momentum * b[i] + d / denom
                p[i] -= lr * b[i]
            } else {
                p[i] -= lr * d / denom
            }
        }
    }
}
