import Foundation

/// A new empty directory `segscope-<label>-<uuid>` under the system's temporary directory, for a
/// test's files; remove it in `tearDown`.
public func makeTemporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
