/// The arithmetic of convolutions (config key `precision`, `--precision`).
///
/// `fp32`: everything in fp32. `bf16`: convolutions and transposed convolutions multiply bf16
/// inputs and weights with fp32 accumulation and fp32 results (oneDNN's AVX512-BF16 / AMX
/// kernels, like PyTorch's CPU autocast); master weights, optimizer state, batch norm, the loss
/// and the metrics stay fp32. On a CPU without AVX512-BF16 or AMX, or on the reference backend,
/// a bf16 run trains in fp32 and says so (Training's `NumericPrecision+Select.swift`).
public enum NumericPrecision: String, Sendable, Codable, CaseIterable {
    case fp32, bf16

    /// The precision `text` names ("fp32" / "float32", "bf16" / "bfloat16"; any case), or nil.
    public init?(rawValue: String) {
        switch rawValue.lowercased() {
        case "fp32", "float32", "f32": self = .fp32
        case "bf16", "bfloat16": self = .bf16
        default: return nil
        }
    }
}
