import NN

extension BackendKind {
    /// Makes this backend the one new ops use. `dnnl` on a machine where oneDNN cannot run falls
    /// back to the reference backend and returns a one-line notice saying so (the run goes on);
    /// nil otherwise.
    @discardableResult
    public func select() throws -> String? {
        switch self {
        case .reference:
            try Backends.select("reference")
            return nil
        case .dnnl:
            if Backends.dnnl != nil {
                try Backends.select("dnnl")
                return nil
            }
            try Backends.select("reference")
            return "oneDNN is not available here (\(DNNLBackend.unavailableReason ?? "unknown reason")); "
                + "running on the reference backend"
        }
    }

    /// The kind a `--backend` value names (any spelling `Backends.canonicalName` reads), or an
    /// error naming the value and the allowed ones.
    public init(option text: String) throws(ConfigError) {
        guard let kind = BackendKind(rawValue: text) else {
            throw ConfigError(key: "backend", message: "'\(text)' is not a backend",
                              allowed: BackendKind.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self = kind
    }
}
