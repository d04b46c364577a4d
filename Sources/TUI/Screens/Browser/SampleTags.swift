import Foundation

/// Tags the user put on a dataset's samples (`x` in the browser), kept in one small JSON file per
/// dataset under the runs root: `<runs>/tags/<dataset folder>-<hash of its path>.json` (D-240).
public struct SampleTags: Codable, Sendable, Equatable {
    public static let currentVersion = 1
    /// The tag `x` toggles until `X` names another.
    public static let defaultName = "marked"
    public var version = Self.currentVersion
    /// The dataset's directory, as the file was written for (a reader's check, not a key).
    public var dataset: String
    /// Tag names per sample id, each list sorted; a sample without tags has no entry.
    public var samples: [String: [String]] = [:]

    public init(dataset: String) { self.dataset = dataset }

    public var isEmpty: Bool { samples.isEmpty }

    public func names(of id: String) -> [String] { samples[id] ?? [] }

    public func has(_ id: String, _ name: String) -> Bool { samples[id]?.contains(name) ?? false }

    /// Every tag name in use, sorted.
    public var allNames: [String] { Array(Set(samples.values.joined())).sorted() }

    /// Adds or removes `name` on `id`; returns whether the sample now has it.
    @discardableResult
    public mutating func toggle(_ id: String, _ name: String) -> Bool {
        var names = samples[id] ?? []
        let had = names.contains(name)
        if had { names.removeAll { $0 == name } } else { names.append(name); names.sort() }
        samples[id] = names.isEmpty ? nil : names
        return !had
    }

    /// Why `name` cannot be a tag (nil: it can): a query reads `tag:NAME` as one word.
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "a tag needs a name" }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        if name.unicodeScalars.contains(where: { !allowed.contains($0) }) {
            return "“\(name)”: a tag name is letters, digits, - _ and . (no spaces)"
        }
        return nil
    }

    // MARK: The file

    /// Where the tags of the dataset at `dataset` live under `runsRoot`.
    public static func fileURL(runsRoot: URL, dataset: URL) -> URL {
        let absolute = dataset.absoluteURL.standardizedFileURL
        let path = absolute.path
        let folder = absolute.lastPathComponent
        let slug = String(folder.unicodeScalars.map { CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0) ? Character($0) : "_" })
        // FNV-1a of the path: stable across processes (Swift's Hasher is seeded per process).
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return runsRoot.appendingPathComponent("tags").appendingPathComponent("\(slug.isEmpty ? "dataset" : slug)-\(String(format: "%08llx", hash & 0xffff_ffff)).json")
    }

    /// Reads the tags at `url`; a missing file is no tags. A damaged or newer file is an error
    /// naming it (the browser then leaves it untouched).
    public static func read(_ url: URL, dataset: String) throws -> SampleTags {
        guard FileManager.default.fileExists(atPath: url.path) else { return SampleTags(dataset: dataset) }
        let tags: SampleTags
        do {
            tags = try JSONDecoder().decode(SampleTags.self, from: Data(contentsOf: url))
        } catch {
            throw MessageError("cannot read the tags: \(url.path) is damaged (\(error.localizedDescription)); move it away to start afresh")
        }
        guard tags.version <= currentVersion else {
            throw MessageError("\(url.path): tags version \(tags.version) is newer than this segscope reads (\(currentVersion))")
        }
        return tags
    }

    /// Writes the tags to `url` (temp + rename), creating its folder.
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicText.write(encoder.encode(self) + Data("\n".utf8), to: url)
    }
}

/// Files the front writes (tags, exports): to a temporary file beside the target, then renamed
/// over it, so a reader never sees half a file.
public enum AtomicText {
    public static func write(_ data: Data, to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw MessageError("cannot create \(directory.path): \(error.localizedDescription)")
        }
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))")
        do {
            try data.write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else {
                throw MessageError("cannot rename \(temporary.lastPathComponent) to \(url.path): \(String(cString: strerror(errno)))")
            }
        } catch let error as MessageError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw MessageError("cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}
