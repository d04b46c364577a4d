import Dispatch
import Foundation

/// What `segscope data info` reports: counts per split, image sizes, per-class pixel share and
/// image counts, each image's class set, and the samples that failed with reasons.
public struct DatasetStatistics: Codable, Sendable {
    public struct SplitCount: Codable, Sendable, Equatable {
        public var split: String
        public var samples: Int
    }

    public struct SizeCount: Codable, Sendable, Equatable {
        public var width: Int
        public var height: Int
        public var images: Int
    }

    public struct ClassStat: Codable, Sendable, Equatable {
        public var index: Int
        public var name: String
        /// Labelled pixels of this class.
        public var pixels: Int
        /// Share of all non-void pixels.
        public var pixelShare: Double
        /// Images in which the class appears.
        public var images: Int
    }

    public struct ImageEntry: Codable, Sendable, Equatable {
        public var id: String
        public var width: Int
        public var height: Int
        /// Label values present, ascending (255 = void included when present).
        public var classes: [Int]
    }

    /// A sample that could not be loaded, or loaded with a problem.
    public struct Problem: Codable, Sendable, Equatable {
        public var id: String
        public var reason: String
        public init(id: String, reason: String) {
            self.id = id
            self.reason = reason
        }
    }

    public var name: String
    public var format: String
    public var root: String
    public var classNames: [String]
    public var numClasses: Int
    public var splits: [SplitCount]
    /// Distinct samples over all splits.
    public var samples: Int
    /// Samples decoded without error.
    public var decoded: Int
    /// Distinct image sizes, most common first.
    public var imageSizes: [SizeCount]
    public var classes: [ClassStat]
    public var totalPixels: Int
    public var voidPixels: Int
    public var images: [ImageEntry]
    /// Samples that failed to load.
    public var bad: [Problem]
    /// Samples that loaded but with a problem (unknown colours, out-of-range values).
    public var warnings: [Problem]
    public var seconds: Double

    public func count(split: String) -> Int? { splits.first { $0.split == split }?.samples }

