import Foundation

/// Weight initializers. Fan-in / fan-out follow PyTorch's `_calculate_fan_in_and_fan_out`:
/// for a 4-D weight `[a, b, kh, kw]`, fan_in = b·kh·kw and fan_out = a·kh·kw (for conv weights
/// `[out, in, …]` that is in / out; Keras computes the same numbers from its `(kh, kw, in, out)`
/// kernels, and for transposed convs both libraries use the same dimension convention).
public enum Initializer: Sendable, Hashable, Codable {
    case zeros
    case ones
    case constant(Float)
    /// Keras `he_normal`: truncated normal (redrawn beyond 2 std), std = sqrt(2 / fan_in) / 0.8796…
    /// (the truncated distribution's own std correction, as Keras `VarianceScaling`).
    case heNormal
    /// Keras `glorot_uniform` (the Keras default): U(−l, l), l = sqrt(6 / (fan_in + fan_out)).
    case glorotUniform
    /// PyTorch's default for conv weights: `kaiming_uniform_(a = √5)`, i.e. U(−b, b), b = 1/√fan_in.
    case kaimingUniform
    /// PyTorch's default for conv biases: U(−b, b), b = 1/√fan_in of the layer's *weight*
    /// (pass that fan-in, since a bias cannot know it).
    case biasUniform(fanIn: Int)
    /// d2l's `bilinear_kernel` for `[in, out, k, k]` transposed-conv weights: the bilinear
    /// upsampling filter on the diagonal in == out, zero elsewhere.
    case bilinear
    /// Plain normal with the given std (mean 0).
    case normal(std: Float)

    /// PyTorch's fan-in / fan-out of a weight shape.
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        require(shape.count >= 2, "Initializer: fan-in needs a weight of rank ≥ 2, got \(shape)")
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// While true on the current task, `fill` leaves tensors as allocated: for building a
    /// network only to read its layout (names and shapes), as `weights inspect` does for every
    /// registered model.
    @TaskLocal public static var skipsFilling = false

    /// Fills `t` (no autograd) drawing from `generator`.
    public func fill(_ t: Tensor, generator: Generator = .default) {
        if Initializer.skipsFilling { return }
        let p = t.data, n = t.count
        switch self {
        case .zeros: t.fill(0)
        case .ones: t.fill(1)
        case .constant(let v): t.fill(v)
        case .heNormal:
            let std = Float((2.0 / Double(Self.fans(t.shape).fanIn)).squareRoot() / 0.87962566103423978)
            generator.fillNormal(p, count: n, std: std, truncation: 2)
        case .glorotUniform:
            let (fi, fo) = Self.fans(t.shape)
            let l = Float((6.0 / Double(fi + fo)).squareRoot())
            generator.fillUniform(p, count: n, low: -l, high: l)
        case .kaimingUniform:
            let b = Float(1 / Double(Self.fans(t.shape).fanIn).squareRoot())
            generator.fillUniform(p, count: n, low: -b, high: b)
        case .biasUniform(let fanIn):
            let b = fanIn > 0 ? Float(1 / Double(fanIn).squareRoot()) : 0
            generator.fillUniform(p, count: n, low: -b, high: b)
        case .bilinear:
            let shape = t.shape
            require(shape.count == 4 && shape[2] == shape[3],
                         "bilinear initializer needs a square [in, out, k, k] weight, got \(shape)")
            t.fill(0)
            let k = shape[2]
            let factor = (k + 1) / 2
            let center = k % 2 == 1 ? Double(factor - 1) : Double(factor) - 0.5
            for c in 0..<min(shape[0], shape[1]) {
                let base = p + (c * shape[1] + c) * k * k
                for i in 0..<k {
                    for j in 0..<k {
                        let fi = 1 - abs(Double(i) - center) / Double(factor)
                        let fj = 1 - abs(Double(j) - center) / Double(factor)
                        base[i * k + j] = Float(fi * fj)
                    }
                }
            }
        case .normal(let std):
            generator.fillNormal(p, count: n, std: std)
        }
        t.storage.markModified()
    }
}
