import Datasets
import EngineProtocol
import Foundation

/// The browser's list as it is shown — filtered and sorted, with its per-sample columns — for
/// `e` / `E` and `segscope data export` (D-241).
public struct SampleExport: Codable, Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable {
        case csv, json

        /// From a file name's extension (nil for another one).
        public init?(path: String) {
            self.init(rawValue: URL(fileURLWithPath: path).pathExtension.lowercased())
        }
    }

    public struct Row: Codable, Sendable, Equatable {
        public var id: String
        /// nil until the sample was scanned (or when it could not be read).
        public var width: Int?
        public var height: Int?
        /// Object classes present (background and void left out).
        public var classes: [String]
        public var tags: [String]
        /// The evaluation's figures (nil: no evaluation loaded, not scored, or undefined).
        public var iou: Double?
        public var acc: Double?
        public var lq: Double?
        /// Pixels of the sorted confusion cell (only under a confusion sort).
        public var confusedPixels: Int?

        enum CodingKeys: String, CodingKey {
            case id, width, height, classes, tags, iou, acc, lq, confusedPixels = "confused_pixels"
        }
    }

    public struct Evaluation: Codable, Sendable, Equatable {
        public var run: String
        public var iteration: Int
        public var split: String
    }

    public static let currentVersion = 1
    public var version = Self.currentVersion
    public var dataset: String
    public var split: String
    /// The filter as typed ("" for none) and the order's title.
    public var query: String
    public var sort: String
    public var evaluation: Evaluation?
    public var samples: [Row]

    enum CodingKeys: String, CodingKey { case version, dataset, split, query, sort, evaluation, samples }

    public func encoded(_ format: Format) throws -> Data {
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return try encoder.encode(self) + Data("\n".utf8)
        case .csv:
            return Data(csv.utf8)
        }
    }

    /// One header line, then one line per sample; lists are space-separated, missing figures empty.
    public var csv: String {
        let confusion = samples.contains { $0.confusedPixels != nil }
        var header = ["id", "width", "height", "classes", "tags", "iou", "acc", "lq"]
        if confusion { header.append("confused_pixels") }
        var lines = [header.joined(separator: ",")]
        func figure(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "" }
        for r in samples {
            var fields = [r.id, r.width.map(String.init) ?? "", r.height.map(String.init) ?? "",
                          r.classes.joined(separator: " "), r.tags.joined(separator: " "),
                          figure(r.iou), figure(r.acc), figure(r.lq)]
            if confusion { fields.append(r.confusedPixels.map(String.init) ?? "") }
            lines.append(fields.map(Self.csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// RFC 4180 quoting: a field with a comma, quote or line break is quoted, quotes doubled.
    static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension BrowserState {
    /// The list as shown: `visible` in its order, with the columns the browser knows.
    public func export() -> SampleExport {
        let all = splitIDs
        let metrics = self.metrics?.loaded
        let rows = visible.map { i -> SampleExport.Row in
            let id = all[i]
            let scan = info[id].flatMap { $0.error == nil ? $0 : nil }
            let m = metrics?.byID[id]
            var confused: Int?
            if case .confusion(let t, let p) = sort { confused = m?.confused(truth: t, predicted: p) }
            return SampleExport.Row(id: id, width: scan?.width, height: scan?.height, classes: scan.map { objectClasses($0) } ?? [],
                                    tags: tags.names(of: id), iou: SampleFigure.iou.value(m), acc: SampleFigure.acc.value(m),
                                    lq: SampleFigure.lq.value(m), confusedPixels: confused)
        }
        return SampleExport(dataset: datasetName, split: split ?? "", query: filter, sort: sort.title(metrics),
                            evaluation: metrics.map { .init(run: $0.run, iteration: $0.file.iteration, split: $0.file.split) },
                            samples: rows)
    }
}