    /// Decodes every sample of every split (in parallel on `threads` threads) and tallies.
    public static func compute(_ dataset: any SegmentationDataset, threads: Int = ProcessInfo.processInfo.activeProcessorCount)
        throws -> DatasetStatistics {
        let start = Date()
        var splitCounts: [SplitCount] = []
        for split in dataset.splits { splitCounts.append(SplitCount(split: split, samples: try dataset.ids(split: split).count)) }
        let ids = try dataset.allIDs()
        let results = ResultSlots<PerSample>(count: ids.count)
        let workers = max(1, min(threads, ids.count))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for i in stride(from: worker, to: ids.count, by: workers) {
                results.set(i, PerSample.measure(dataset, id: ids[i]))
            }
        }
        var sizes: [String: SizeCount] = [:]
        var pixels = [Int](repeating: 0, count: 256)
        var imagesWith = [Int](repeating: 0, count: 256)
        var entries: [ImageEntry] = []
        var bad: [Problem] = [], warnings: [Problem] = []
        var total = 0
        for (i, id) in ids.enumerated() {
            guard let result = results.get(i) else { continue }
            switch result {
            case .failed(let reason):
                bad.append(Problem(id: id, reason: reason))
            case .loaded(let width, let height, let histogram, let notes):
                sizes["\(width)x\(height)", default: SizeCount(width: width, height: height, images: 0)].images += 1
                var present: [Int] = []
                for v in 0..<256 where histogram[v] > 0 {
                    pixels[v] += histogram[v]
                    imagesWith[v] += 1
                    present.append(v)
                }
                total += width * height
                entries.append(ImageEntry(id: id, width: width, height: height, classes: present))
                warnings += notes.map { Problem(id: id, reason: $0) }
            }
        }
        let void = pixels[255]
        let labelled = max(1, total - void)
        let names = dataset.classNames
        let classes = names.indices.map {
            ClassStat(index: $0, name: names[$0], pixels: pixels[$0], pixelShare: Double(pixels[$0]) / Double(labelled),
                      images: imagesWith[$0])
        }
        return DatasetStatistics(
            name: dataset.name, format: dataset.format.rawValue, root: rootPath(dataset), classNames: names,
            numClasses: names.count, splits: splitCounts, samples: ids.count, decoded: entries.count,
            imageSizes: sizes.values.sorted { ($0.images, $1.width * $1.height) > ($1.images, $0.width * $0.height) },
            classes: classes, totalPixels: total, voidPixels: void, images: entries, bad: bad, warnings: warnings,
            seconds: Date().timeIntervalSince(start))
    }

    static func rootPath(_ dataset: any SegmentationDataset) -> String {
        switch dataset {
        case let d as VOCDataset: return d.root.path
        case let d as PetsDataset: return d.root.path
        case let d as FolderDataset: return d.root.path
        default: return ""
        }
    }

    /// A human-readable report.
    public var text: String {
        var lines = ["\(name)", "format \(format), \(numClasses) classes, \(samples) samples ("
                     + splits.map { "\($0.split) \($0.samples)" }.joined(separator: ", ") + ")"]
        if decoded > 0 {
            let widths = images.map(\.width), heights = images.map(\.height)
            lines.append("image sizes: \(imageSizes.count) distinct; width \(widths.min() ?? 0)…\(widths.max() ?? 0), "
                         + "height \(heights.min() ?? 0)…\(heights.max() ?? 0)")
            for size in imageSizes.prefix(8) {
                let bar = String(repeating: "█", count: max(1, size.images * 30 / max(1, imageSizes[0].images)))
                lines.append(String(format: "  %4dx%-4d %5d  ", size.width, size.height, size.images) + bar)
            }
            if imageSizes.count > 8 { lines.append("  … \(imageSizes.count - 8) more sizes") }
            lines.append("")
            lines.append("class                 pixel share   images")
            for c in classes {
                let padded = c.name.padding(toLength: 20, withPad: " ", startingAt: 0)
                lines.append(String(format: "%3d %@ %8.2f %%  %7d", c.index, padded, 100 * c.pixelShare, c.images))
            }
            lines.append(String(format: "void (255): %.2f %% of all pixels", 100 * Double(voidPixels) / Double(max(1, totalPixels))))
        }
        if !bad.isEmpty {
            lines.append("")
            lines.append("\(bad.count) bad sample(s):")
            lines += bad.map { "  \($0.id): \($0.reason)" }
        }
        if !warnings.isEmpty {
            lines.append("")
            lines.append("\(warnings.count) warning(s):")
            lines += warnings.map { "  \($0.id): \($0.reason)" }
        }
        return lines.joined(separator: "\n")
    }
}

/// One sample's contribution.
enum PerSample: Sendable {
    case loaded(width: Int, height: Int, histogram: [Int], warnings: [String])
    case failed(String)

    static func measure(_ dataset: any SegmentationDataset, id: String) -> PerSample {
        do {
            let sample = try dataset.sample(id: id)
            var histogram = [Int](repeating: 0, count: 256)
            for v in sample.label.values { histogram[Int(v)] += 1 }
            return .loaded(width: sample.image.width, height: sample.image.height, histogram: histogram,
                           warnings: sample.warnings)
        } catch {
            return .failed("\(error)")
        }
    }
}

/// Fixed slots concurrent workers fill, each index written by one worker.
final class ResultSlots<T: Sendable>: @unchecked Sendable {
    private var slots: [T?]
    private let lock = NSLock()
    init(count: Int) { slots = [T?](repeating: nil, count: count) }
    func set(_ i: Int, _ value: T) { lock.withLock { slots[i] = value } }
    func get(_ i: Int) -> T? { lock.withLock { slots[i] } }
}
