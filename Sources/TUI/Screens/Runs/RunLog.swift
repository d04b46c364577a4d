import EngineProtocol
import Foundation

/// Reads a past run directory (`runs/<time>-<model>/`) for the read-only dashboard: its
/// `config.toml` and the events of `metrics.jsonl`, replayed through `RunHistory.apply` exactly
/// as a live run's events are.
public enum RunLog {
    /// The history of the run in `directory`. Lines that do not decode are reported in the
    /// run's log (file and line number) and skipped; a missing `metrics.jsonl` is an error.
    /// `model` gives the parameter counts of a model name and class count (the log does not
    /// record them; the program builds the network from the registry).
    public static func read(_ directory: URL, model: ((String, Int) -> ModelOverview?)? = nil) throws -> RunHistory {
        let layout = RunLayout(directory)
        let metricsURL = layout.metricsURL
        let text: String
        do {
            text = try String(contentsOf: metricsURL, encoding: .utf8)
        } catch {
            throw MessageError("cannot read \(metricsURL.path): \(error.localizedDescription) — is \(directory.path) a run directory (runs/<time>-<model>)?")
        }
        let configURL = layout.configURL
        var config: TrainingConfig?
        var problems: [String] = []
        if FileManager.default.fileExists(atPath: configURL.path) {
            do { config = try TrainingConfig(contentsOf: configURL) } catch { problems.append("\(configURL.path): \(error)") }
        }
        var events: [EngineEvent] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            do {
                events.append(try MessageCoding.decode(EngineEvent.self, jsonLine: trimmed))
            } catch {
                problems.append("\(metricsURL.lastPathComponent):\(index + 1): skipped, not an event (\(error))")
            }
        }
        var history = RunHistory()
        if !events.contains(where: { if case .runStarted = $0 { return true } else { return false } }) {
            history.apply(.runStarted(synthesizedStart(directory: directory, config: config, events: events, model: model)))
            history.log.removeAll()  // its "run started" line would report unknown sizes as 0
        }
        for event in events { history.apply(event) }
        // Where the run is now (a logged start may name it relative to another directory);
        // the compare view reads its saved predictions from here.
        history.started?.runDirectory = directory.path
        history.engineState = .idle
        for problem in problems { history.append(.warning, place: "", problem) }
        return history
    }

    /// What `runStarted` would have said, from the config and the logged steps (metrics.jsonl
    /// holds steps and evaluations only).
    static func synthesizedStart(directory: URL, config: TrainingConfig?, events: [EngineEvent],
                                 model: ((String, Int) -> ModelOverview?)? = nil) -> RunStarted {
        var steps: [StepReport] = []
        var classNames: [String] = []
        for e in events {
            if case .step(let s) = e { steps.append(s) }
            if case .evaluation(let r) = e, classNames.isEmpty { classNames = r.classNames }
        }
        let firstEpoch = steps.filter { $0.epoch == steps.first?.epoch }
        let perEpoch = max(1, (firstEpoch.map(\.iteration).max() ?? 1) - (firstEpoch.map(\.iteration).min() ?? 1) + 1)
        let total = steps.last?.totalIterations ?? 0
        let c = config ?? TrainingConfig()
        let summary = model?(c.model, classNames.count) ?? ModelOverview(name: c.model, trainableParameters: 0)
        return RunStarted(config: c, model: summary, runDirectory: directory.path,
                          classNames: classNames, trainSamples: 0, valSamples: 0, totalIterations: total,
                          iterationsPerEpoch: perEpoch)
    }
}

extension App {
    /// Opens `history` read-only on the dashboard, with `overlay`'s curves under it.
    public static func openPastRun(_ state: inout AppState, name: String, history: RunHistory,
                                   overlay: (name: String, history: RunHistory)? = nil) {
        state.cockpit.history = history
        state.cockpit.readOnlyName = name
        state.cockpit.overlay = overlay?.history
        state.cockpit.overlayName = overlay?.name
        if let overlay {
            // Curves of another dataset or length under this run's mislead silently: say so.
            for warning in RunComparison.overlayWarnings(history, overlay.history) {
                state.cockpit.history.append(.warning, place: "", "overlay \(overlay.name): \(warning)")
            }
        }
        state.compare = CompareState()
        state.screen = .cockpit
    }
}
