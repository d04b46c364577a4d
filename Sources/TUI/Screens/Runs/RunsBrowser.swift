import EngineProtocol
import Foundation

/// State of the runs screen: the browser, once opened, the directory it lists and the screen it
/// returns to.
public struct RunsScreenState: Sendable {
    public var browser: RunsBrowserState?
    public var root = "runs"
    /// The screen the runs browser returns to.
    public var returnTo: Screen?

    public init() {}
}

/// State of the runs browser.
public struct RunsBrowserState: Sendable {
    /// The directory holding run directories.
    public var root: String
    public var entries: Result<[RunEntry], MessageError>?
    public var selection = 0
    public var scroll = 0
    /// The run picked with `o`, drawn under the one opened next.
    public var overlayPath: String?
    /// A run being read (Enter pressed).
    public var opening: String?
    /// The config diff of the selected run and the overlay-picked one is shown (`d`).
    public var showDiff = false

    public init(root: String) { self.root = root }

    public var list: [RunEntry] { (try? entries?.get()) ?? [] }
    public var selected: RunEntry? { list.indices.contains(selection) ? list[selection] : nil }
    /// The run picked with `o`, when it is listed.
    public var picked: RunEntry? { overlayPath.flatMap { path in list.first { $0.path == path } } }
}

/// What runs-browser keys do.
public enum RunsAction: Sendable, Equatable {
    case up, down, open, overlay, diff, refresh, back, help, quit
}

extension App {
    public static let runsKeys = KeyTable<RunsAction>([
        KeyBinding([(.up, .up), (.down, .down), (.char("k"), .up), (.char("j"), .down)], label: "↑↓ j k",
                   footer: "run", help: "Previous / next run"),
        KeyBinding([.enter], footer: "open", help: "Open the run read-only on the dashboard (with the overlay run's curves, if one is picked); attach to a live one",
                   action: .open, disabledReason: { $0.runs.browser?.selected == nil ? "no run to open" : nil }),
        KeyBinding([.char("o")], footer: "overlay", help: "Pick / drop this run as the overlay: its curves are drawn, dimmed, under the run opened next",
                   action: .overlay, disabledReason: { $0.runs.browser?.selected == nil ? "no run to pick" : nil }),
        KeyBinding([.char("d")], footer: "diff", help: "Show / hide how the selected run's configuration differs from the one picked with o",
                   action: .diff, disabledReason: { diffUnavailable($0) }),
        KeyBinding([.char("g")], footer: "reload", help: "Read the runs directory again", action: .refresh),
        KeyBinding([.escape, .char("b")], label: "Esc", footer: "back", help: "Back to the screen before", action: .back),
        KeyBinding([.char("?")], footer: "help", help: "Show / hide this help", action: .help),
        KeyBinding([.char("q"), .ctrl("c")], label: "q", footer: "quit", help: "Quit (asks first while a run is in progress)", action: .quit),
    ])

    /// Why past runs cannot be opened now: the dashboard shows one run, and a live one must
    /// not be replaced.
    static func runsUnavailable(_ state: AppState) -> String? {
        state.cockpit.history.isActive && !state.cockpit.isReadOnly ? "a run is in progress; its dashboard cannot be replaced" : nil
    }

    /// Whether a run in this state is still training (a finished one's process is only ending).
    static func isLive(_ state: EngineState) -> Bool { state != .idle }

    /// The status column of a run a process serves.
    static func liveLabel(_ state: EngineState) -> String? {
        switch state {
        case .running: return "live"
        case .paused: return "paused"
        case .stopping: return "ending"
        case .idle: return nil
        }
    }

    /// Why there is no config diff to show: it needs a run picked with `o` and another selected.
    static func diffUnavailable(_ state: AppState) -> String? {
        guard let runs = state.runs.browser, let picked = runs.picked else { return "pick a second run with o first" }
        guard let selected = runs.selected, selected.path != picked.path else { return "select a run other than the picked one (◆)" }
        return selected.config == nil || picked.config == nil ? "a run has no readable config.toml" : nil
    }

