import Datasets
import Foundation

/// What the preview pane shows.
public enum PreviewMode: String, Sendable, CaseIterable {
    /// Image and mask side by side.
    case split
    case image
    case mask
    case overlay

    var next: PreviewMode {
        let all = PreviewMode.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }
}

/// A sample being shown: loading, loaded, or failed with the reader's message.
public enum SampleSlot: Sendable {
    case loading
    case loaded(Sample)
    case failed(String)
}

/// State of the dataset browser.
public struct BrowserState: Sendable {
    public var datasetName: String
    public var classNames: [String]
    public var palette: [RGB]
    public var splits: [Split]
    public var splitIndex = 0
    /// Ids per split once read; a split that failed to list holds its error.
    public var ids: [Split: Result<[String], MessageError>] = [:]
    /// Scan results by sample id.
    public var info: [String: SampleInfo] = [:]
    /// Splits whose scan finished.
    public var scannedSplits: Set<Split> = []
    public var filter = ""
    public var editingFilter = false
    /// Why `filter` does not parse (SampleQuery), shown in the list; nil when it does.
    public private(set) var filterError: String?
    /// What the footer says about the filter: how many samples its iou / acc / lq terms could
    /// not score (those terms are false for them); nil when every sample was scored.
    public private(set) var filterNote: String?
    /// Indices into the split's ids that pass the filter.
    public private(set) var visible: [Int] = []
    /// Position of the selection in `visible`.
    public var selection = 0
    /// First visible row of the list.
    public var scroll = 0
    public var mode: PreviewMode = .split
    public var opacity = 0.5
    /// Enter: the preview takes the whole width.
    public var zoomed = false
    /// Recently loaded samples (the current one and a few neighbours), newest last.
    public var samples: [(id: String, slot: SampleSlot)] = []
    public static let sampleCacheSize = 6
    /// An evaluation's per-sample figures shown as list columns (`v`), and the list's order.
    public var metrics: BrowserMetricsSlot?
    public var sort: SampleSort = .name
    /// Tags on samples (`x`, `X`; `tag:NAME` / `tagged` in the filter) and the file they are
    /// kept in (nil: not kept, as in tests that do not ask for it) (D-241).
    public var tags: SampleTags
    public var tagsFile: URL?
    /// Why the tags file could not be read: tagging is off so the file is never overwritten.
    public var tagsProblem: String?
    /// The tag `x` toggles; `X` names another.
    public var currentTag = SampleTags.defaultName
    /// The tag-name prompt of `X` while it is open.
    public var tagPrompt: String?
    /// A passing message for the footer (a tag set, an export written, a write that failed);
    /// cleared by the next key.
    public var notice: String?

    public init(dataset: any SegmentationDataset) {
        datasetName = dataset.name
        classNames = dataset.classNames
        palette = dataset.palette
        splits = dataset.splits
        tags = SampleTags(dataset: dataset.name)
    }

    public init(name: String, classNames: [String], palette: [RGB], splits: [Split]) {
        datasetName = name
        self.classNames = classNames
        self.palette = palette
        self.splits = splits
        tags = SampleTags(dataset: name)
    }

    /// Rows the list gives to the metrics' column header (or their error) above the samples.
    public var listHeaderRows: Int {
        switch metrics {
        case nil: return 0
        case .failed?: return 3
        case .loading?, .loaded?: return 2
        }
    }

    public var split: Split? { splits.indices.contains(splitIndex) ? splits[splitIndex] : nil }

    /// Ids of the current split ([] while loading or after an error).
    public var splitIDs: [String] {
        guard let split, case .success(let list)? = ids[split] else { return [] }
        return list
    }

    public var selectedID: String? {
        let all = splitIDs
        guard visible.indices.contains(selection) else { return nil }
        let i = visible[selection]
        return all.indices.contains(i) ? all[i] : nil
    }

    public func slot(for id: String) -> SampleSlot? { samples.last { $0.id == id }?.slot }

