import Foundation

/// A dataset that cannot be opened or a sample that cannot be loaded. The message names the
/// file or directory and says what was expected.
public struct DatasetError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension DatasetError: LocalizedError {
    public var errorDescription: String? { message }
}

/// Options that apply when opening any dataset.
public struct DatasetOptions: Sendable, Equatable {
    /// What the Pets trimap's border value (3) becomes.
    public enum PetsBorder: String, Sendable, Codable, CaseIterable {
        /// Class 2, as the Keras Oxford-Pets example trains it (pet 0, background 1, border 2).
        case separateClass = "class"
        /// Void (255): ignored by losses and metrics.
        case void
    }

    /// Read only the first N ids of each split (d2l's `max_num`); nil reads all.
    public var limit: Int?
    public var petsBorder: PetsBorder
    /// MMSeg's `reduce_zero_label` (ADE20K): label 0 becomes void 255, every other label one
    /// less; the class list loses its first name (`RelabeledDataset`).
    public var reduceZeroLabel = false
    /// A label value ignored like 255 (mapped to 255 after `reduceZeroLabel`); 255 = none besides 255.
    public var ignoreIndex: UInt8 = LabelMap.void
    /// The class colours: the dataset's own (`auto`) or a built-in palette (`RecoloredDataset`).
    public var palette: ClassPalette = .auto

    public init(limit: Int? = nil, petsBorder: PetsBorder = .separateClass) {
        self.limit = limit
        self.petsBorder = petsBorder
    }

    /// Whether labels are rewritten after decoding.
    public var relabels: Bool { reduceZeroLabel || ignoreIndex != LabelMap.void }
}

extension SegmentationDataset {
    /// Every id of every split, each once, in split order.
    public func allIDs() throws -> [String] {
        var seen = Set<String>()
        var result: [String] = []
        for split in splits {
            for id in try ids(split: split) where seen.insert(id).inserted { result.append(id) }
        }
        return result
    }
}

/// Small file-system helpers shared by the readers.
enum DatasetFiles {
    /// The ids listed for `split` (the first `limit` of them when a limit is set); an error
    /// naming the splits there are (in their natural `order`) when `split` has no list.
    static func ids(of split: Split, in lists: [Split: [String]], order: [Split], root: URL, limit: Int?) throws -> [String] {
        guard let ids = lists[split] else {
            throw DatasetError("\(root.path): no split '\(split)' (have \(order.joined(separator: ", ")))")
        }
        if let limit { return Array(ids.prefix(max(0, limit))) }
        return ids
    }

    static func isDirectory(_ url: URL) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) && isDir.boolValue
    }

    static func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }

    /// Throws one error naming every missing file of a listed sample.
    static func requireFiles(_ urls: [URL], id: String) throws {
        let missing = urls.filter { !exists($0) }
        guard !missing.isEmpty else { return }
        throw DatasetError(missing.map { "\($0.path): no such file" }.joined(separator: "; ")
                           + " (listed sample '\(id)')")
    }

    /// Non-hidden regular file names in `dir`, sorted.
    static func files(in dir: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted()
    }

    /// Reads a text file's lines, trimmed, without blanks and `#` comments.
    static func lines(_ url: URL) throws -> [String] { try numberedLines(url).map(\.text) }

    /// `lines` with each line's 1-based number in the file.
    static func numberedLines(_ url: URL) throws -> [(number: Int, text: String)] {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw DatasetError("\(url.path): cannot read the list file (\(error.localizedDescription))")
        }
        return text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
            .map { (number: $0.offset + 1, text: $0.element.trimmingCharacters(in: .whitespacesAndNewlines)) }
            .filter { !$0.text.isEmpty && !$0.text.hasPrefix("#") }
    }

    /// The ids of a list file: the first word of each line (VOC and Pets lists carry more columns).
    static func listedIDs(_ url: URL) throws -> [String] {
        try lines(url).map { String($0.split(whereSeparator: \.isWhitespace)[0]) }
    }

    /// The lists `directory/<split>.txt` of those `splits` that have one.
    static func splitLists(_ splits: [Split], in directory: URL) throws -> [Split: [String]] {
        var lists: [Split: [String]] = [:]
        for split in splits {
            let url = directory.appendingPathComponent("\(split).txt")
            if exists(url) { lists[split] = try listedIDs(url) }
        }
        return lists
    }

    /// `ids` divided deterministically by `stableHash`: about 80 % in `first`, 20 % in `second`.
    static func hashSplit(_ ids: [String], _ first: Split, _ second: Split) -> [Split: [String]] {
        [first: ids.filter { stableHash($0) % 10 < 8 }, second: ids.filter { stableHash($0) % 10 >= 8 }]
    }

    /// FNV-1a of a string: a split assignment that stays put as files are added or removed.
    static func stableHash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in s.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01B3
        }
        return h
    }

    /// The file stem → name map of a directory's files with one of `extensions`.
    static func stems(in dir: URL, extensions: Set<String>) -> [String: String] {
        var map: [String: String] = [:]
        for name in files(in: dir) {
            let url = URL(fileURLWithPath: name)
            let ext = url.pathExtension.lowercased()
            guard extensions.contains(ext) else { continue }
            let stem = url.deletingPathExtension().lastPathComponent
            if map[stem] == nil { map[stem] = name }
        }
        return map
    }
}
