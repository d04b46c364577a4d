import ArgumentParser
import Datasets
import EngineProtocol
import Foundation
import NN
import TUI

/// `segscope data export`: the browser's list — a split filtered by a query, sorted, with its
/// per-sample columns and tags — as CSV or JSON, without the terminal (D-241).
struct DataExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a split's samples (filtered by a query, sorted, with sizes, classes, tags and an evaluation's figures) as CSV or JSON.",
        discussion: """
            The list is the one the browser shows for the same query and order (`/` and `s` in \
            `segscope tui`): e.g. --query 'person iou<0.3' --run runs/<run> --sort iou. Tags are \
            those set with x / X in the browser, kept under --runs-dir.
            """)

    @OptionGroup var dataset: DatasetArguments

    @Option(help: "The split (default: the dataset's first).")
    var split: String?

    @Option(help: "The browser's filter: dog sheep, dog | cat, !person, person>20%, id:2008, tag:NAME, tagged, iou<0.3 (with --run).")
    var query = ""

    @Option(name: .customLong("run"), help: "A run directory: per-sample IoU / acc / LQ of its latest evaluation (predictions/<it>/samples.json).")
    var runDirectory: String?

    @Option(help: "Order: name, iou, acc or lq (worst first; the last three need --run).")
    var sort = "name"

    @Option(help: "The runs folder whose tags/ holds the browser's tags.")
    var runsDir = "runs"

    @Option(help: "Write here (temp + rename) instead of to standard output.")
    var out: String?

    @Option(name: .customLong("as"), help: "csv or json (default: --out's extension, else csv).")
    var format: String?

    func run() throws {
        let exportFormat = try chosenFormat()
        let order: SampleSort
        switch sort.lowercased() {
        case "name": order = .name
        case "iou": order = .iou
        case "acc", "accuracy": order = .accuracy
        case "lq", "quality": order = .labelQuality
        default: throw ValidationError("--sort \(sort): expected name, iou, acc or lq")
        }
        if order != .name && runDirectory == nil { throw ValidationError("--sort \(sort) needs --run (the evaluation whose figures order the list)") }
        let data = try dataset.open()
        var browser = BrowserState(dataset: data)
        if let split {
            guard let index = browser.splits.firstIndex(of: split) else {
                throw ValidationError("--split \(split): \(data.name) has the splits \(browser.splits.joined(separator: ", "))")
            }
            browser.splitIndex = index
        }
        guard let chosen = browser.split else { throw ValidationError("\(data.name) has no split") }
        let ids: [String]
        do { ids = try data.ids(split: chosen) } catch { throw ValidationError("\(error)") }
        browser.ids[chosen] = .success(ids)
        for id in ids {
            do {
                browser.info[id] = SampleInfo(sample: try data.sample(id: id))
            } catch {
                browser.info[id] = .failed(id: id, error: "\(error)")
            }
        }
        if let run = runDirectory {
            let url = URL(fileURLWithPath: (run as NSString).expandingTildeInPath)
            do {
                browser.metrics = .loaded(BrowserMetrics(run: url.path, file: try RunArchive.sampleMetrics(runDirectory: url)))
            } catch {
                throw ValidationError("--run \(run): \(error)")
            }
        }
        let tagsFile = SampleTags.fileURL(runsRoot: URL(fileURLWithPath: runsDir), dataset: dataset.url)
        do {
            browser.tags = try SampleTags.read(tagsFile, dataset: dataset.url.absoluteURL.standardizedFileURL.path)
        } catch {
            throw ValidationError("\(error)")
        }
        browser.filter = query
        browser.sort = order
        browser.applyFilter()
        if let problem = browser.filterError { throw ValidationError("--query \(query): \(problem)") }
        if let note = browser.filterNote {
            printError("note: " + note.replacingOccurrences(of: BrowserState.noMetricsHint, with: "--run gives an evaluation's figures"))
        }
        let export = browser.export()
        let bytes = try export.encoded(exportFormat)
        guard let out else {
            FileHandle.standardOutput.write(bytes)
            return
        }
        let url = URL(fileURLWithPath: (out as NSString).expandingTildeInPath)
        do {
            try AtomicFile.write(bytes, to: url)
        } catch {
            throw ValidationError("\(error)")
        }
        print("wrote \(export.samples.count) of \(ids.count) samples of \(chosen) to \(url.path)")
    }

    private func chosenFormat() throws -> SampleExport.Format {
        if let format {
            guard let f = SampleExport.Format(rawValue: format.lowercased()) else {
                throw ValidationError("--as \(format): expected csv or json")
            }
            return f
        }
        return out.flatMap { SampleExport.Format(path: $0) } ?? .csv
    }
}