    /// Name of class `v` ("void" for 255, "class v" beyond the list).
    public func className(_ v: Int) -> String {
        if v == Int(LabelMap.void) { return "void" }
        return classNames.indices.contains(v) ? classNames[v] : "class \(v)"
    }

    /// Class names present in a scanned sample, background and void left out.
    public func objectClasses(_ info: SampleInfo) -> [String] {
        info.present.filter { $0 != Int(LabelMap.void) && !($0 == 0 && classNames.first == "background") }
            .map { className($0) }
    }

    /// Recomputes `visible` from the filter, a `SampleQuery` (`dog sheep`, `dog | cat`,
    /// `!person`, `person>20%`, `id:2008`, `iou<0.3`; a bare word matches an id substring or a
    /// class-name prefix). A query that does not parse shows nothing and sets `filterError`.
    /// Keeps the selected id when possible.
    public mutating func applyFilter() {
        let previous = selectedID
        let all = splitIDs
        let scores = metrics?.loaded
        filterNote = nil
        do {
            let query = try SampleQuery.parse(filter, classNames: classNames)
            filterError = nil
            if query == .all {
                visible = Array(all.indices)
            } else {
                visible = all.indices.filter { i in
                    let id = all[i]
                    let scan = info[id]
                    return query.matches(id: id, info: scan, objectClasses: scan.map { objectClasses($0) } ?? [],
                                         metrics: scores?.byID[id], tags: tags.names(of: id))
                }
            }
            filterNote = Self.unscoredNote(query.figures, ids: all, metrics: scores, split: split)
        } catch {
            filterError = "\(error)"
            visible = []
        }
        visible = Self.sorted(visible, ids: all, by: sort, metrics: metrics?.loaded)
        if let previous, let i = visible.firstIndex(where: { all[$0] == previous }) {
            selection = i
        } else {
            selection = 0
            scroll = 0
        }
    }

    /// How the unscored note says to load figures (`segscope data export` says `--run`).
    public static let noMetricsHint = "v loads an evaluation"

    /// Says how many of `ids` lack a figure the query compares (nil: none, or no figure term).
    static func unscoredNote(_ figures: Set<SampleFigure>, ids: [String], metrics: BrowserMetrics?, split: Split?) -> String? {
        guard !figures.isEmpty else { return nil }
        let names = figures.sorted().map(\.rawValue).joined(separator: " / ")
        guard let metrics else { return "no sample scored: \(names) terms false (\(noMetricsHint))" }
        let unscored = ids.filter { id in figures.contains { $0.value(metrics.byID[id]) == nil } }.count
        guard unscored > 0 else { return nil }
        let other = metrics.file.split != split ? " (scored: \(metrics.file.split))" : ""
        return "\(unscored) unscored: \(names) terms false\(other)"
    }

    /// The footer's status text: a passing notice, else why tags are off, else the filter's note.
    public var status: String? { notice ?? tagsProblem.map { "tags off: " + $0 } ?? filterNote }

    /// Scan progress of the current split: (scanned, total).
    public var scanProgress: (done: Int, total: Int) {
        let all = splitIDs
        return (all.reduce(0) { $0 + (info[$1] != nil ? 1 : 0) }, all.count)
    }

    /// Pixel counts per label value summed over the scanned samples of the split, and the
    /// number of images each value appears in.
    public var splitClassTotals: (pixels: [Int], images: [Int]) {
        var pixels = [Int](repeating: 0, count: 256)
        var images = [Int](repeating: 0, count: 256)
        for id in splitIDs {
            guard let info = info[id], info.counts.count == 256 else { continue }
            for v in 0..<256 where info.counts[v] > 0 {
                pixels[v] += info.counts[v]
                images[v] += 1
            }
        }
        return (pixels, images)
    }

    mutating func store(_ id: String, _ slot: SampleSlot) {
        samples.removeAll { $0.id == id }
        samples.append((id, slot))
        if samples.count > Self.sampleCacheSize { samples.removeFirst(samples.count - Self.sampleCacheSize) }
    }
}
