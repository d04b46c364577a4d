import Foundation

/// A run archive's error: what could not be read, naming the file.
public struct ArchiveError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// One run directory as `RunArchive.scan` lists it (the runs browser, `segscope runs`).
public struct RunEntry: Sendable, Equatable {
    /// Directory name, e.g. `20261121-170000-xunet`.
    public var name: String
    public var path: String
    public var model: String
    /// "2026-11-21 17:00", from the name's time stamp or the log's modification time.
    public var date: String
    /// Last logged iteration and the run's planned total (0 when unknown).
    public var iterations: Int
    public var totalIterations: Int
    public var evaluations: Int
    public var bestMIoU: Double?
    /// Why the run could not be read (its other fields are then empty).
    public var problem: String?

    public init(name: String, path: String, model: String, date: String, iterations: Int, totalIterations: Int,
                evaluations: Int, bestMIoU: Double?, problem: String? = nil) {
        self.name = name
        self.path = path
        self.model = model
        self.date = date
        self.iterations = iterations
        self.totalIterations = totalIterations
        self.evaluations = evaluations
        self.bestMIoU = bestMIoU
        self.problem = problem
    }
}

/// Reads past runs (the runs root and one run's files) through `RunLayout`, the names its
/// writer (Training's `RunDirectory`) uses: the summaries of `runs/*`, a run's config and
/// events, its saved sample predictions (`RunArchive+Predictions.swift`). Errors are
/// `ArchiveError`s naming the file.
public enum RunArchive {
    /// Every subdirectory of `root` holding a `metrics.jsonl`, newest first. A missing root is an
    /// empty list (no run was made here yet); an unreadable one is an error.
    public static func scan(_ root: URL) throws -> [RunEntry] {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: root.path, isDirectory: &isDirectory) else { return [] }
        guard isDirectory.boolValue else { throw ArchiveError("\(root.path) is not a directory (expected the runs directory)") }
        let names: [String]
        do {
            names = try fm.contentsOfDirectory(atPath: root.path)
        } catch {
            throw ArchiveError("cannot list \(root.path): \(error.localizedDescription)")
        }
        var entries: [RunEntry] = []
        for name in names {
            let dir = root.appendingPathComponent(name)
            guard fm.fileExists(atPath: RunLayout(dir).metricsURL.path) else { continue }
            entries.append(summary(of: dir))
        }
        return entries.sorted { ($0.date, $0.name) > ($1.date, $1.name) }
    }

    /// The summary of one run directory: model from `config.toml`, progress and best mIoU from
    /// the events of `metrics.jsonl` (lines that do not decode are skipped, as `RunLog` does).
    public static func summary(of directory: URL) -> RunEntry {
        let name = directory.lastPathComponent
        let layout = RunLayout(directory)
        let metrics = layout.metricsURL
        var entry = RunEntry(name: name, path: directory.path, model: modelFromName(name), date: date(of: directory),
                             iterations: 0, totalIterations: 0, evaluations: 0, bestMIoU: nil)
        if let config = try? TrainingConfig(contentsOf: layout.configURL) { entry.model = config.model }
        guard let text = try? String(contentsOf: metrics, encoding: .utf8) else {
            entry.problem = "cannot read \(metrics.path)"
            return entry
        }
        for line in text.split(separator: "\n") {
            guard let event = try? MessageCoding.decode(EngineEvent.self, jsonLine: String(line)) else { continue }
            switch event {
            case .step(let s):
                entry.iterations = max(entry.iterations, s.iteration)
                entry.totalIterations = s.totalIterations
            case .evaluation(let e):
                entry.evaluations += 1
                entry.iterations = max(entry.iterations, e.iteration)
                if e.metrics.mIoU.isFinite { entry.bestMIoU = max(entry.bestMIoU ?? -1, e.metrics.mIoU) }
            default:
                break
            }
        }
        return entry
    }

    /// `20261121-170000-xunet` → `xunet` (the run directory's naming); "?" otherwise.
    static func modelFromName(_ name: String) -> String { RunLayout.model(fromName: name) ?? "?" }

    /// The time stamp of a `YYYYMMDD-HHMMSS-…` name, else the log's modification time.
    static func date(of directory: URL) -> String {
        let name = directory.lastPathComponent
        let chars = Array(name)
        if chars.count >= 15, chars[8] == "-", chars[0..<8].allSatisfy(\.isNumber), chars[9..<15].allSatisfy(\.isNumber) {
            let s = String(chars[0..<15])
            func part(_ a: Int, _ b: Int) -> String { String(Array(s)[a..<b]) }
            return "\(part(0, 4))-\(part(4, 6))-\(part(6, 8)) \(part(9, 11)):\(part(11, 13))"
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: RunLayout(directory).metricsURL.path)
        guard let modified = attributes?[.modificationDate] as? Date else { return "" }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy-MM-dd HH:mm"
        return f.string(from: modified)
    }
}
