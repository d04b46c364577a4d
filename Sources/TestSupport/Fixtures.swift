import Foundation

/// Paths to the shared real-data fixtures (`../shared/fixtures` beside the repository).
public enum Fixtures {
    /// The repository's root directory, found from this source file's location.
    public static let repositoryRoot: URL = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }()

    /// `$SEGSCOPE_FIXTURES` when set, else `../shared/fixtures` beside the repository, else the
    /// workplace's `/work/shared/fixtures` (a clone made elsewhere still finds the fixtures).
    public static let root: URL = {
        if let env = ProcessInfo.processInfo.environment["SEGSCOPE_FIXTURES"] {
            return URL(fileURLWithPath: env)
        }
        let candidates = [
            repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures"),
            URL(fileURLWithPath: "/work/shared/fixtures"),
        ]
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("voc").path) }
            ?? candidates[0]
    }()

    public static var voc: URL { root.appendingPathComponent("voc") }
    public static var pets: URL { root.appendingPathComponent("pets") }
}
