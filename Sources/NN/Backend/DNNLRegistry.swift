/// Choosing a backend by name (`--backend dnnl|reference`).
///
///     try Backends.select("dnnl")          // before building / running a model
///     Backends.current.name                // what runs
///
/// `Backends.defaultName` is "dnnl" when the oneDNN CPU engine can be created, "reference"
/// otherwise.
extension Backends {
    /// Names `named(_:)` accepts, default first.
    public static var names: [String] { ["dnnl", "reference"] }

    /// "dnnl" when oneDNN is usable on this machine, else "reference".
    public static var defaultName: String { DNNLBackend.shared != nil ? "dnnl" : "reference" }

    /// The oneDNN backend, or nil when its CPU engine cannot be created.
    public static var dnnl: DNNLBackend? { DNNLBackend.shared }

    /// The backend called `name` ("dnnl" / "onednn", "reference" / "ref"; case-insensitive).
    public static func named(_ name: String) throws -> any Backend {
        switch name.lowercased() {
        case "dnnl", "onednn":
            guard let b = DNNLBackend.shared else {
                throw BackendSelectionError.unavailable(name: name, reason: DNNLBackend.unavailableReason ?? "unknown")
            }
            return b
        case "reference", "ref":
            return ReferenceBackend.shared
        default:
            throw BackendSelectionError.unknown(name: name)
        }
    }

    /// Makes `named(name)` the backend new ops use, and returns it.
    @discardableResult
    public static func select(_ name: String) throws -> any Backend {
        let b = try named(name)
        current = b
        return b
    }
}

/// A `--backend` value that names no backend, or one this machine cannot run.
public enum BackendSelectionError: Error, CustomStringConvertible {
    case unknown(name: String)
    case unavailable(name: String, reason: String)

    public var description: String {
        switch self {
        case .unknown(let name):
            return "unknown backend '\(name)'; choose one of: \(Backends.names.joined(separator: ", "))"
        case .unavailable(let name, let reason):
            return "backend '\(name)' is not available here (\(reason)); install libdnnl-dev or use --backend reference"
        }
    }
}