    /// The runs browser, listing `state.runs.root`.
    static func openRuns(_ state: inout AppState) -> [Command] {
        let root = state.runs.root
        state.runs.returnTo = state.screen
        if state.runs.browser?.root != root { state.runs.browser = RunsBrowserState(root: root) }
        state.runs.browser?.opening = nil
        state.screen = .runs
        return [.cockpit(.scanRuns(root: root))]
    }

    static func updateRuns(_ state: inout AppState, _ msg: Msg) -> [Command] {
        guard case .key(let key) = msg, var runs = state.runs.browser else { return [] }
        if state.cockpit.quitQuestion != nil { return answerQuit(&state, key) }
        guard let binding = runsKeys.binding(for: key), let action = binding.action(for: key) else { return [] }
        if let reason = binding.disabledReason(state) {
            state.cockpit.notice = "\(binding.label): \(reason)"
            return []
        }
        state.cockpit.notice = nil
        let count = runs.list.count
        switch action {
        case .up: runs.selection = max(0, runs.selection - 1)
        case .down: runs.selection = max(0, min(count - 1, runs.selection + 1))
        case .open:
            guard let entry = runs.selected else { break }
            if let reason = runsUnavailable(state) {
                state.cockpit.notice = reason
                break
            }
            runs.opening = entry.path
            if entry.liveState.map(isLive) == true {
                // A run a process still serves: watch and steer it (D-261).
                state.runs.browser = runs
                return [.cockpit(.attachRun(socket: RunLayout(URL(fileURLWithPath: entry.path)).socketURL.path, name: entry.name))]
            }
            let overlay = runs.overlayPath == entry.path ? nil : runs.overlayPath
            state.runs.browser = runs
            return [.cockpit(.openRun(path: entry.path, overlay: overlay))]
        case .overlay:
            guard let entry = runs.selected else { break }
            runs.overlayPath = runs.overlayPath == entry.path ? nil : entry.path
            if runs.overlayPath == nil { runs.showDiff = false }
        case .diff:
            runs.showDiff.toggle()
        case .refresh:
            state.runs.browser = runs
            return [.cockpit(.scanRuns(root: runs.root))]
        case .back:
            state.screen = state.runs.returnTo ?? .browser
        case .help:
            state.showHelp = true
        case .quit:
            state.runs.browser = runs
            return requestQuit(&state)
        }
        let rows = max(1, state.rows - 6)
        if runs.selection < runs.scroll { runs.scroll = runs.selection }
        if runs.selection >= runs.scroll + rows { runs.scroll = runs.selection - rows + 1 }
        state.runs.browser = runs
        return []
    }

    /// Results of the runs browser's commands.
    static func runsEvent(_ event: CockpitEvent, _ state: inout AppState) {
        switch event {
        case .runs(let root, let result):
            guard var runs = state.runs.browser, runs.root == root else { return }
            runs.entries = result
            runs.selection = max(0, min(runs.selection, runs.list.count - 1))
            runs.scroll = min(runs.scroll, runs.selection)
            state.runs.browser = runs
        case .attached(let name, let result):
            state.runs.browser?.opening = nil
            switch result {
            case .success(let attachment):
                // The run's snapshot rebuilds the history (its runStarted resets it).
                state.cockpit.readOnlyName = nil
                state.cockpit.overlay = nil
                state.cockpit.overlayName = nil
                state.cockpit.attachment = attachment
                state.compare.saved = nil
                state.screen = .cockpit
            case .failure(let error):
                state.cockpit.notice = error.description
            }
        case .runOpened(let path, let result):
            guard state.runs.browser?.opening == path else { return }
            state.runs.browser?.opening = nil
            switch result {
            case .success(let opened):
                guard runsUnavailable(state) == nil else {
                    state.cockpit.notice = runsUnavailable(state)
                    return
                }
                openPastRun(&state, name: opened.name, history: opened.history,
                            overlay: opened.overlay.map { (name: $0.name, history: $0.history) })
            case .failure(let error):
                state.cockpit.notice = error.description
            }
        default:
            break
        }
    }

