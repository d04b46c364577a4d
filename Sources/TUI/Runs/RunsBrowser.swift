import EngineProtocol
import Foundation

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

    public init(root: String) { self.root = root }

    public var list: [RunEntry] { (try? entries?.get()) ?? [] }
    public var selected: RunEntry? { list.indices.contains(selection) ? list[selection] : nil }
}

/// What runs-browser keys do.
public enum RunsAction: Sendable, Equatable {
    case up, down, open, overlay, refresh, back, help, quit
}

extension App {
    public static let runsKeys = KeyTable<RunsAction>([
        KeyBinding([(.up, .up), (.down, .down), (.char("k"), .up), (.char("j"), .down)], label: "↑↓ j k",
                   footer: "run", help: "Previous / next run"),
        KeyBinding([.enter], footer: "open", help: "Open the run read-only on the dashboard (with the overlay run's curves, if one is picked)",
                   action: .open, disabledReason: { $0.cockpit.runs?.selected == nil ? "no run to open" : nil }),
        KeyBinding([.char("o")], footer: "overlay", help: "Pick / drop this run as the overlay: its curves are drawn, dimmed, under the run opened next",
                   action: .overlay, disabledReason: { $0.cockpit.runs?.selected == nil ? "no run to pick" : nil }),
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

    /// The runs browser, listing `state.cockpit.runsRoot`.
    static func openRuns(_ state: inout AppState) -> [Command] {
        let root = state.cockpit.runsRoot
        state.cockpit.runsReturn = state.screen
        if state.cockpit.runs?.root != root { state.cockpit.runs = RunsBrowserState(root: root) }
        state.cockpit.runs?.opening = nil
        state.screen = .runs
        return [.cockpit(.scanRuns(root: root))]
    }

    static func updateRuns(_ state: inout AppState, _ msg: Msg) -> [Command] {
        guard case .key(let key) = msg, var runs = state.cockpit.runs else { return [] }
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
            let overlay = runs.overlayPath == entry.path ? nil : runs.overlayPath
            state.cockpit.runs = runs
            return [.cockpit(.openRun(path: entry.path, overlay: overlay))]
        case .overlay:
            guard let entry = runs.selected else { break }
            runs.overlayPath = runs.overlayPath == entry.path ? nil : entry.path
        case .refresh:
            state.cockpit.runs = runs
            return [.cockpit(.scanRuns(root: runs.root))]
        case .back:
            state.screen = state.cockpit.runsReturn ?? .browser
        case .help:
            state.showHelp = true
        case .quit:
            state.cockpit.runs = runs
            return requestQuit(&state)
        }
        let rows = max(1, state.rows - 6)
        if runs.selection < runs.scroll { runs.scroll = runs.selection }
        if runs.selection >= runs.scroll + rows { runs.scroll = runs.selection - rows + 1 }
        state.cockpit.runs = runs
        return []
    }

    /// Results of the runs browser's commands.
    static func runsEvent(_ event: CockpitEvent, _ state: inout AppState) {
        switch event {
        case .runs(let root, let result):
            guard var runs = state.cockpit.runs, runs.root == root else { return }
            runs.entries = result
            runs.selection = max(0, min(runs.selection, runs.list.count - 1))
            runs.scroll = min(runs.scroll, runs.selection)
            state.cockpit.runs = runs
        case .runOpened(let path, let result):
            guard state.cockpit.runs?.opening == path else { return }
            state.cockpit.runs?.opening = nil
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
        grid.put("past runs in \(state.cockpit.runsRoot)", x: x, y: 0, style: s.header, maxWidth: state.columns - x - 1)
        let body = Rect(x: 0, y: 1, width: state.columns, height: state.rows - 2)
        let runs = state.cockpit.runs
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
            grid.put("no runs here yet: a run started from the launcher (t) or with segscope train is written to \(state.cockpit.runsRoot)/",
                     x: inner.x + 1, y: inner.y, style: s.dim, maxWidth: inner.width - 2)
            return []
        }
        // Columns: marker, name, model, date, iterations, evaluations, best mIoU.
        // Marker (3) + five fixed columns (55) + five gaps (10).
        let nameWidth = max(12, min(32, inner.width - 68))
        func row(_ cells: [(String, Int, Bool)]) -> String {
            cells.map { text, width, right in
                right ? String(repeating: " ", count: max(0, width - TextWidth.width(text))) + TextWidth.truncate(text, to: width)
                    : TextWidth.pad(TextWidth.truncate(text, to: width), to: width)
            }.joined(separator: "  ")
        }
        let titles = row([("run", nameWidth, false), ("model", 12, false), ("date", 16, false), ("iterations", 13, true),
                          ("evals", 5, true), ("best mIoU", 9, true)])
        grid.put("   " + titles, x: inner.x, y: inner.y, style: s.dim, maxWidth: inner.width)
        let visible = max(1, inner.height - 3)
        for (i, entry) in runs.list.enumerated().dropFirst(runs.scroll).prefix(visible) {
            let y = inner.y + 1 + i - runs.scroll
            let selected = i == runs.selection
            let marker = entry.path == runs.overlayPath ? "◆" : (selected ? "▸" : " ")
            let its = entry.totalIterations > 0 ? "\(entry.iterations)/\(entry.totalIterations)" : (entry.iterations > 0 ? "\(entry.iterations)" : "—")
            let best = entry.bestMIoU.map { String(format: "%.3f", $0) } ?? "—"
            let text = entry.problem.map { row([(entry.name, nameWidth, false)]) + "  ✗ " + $0 }
                ?? row([(entry.name, nameWidth, false), (entry.model, 12, false), (entry.date, 16, false), (its, 13, true),
                        (String(entry.evaluations), 5, true), (best, 9, true)])
            let style = selected ? s.selected : (entry.problem != nil ? s.error : s.main)
            if selected { grid.fill(Rect(x: inner.x, y: y, width: inner.width, height: 1), with: Cell(" ", s.selected)) }
            grid.put(" \(marker) " + text, x: inner.x, y: y, style: style, maxWidth: inner.width)
        }
        let noteY = inner.maxY - 1
        var note = "Enter opens the selected run read-only"
        if let overlay = runs.overlayPath {
            note = "overlay: \((overlay as NSString).lastPathComponent) (◆) — its curves go under the run opened next; o on it drops it"
        } else {
            note += " · o picks a run to overlay"
        }
        if let opening = runs.opening { note = "reading \((opening as NSString).lastPathComponent)…" }
        grid.put(note, x: inner.x + 1, y: noteY, style: s.dim, maxWidth: inner.width - 2)
        return []
    }
}
