import Foundation

/// Paths to the shared real-data fixtures (`../shared/fixtures` beside the repository).
public enum Fixtures {
    /// The repository's root directory, found from this source file's location.
    public static let repositoryRoot: URL = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }()

    /// `../shared/fixtures`, or `$SEGSCOPE_FIXTURES` when set.
    public static let root: URL = {
        if let env = ProcessInfo.processInfo.environment["SEGSCOPE_FIXTURES"] {
            return URL(fileURLWithPath: env)
        }
        return repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
    }()

    public static var voc: URL { root.appendingPathComponent("voc") }
    public static var pets: URL { root.appendingPathComponent("pets") }
}