    static func drawRuns(_ grid: inout CellGrid, _ state: AppState) -> [GraphicPlacement] {
        let s = state.styles
        let header = Rect(x: 0, y: 0, width: state.columns, height: 1)
        grid.fill(header, with: Cell(" ", s.header))
        var x = grid.put(" Segscope ", x: 0, y: 0, style: s.header)
        x = grid.put("│ ", x: x, y: 0, style: s.header.with(fg: s.dim.fg))
        grid.put("past runs in \(state.runs.root)", x: x, y: 0, style: s.header, maxWidth: state.columns - x - 1)
        let body = Rect(x: 0, y: 1, width: state.columns, height: state.rows - 2)
        let runs = state.runs.browser
        let count = runs?.list.count ?? 0
        let inner = grid.box(body, title: "Runs (\(count)) · newest first", border: s.focus, titleStyle: s.title)
        let footer = Rect(x: 0, y: state.rows - 1, width: state.columns, height: 1)
        defer { drawCockpitFooter(&grid, state, footer, keys: runsKeys.footerEntries(state)) }
        guard let runs, let entries = runs.entries else {
            grid.put("reading…", x: inner.x + 1, y: inner.y, style: s.dim)
            return []
        }
        if case .failure(let error) = entries {
            grid.put("✗ \(error.description)", x: inner.x + 1, y: inner.y, style: s.error, maxWidth: inner.width - 2)
            return []
        }
        guard count > 0 else {
            grid.put("no runs here yet: a run started from the launcher (t) or with segscope train is written to \(state.runs.root)/",
                     x: inner.x + 1, y: inner.y, style: s.dim, maxWidth: inner.width - 2)
            return []
        }
        // Columns: marker, name, model, dataset, status, [date,] iterations, duration, evaluations,
        // best mIoU. The date only where there is room (the name carries the start time).
        let withDate = inner.width >= 130
        let fixed = 12 + 8 + 7 + 10 + 8 + 5 + 9 + (withDate ? 16 + 2 : 0) + 7 * 2 + 3
        let nameWidth = max(12, min(32, inner.width - fixed - 1))
        func row(_ cells: [(String, Int, Bool)]) -> String {
            cells.map { text, width, right in
                right ? String(repeating: " ", count: max(0, width - TextWidth.width(text))) + TextWidth.truncate(text, to: width)
                    : TextWidth.pad(TextWidth.truncate(text, to: width), to: width)
            }.joined(separator: "  ")
        }
        func columns(_ name: String, _ model: String, _ dataset: String, _ status: String, _ date: String, _ its: String,
                     _ duration: String, _ evals: String, _ best: String) -> [(String, Int, Bool)] {
            var cells: [(String, Int, Bool)] = [(name, nameWidth, false), (model, 12, false), (dataset, 8, false), (status, 7, false)]
            if withDate { cells.append((date, 16, false)) }
            cells += [(its, 10, true), (duration, 8, true), (evals, 5, true), (best, 9, true)]
            return cells
        }
        let titles = row(columns("run", "model", "dataset", "status", "date", "iterations", "duration", "evals", "best mIoU"))
        grid.put("   " + titles, x: inner.x, y: inner.y, style: s.dim, maxWidth: inner.width)
        // The config diff takes the lower part of the box when shown.
        let diff: [(key: String, a: String, b: String)]? = {
            guard runs.showDiff, diffUnavailable(state) == nil, let a = runs.selected?.config, let b = runs.picked?.config else { return nil }
            return RunComparison.differences(a, b)
        }()
        let diffRows = diff.map { min(max(2, $0.count + 1), max(2, (inner.height - 3) / 2)) } ?? 0
        let visible = max(1, inner.height - 3 - diffRows)
        let live = state.cockpit.history.isActive && !state.cockpit.isReadOnly
            ? state.cockpit.history.started.map { ($0.runDirectory as NSString).lastPathComponent } : nil
        for (i, entry) in runs.list.enumerated().dropFirst(runs.scroll).prefix(visible) {
            let y = inner.y + 1 + i - runs.scroll
            let selected = i == runs.selection
            let marker = entry.path == runs.overlayPath ? "◆" : (selected ? "▸" : " ")
            let its = entry.totalIterations > 0 ? "\(entry.iterations)/\(entry.totalIterations)" : (entry.iterations > 0 ? "\(entry.iterations)" : "—")
            let best = entry.bestMIoU.map { String(format: "%.3f", $0) } ?? "—"
            let status = entry.name == live ? "running" : entry.liveState.flatMap(liveLabel) ?? entry.status
            let text = entry.problem.map { row([(entry.name, nameWidth, false)]) + "  ✗ " + $0 }
                ?? row(columns(entry.name, entry.model, entry.dataset, status, entry.date, its, entry.seconds.map(duration) ?? "—",
                               String(entry.evaluations), best))
            let style = selected ? s.selected : (entry.problem != nil ? s.error : s.main)
            if selected { grid.fill(Rect(x: inner.x, y: y, width: inner.width, height: 1), with: Cell(" ", s.selected)) }
            grid.put(" \(marker) " + text, x: inner.x, y: y, style: style, maxWidth: inner.width)
        }
        if let diff, let a = runs.selected, let b = runs.picked {
            let top = inner.maxY - 1 - diffRows
            grid.put("config: \(a.name) (▸) vs \(b.name) (◆)" + (diff.isEmpty ? " — the same" : " — \(diff.count) difference\(diff.count == 1 ? "" : "s")"),
                     x: inner.x + 1, y: top, style: s.accent, maxWidth: inner.width - 2)
            let keyWidth = min(22, (diff.map { TextWidth.width($0.key) }.max() ?? 4) + 1)
            let valueWidth = max(8, (inner.width - keyWidth - 8) / 2)
            for (k, d) in diff.prefix(diffRows - 1).enumerated() {
                let y = top + 1 + k
                var x = grid.put(TextWidth.pad(TextWidth.truncate(d.key, to: keyWidth), to: keyWidth), x: inner.x + 2, y: y, style: s.main)
                x = grid.put(TextWidth.pad(TextWidth.truncate(d.a, to: valueWidth), to: valueWidth), x: x + 1, y: y, style: s.key)
                grid.put(TextWidth.truncate(d.b, to: valueWidth), x: x + 2, y: y, style: s.dim)
            }
            if diff.count > diffRows - 1 {
                grid.put("+\(diff.count - diffRows + 1) more", x: inner.maxX - 12, y: top, style: s.dim)
            }
        }
        let noteY = inner.maxY - 1
        var note = runs.selected?.liveState.map(isLive) == true ? "Enter attaches to the selected live run" : "Enter opens the selected run read-only"
        if let overlay = runs.overlayPath {
            note = "overlay: \((overlay as NSString).lastPathComponent) (◆) — its curves go under the run opened next; o on it drops it"
            if let a = runs.selected, let b = runs.picked, a.path != b.path {
                let warnings = RunComparison.overlayWarnings(dataA: a.config?.data, totalA: a.totalIterations,
                                                             dataB: b.config?.data, totalB: b.totalIterations)
                if !warnings.isEmpty { note = "⚠ overlay: " + warnings.joined(separator: ", ") + " (d: config diff)" }
            }
        } else {
            note += " · o picks a run to overlay"
        }
        if let opening = runs.opening { note = "reading \((opening as NSString).lastPathComponent)…" }
        grid.put(note, x: inner.x + 1, y: noteY, style: note.hasPrefix("⚠") ? s.warning : s.dim, maxWidth: inner.width - 2)
        return []
    }
}
