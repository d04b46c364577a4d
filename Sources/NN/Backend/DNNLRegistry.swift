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

    /// The one spelling of the backend `text` names, one of `names` ("onednn" and "fast", the
    /// config's earlier name, for "dnnl"; "ref" for "reference"; case-insensitive), or nil.
    public static func canonicalName(_ text: String) -> String? {
        switch text.lowercased() {
        case "dnnl", "onednn", "fast": return "dnnl"
        case "reference", "ref": return "reference"
        default: return nil
        }
    }

    /// The backend called `name` (any spelling `canonicalName` reads).
    public static func named(_ name: String) throws -> any Backend {
        switch canonicalName(name) {
        case "dnnl":
            guard let b = DNNLBackend.shared else {
                throw BackendSelectionError.unavailable(name: name, reason: DNNLBackend.unavailableReason ?? "unknown")
            }
            return b
        case "reference":
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
