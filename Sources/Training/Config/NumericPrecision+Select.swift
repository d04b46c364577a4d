import NN

extension BackendKind {
    /// Makes this backend, in `precision`, the one new ops use, and returns the notices to show
    /// (one line each; the run goes on). bf16 runs on oneDNN's bf16 convolutions
    /// (`DNNLBackend.sharedBF16`) when `support` says the CPU has AVX512-BF16 or AMX; otherwise —
    /// no such instructions, `SEGSCOPE_BF16=off`, the reference backend, or no oneDNN at all — the
    /// run is fp32 and a notice says why.
    @discardableResult
    public func select(precision: NumericPrecision, support: BF16Support = .current) throws -> [String] {
        var notices: [String] = []
        if let notice = try select() { notices.append(notice) }
        guard precision == .bf16 else { return notices }
        guard Backends.current === Backends.dnnl else {
            notices.append("precision bf16 needs the dnnl backend (oneDNN's bf16 kernels); training and predicting in fp32 on \(Backends.current.name)")
            return notices
        }
        guard support.available else {
            notices.append("precision bf16 is not available here: \(support.reason ?? "no AVX512-BF16 or AMX"); running in fp32")
            return notices
        }
        guard let bf16 = DNNLBackend.sharedBF16 else {
            notices.append("precision bf16: oneDNN's bf16 backend could not be created; running in fp32")
            return notices
        }
        Backends.current = bf16
        return notices
    }

    /// The precision a `--precision` value names, or an error naming the value and the allowed ones.
    public static func precision(option text: String) throws(ConfigError) -> NumericPrecision {
        guard let p = NumericPrecision(rawValue: text) else {
            throw ConfigError(key: "precision", message: "'\(text)' is not a precision",
                              allowed: NumericPrecision.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return p
    }
}
