import ArgumentParser
import Foundation
import Training

/// `segscope runs`: the live and past runs under a runs directory.
struct Runs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List live and past runs: state, model, dataset, progress, best val mIoU.",
        discussion: """
            A run is live while its process serves RUN/engine.sock (segscope attach opens it); \
            a past run's state comes from its metrics.jsonl: complete when it reached its last \
            iteration, otherwise ended early (stopped, killed or failed).
            """)

    @Option(help: "The directory that holds run directories.") var runsDir = "runs"
    @Flag(help: "One JSON object per run instead of the table.") var json = false

    func run() throws {
        let root = URL(fileURLWithPath: (runsDir as NSString).expandingTildeInPath)
        let entries: [RunEntry]
        do { entries = try RunArchive.scan(root) } catch { throw ValidationError("\(error)") }
        if json {
            for e in entries {
                var object: [String: Any] = ["name": e.name, "path": e.path, "state": Self.state(e), "live": e.liveState != nil,
                                             "model": e.model, "dataset": e.dataset, "iterations": e.iterations,
                                             "total_iterations": e.totalIterations, "evaluations": e.evaluations]
                if let best = e.bestMIoU { object["best_mIoU"] = best }
                if let problem = e.problem { object["problem"] = problem }
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                print(String(decoding: data, as: UTF8.self))
            }
            return
        }
        guard !entries.isEmpty else {
            print("no runs under \(root.path)")
            return
        }
        let rows = entries.map { e -> [String] in
            let progress = e.totalIterations > 0
                ? "\(e.iterations)/\(e.totalIterations) (\(100 * e.iterations / max(1, e.totalIterations))%)" : "\(e.iterations)"
            return [e.name, Self.state(e), e.model, e.dataset, progress, e.bestMIoU.map { String(format: "%.4f", $0) } ?? "–"]
        }
        print(MetricsTable.table(header: ["run", "state", "model", "dataset", "progress", "best mIoU"], rows: rows,
                                 rightAligned: [false, false, false, false, true, true]))
        if entries.contains(where: { $0.liveState != nil }) { print("attach to a live run: segscope attach RUN_DIR") }
    }

    static func state(_ e: RunEntry) -> String {
        if let live = e.liveState { return "live, \(live.rawValue)" }
        if e.problem != nil { return "unreadable" }
        if e.totalIterations > 0 && e.iterations >= e.totalIterations { return "complete" }
        return "ended early"
    }
}
