import Datasets
import EngineProtocol
import Foundation

/// What browser keys do.
public enum BrowserAction: Sendable, Equatable {
    case up, down, pageUp, pageDown, first, last
    case zoom, nextSplit, opacity, mode, filter, clearFilter, help, quit
    /// Open the training screens (Cockpit/).
    case training
    /// The runs browser (Runs/).
    case runs
    /// Per-sample metrics of the dashboard's run (D-188): show / hide, sort, confusion cells.
    case metrics, sort, nextConfusion, previousConfusion
    /// Tags (D-241): toggle the current tag on the selection, name another tag; export the list.
    case tag, tagNamed, exportCSV, exportJSON
}

extension App {
    /// The browser's key table: the footer and the help overlay are generated from it.
    public static let browserKeys = KeyTable<BrowserAction>([
        KeyBinding([(.up, .up), (.down, .down), (.char("k"), .up), (.char("j"), .down)], label: "↑↓ j k",
                   footer: "move", help: "Move the selection (the mouse wheel too; a click selects)"),
        KeyBinding([(.pageUp, .pageUp), (.pageDown, .pageDown)], label: "PgUp PgDn", footer: "page", footerOptional: true,
                   help: "Move a page up / down"),
        KeyBinding([(.home, .first), (.end, .last), (.char("g"), .first), (.char("G"), .last)], label: "Home End g G",
                   footer: nil, help: "First / last sample"),
        KeyBinding([.enter], footer: "zoom", help: "Show the selected sample across the whole width (again: back)", action: .zoom),
        KeyBinding([.tab], footer: "split", help: "Switch split (train, val, …)", action: .nextSplit,
                   disabledReason: { $0.browser.splits.count < 2 ? "the dataset has one split" : nil }),
        KeyBinding([.char("m")], footer: "mode", help: "View mode: image | mask side by side, image, mask, overlay", action: .mode),
        KeyBinding([.char("o")], footer: "opacity", help: "Overlay opacity 25% → 50% → 75% → 100%", action: .opacity,
                   disabledReason: { $0.browser.mode == .overlay ? nil : "only in overlay mode (m)" }),
        KeyBinding([.char("/")], footer: "filter", help: "Filter samples by id or class name: dog sheep (AND), a | b, !person, person>20%, id:2008, tag:NAME, iou<0.3 after v", action: .filter),
        KeyBinding([.escape], footer: nil, help: "Clear the filter / close this help", action: .clearFilter),
        KeyBinding([.char("v")], footer: "eval", footerOptional: true,
                   help: "Per-sample IoU, accuracy and label quality of the dashboard run's latest evaluation (again: hide)",
                   action: .metrics, disabledReason: { metricsRun($0) == nil ? "no run (t or r first)" : nil }),
        KeyBinding([.char("s")], footer: "sort", footerOptional: true,
                   help: "Sort: name → worst IoU → worst accuracy → likeliest label issue",
                   action: .sort, disabledReason: { $0.browser.metrics?.loaded == nil ? "needs metrics (v)" : nil }),
        KeyBinding([(.char("c"), .nextConfusion), (.char("C"), .previousConfusion)], label: "c C", footer: "confusion", footerOptional: true,
                   help: "Samples behind a confusion cell (truth → predicted), largest cells in turn",
                   disabledReason: { ($0.browser.metrics?.loaded?.cells.isEmpty ?? true) ? "needs metrics (v)" : nil }),
        KeyBinding([(.char("x"), .tag), (.char("X"), .tagNamed)], label: "x X", footer: "tag", footerOptional: true,
                   help: "Tag / untag the selection; X names the tag (filter: tag:NAME)",
                   disabledReason: { tagsUnavailable($0) }),
        KeyBinding([(.char("e"), .exportCSV), (.char("E"), .exportJSON)], label: "e E", footer: "export", footerOptional: true,
                   help: "Export the list as shown, as CSV / JSON, to <runs>/exports/",
                   disabledReason: { $0.browser.visible.isEmpty ? "the list is empty" : nil }),
        KeyBinding([.char("t")], footer: "train", help: "Training: launch a run, or watch the one in progress", action: .training),
        KeyBinding([.char("r")], footer: "runs", help: "Past runs: open one read-only, overlay another one's curves", action: .runs,
                   disabledReason: { runsUnavailable($0) }),
        KeyBinding([.char("?")], footer: "help", help: "Show / hide this help", action: .help),
        KeyBinding([.char("q"), .ctrl("c")], label: "q", footer: "quit", help: "Quit", action: .quit),
    ])

    static func updateBrowser(_ state: inout AppState, _ msg: Msg) -> [Command] {
        switch msg {
        case .key(let key):
            if state.browser.editingFilter { return editFilter(&state, key) }
            if state.browser.tagPrompt != nil { return editTagPrompt(&state, key) }
            state.browser.notice = nil
            guard let binding = browserKeys.binding(for: key), let action = binding.action(for: key) else { return [] }
            if let reason = binding.disabledReason(state) {
                if [.tag, .tagNamed, .exportCSV, .exportJSON].contains(action) {
                    state.browser.notice = "\(binding.label): \(reason)"
                }
                return []
            }
            return perform(action, &state)
        case .mouse(let event):
            return mouse(event, &state)
        case .dataset(let event):
            return datasetEvent(event, &state)
        case .cockpit:
            return []
        case .resize, .tick:
            clampScroll(&state)
            return []
        }
    }

    static func perform(_ action: BrowserAction, _ state: inout AppState) -> [Command] {
        let page = max(1, browserLayout(state).listRows - 1)
        switch action {
        case .up: return move(by: -1, &state)
        case .down: return move(by: 1, &state)
        case .pageUp: return move(by: -page, &state)
        case .pageDown: return move(by: page, &state)
        case .first: return move(by: Int.min / 2, &state)
        case .last: return move(by: Int.max / 2, &state)
        case .zoom:
            state.browser.zoomed.toggle()
            return []
        case .nextSplit:
            let b = state.browser
            state.browser.splitIndex = (b.splitIndex + 1) % max(1, b.splits.count)
            state.browser.selection = 0
            state.browser.scroll = 0
            return enterSplit(&state)
        case .opacity:
            let levels = [0.25, 0.5, 0.75, 1.0]
            let i = levels.firstIndex { $0 > state.browser.opacity + 1e-9 } ?? 0
            state.browser.opacity = levels[i]
            return []
        case .mode:
            state.browser.mode = state.browser.mode.next
            return []
        case .filter:
            state.browser.editingFilter = true
            return []
        case .clearFilter:
            if !state.browser.filter.isEmpty {
                state.browser.filter = ""
                state.browser.applyFilter()
                clampScroll(&state)
                return selectionChanged(&state)
            }
            return []
        case .help:
            state.showHelp = true
            return []
        case .training:
            return openTraining(&state)
        case .runs:
            return openRuns(&state)
        case .quit:
            return requestQuit(&state)
        case .metrics:
            if state.browser.metrics != nil {
                state.browser.metrics = nil
                state.browser.sort = .name
                state.browser.applyFilter()
                clampScroll(&state)
                return selectionChanged(&state)
            }
            guard let run = metricsRun(state) else { return [] }
            state.browser.metrics = .loading(run: run)
            clampScroll(&state)
            return [.cockpit(.loadSampleMetrics(directory: run))]
        case .sort:
            return resort(state.browser.sort.next, &state)
        case .tag:
            return toggleTag(state.browser.currentTag, &state)
        case .tagNamed:
            state.browser.tagPrompt = ""
            return []
        case .exportCSV, .exportJSON:
            let split = state.browser.split ?? "samples"
            let directory = URL(fileURLWithPath: state.runs.root).appendingPathComponent("exports").path
            return [.exportSamples(state.browser.export(), format: action == .exportCSV ? .csv : .json,
                                   directory: directory, stem: "samples-\(split)")]
        case .nextConfusion, .previousConfusion:
            guard let cells = state.browser.metrics?.loaded?.cells, !cells.isEmpty else { return [] }
            var i = -1
            if case .confusion(let t, let p) = state.browser.sort {
                i = cells.firstIndex { $0.truth == t && $0.predicted == p } ?? -1
            }
            i = action == .nextConfusion ? (i + 1) % cells.count : (i <= 0 ? cells.count - 1 : i - 1)
            return resort(.confusion(truth: cells[i].truth, predicted: cells[i].predicted), &state)
        }
    }

    /// Why `x` / `X` do nothing now (nil: they work).
    static func tagsUnavailable(_ state: AppState) -> String? {
        if state.browser.tagsProblem != nil { return "the tags file cannot be read (see the footer)" }
        return state.browser.selectedID == nil ? "no sample selected" : nil
    }

    /// Adds or removes tag `name` on the selected sample, keeps the file, and keeps the
    /// selection's place when a tag filter drops the sample from the list.
    static func toggleTag(_ name: String, _ state: inout AppState) -> [Command] {
        guard let id = state.browser.selectedID else { return [] }
        let added = state.browser.tags.toggle(id, name)
        state.browser.notice = "\(added ? "tagged" : "untagged") \(id) “\(name)”"
        let place = state.browser.selection
        state.browser.applyFilter()
        if state.browser.selectedID != id {
            state.browser.selection = max(0, min(place, state.browser.visible.count - 1))
        }
        clampScroll(&state)
        var commands = selectionChanged(&state)
        if let file = state.browser.tagsFile { commands.append(.saveTags(state.browser.tags, path: file.path)) }
        return commands
    }

    /// The tag-name prompt of `X`: Enter toggles the typed tag (and makes it `x`'s), Esc cancels.
    static func editTagPrompt(_ state: inout AppState, _ key: Key) -> [Command] {
        var text = state.browser.tagPrompt ?? ""
        switch key {
        case .enter:
            let name = text.lowercased()
            if let problem = SampleTags.problem(name) {
                state.browser.notice = problem
                return []
            }
            state.browser.tagPrompt = nil
            state.browser.currentTag = name
            return toggleTag(name, &state)
        case .escape:
            state.browser.tagPrompt = nil
            state.browser.notice = nil
            return []
        case .backspace:
            if !text.isEmpty { text.removeLast() }
        case .char(let c):
            text.unicodeScalars.append(c)
        case .ctrl("c"):
            state.browser.tagPrompt = nil
            return requestQuit(&state)
        default:
            return []
        }
        state.browser.tagPrompt = text
        state.browser.notice = nil
        return []
    }

    /// The run directory whose per-sample metrics `v` reads: the dashboard's run, live or past.
    static func metricsRun(_ state: AppState) -> String? {
        guard let dir = state.cockpit.history.started?.runDirectory, !dir.isEmpty else { return nil }
        return dir
    }

    /// The list in a new order, from its top.
    static func resort(_ sort: SampleSort, _ state: inout AppState) -> [Command] {
        state.browser.sort = sort
        state.browser.applyFilter()
        state.browser.selection = 0
        state.browser.scroll = 0
        return selectionChanged(&state)
    }

    /// Per-sample metrics read for the browser.
    static func sampleMetricsArrived(_ directory: String, _ result: Result<SampleMetricsFile, MessageError>, _ state: inout AppState) -> [Command] {
        guard case .loading(let run)? = state.browser.metrics, run == directory else { return [] }
        switch result {
        case .success(let file): state.browser.metrics = .loaded(BrowserMetrics(run: run, file: file))
        case .failure(let error): state.browser.metrics = .failed(run: run, error.description)
        }
        state.browser.applyFilter()
        clampScroll(&state)
        return selectionChanged(&state)
    }

    /// The browser's layout in `state` (the list's header rows depend on the metrics shown).
    static func browserLayout(_ state: AppState) -> BrowserLayout {
        BrowserLayout(columns: state.columns, rows: state.rows, zoomed: state.browser.zoomed, listHeader: state.browser.listHeaderRows)
    }

    static func editFilter(_ state: inout AppState, _ key: Key) -> [Command] {
        switch key {
        case .enter:
            state.browser.editingFilter = false
            return []
        case .escape:
            state.browser.editingFilter = false
            state.browser.filter = ""
        case .backspace:
            if !state.browser.filter.isEmpty { state.browser.filter.removeLast() }
        case .char(let c):
            state.browser.filter.unicodeScalars.append(c)
        case .ctrl("c"):
            return requestQuit(&state)
        case .up, .down:
            return move(by: key == .up ? -1 : 1, &state)
        default:
            return []
        }
        state.browser.applyFilter()
        clampScroll(&state)
        return selectionChanged(&state)
    }

    static func move(by delta: Int, _ state: inout AppState) -> [Command] {
        let count = state.browser.visible.count
        guard count > 0 else { return [] }
        let old = state.browser.selection
        state.browser.selection = max(0, min(count - 1, old &+ delta))
        clampScroll(&state)
        return state.browser.selection == old ? [] : selectionChanged(&state)
    }

    /// Keeps the selection inside the list's visible rows.
    static func clampScroll(_ state: inout AppState) {
        let rows = max(1, browserLayout(state).listRows)
        var b = state.browser
        if b.selection < b.scroll { b.scroll = b.selection }
        if b.selection >= b.scroll + rows { b.scroll = b.selection - rows + 1 }
        b.scroll = max(0, min(b.scroll, max(0, b.visible.count - rows)))
        state.browser = b
    }

    /// Asks for the selected sample unless it is already loaded or loading.
    static func selectionChanged(_ state: inout AppState) -> [Command] {
        guard let id = state.browser.selectedID else { return [] }
        if let slot = state.browser.slot(for: id) {
            state.browser.store(id, slot)  // most recently used
            return []
        }
        state.browser.store(id, .loading)
        return [.loadSample(id: id)]
    }

    /// Commands to show the current split: its ids first, then its scan.
    static func enterSplit(_ state: inout AppState) -> [Command] {
        guard let split = state.browser.split else { return [] }
        state.browser.applyFilter()
        guard case .success(let ids)? = state.browser.ids[split] else {
            return state.browser.ids[split] == nil ? [.loadIDs(split: split)] : []
        }
        var commands = selectionChanged(&state)
        if !state.browser.scannedSplits.contains(split) { commands.append(.scan(split: split, ids: ids)) }
        return commands
    }

    static func mouse(_ event: MouseEvent, _ state: inout AppState) -> [Command] {
        let layout = browserLayout(state)
        switch event.kind {
        case .press:
            guard let row = layout.listRow(x: event.x, y: event.y) else { return [] }
            let index = state.browser.scroll + row
            guard index < state.browser.visible.count else { return [] }
            return move(by: index - state.browser.selection, &state)
        case .wheelUp, .wheelDown:
            guard layout.list.contains(x: event.x, y: event.y) || layout.preview.contains(x: event.x, y: event.y)
            else { return [] }
            return move(by: event.kind == .wheelUp ? -3 : 3, &state)
        case .other:
            return []
        }
    }

    static func datasetEvent(_ event: DatasetEvent, _ state: inout AppState) -> [Command] {
        switch event {
        case .ids(let split, let result):
            state.browser.ids[split] = result
            return split == state.browser.split ? enterSplit(&state) : []
        case .sample(let id, let result):
            switch result {
            case .success(let sample):
                state.browser.store(id, .loaded(sample))
                if state.browser.info[id] == nil { state.browser.info[id] = SampleInfo(sample: sample) }
            case .failure(let error) where error.description == DatasetPerformer.superseded:
                state.browser.samples.removeAll { $0.id == id }
                return id == state.browser.selectedID ? selectionChanged(&state) : []
            case .failure(let error):
                state.browser.store(id, .failed(error.description))
                if state.browser.info[id] == nil { state.browser.info[id] = .failed(id: id, error: error.description) }
            }
            return []
        case .scanned(let infos):
            for info in infos { state.browser.info[info.id] = info }
            if !state.browser.filter.isEmpty {
                state.browser.applyFilter()
                clampScroll(&state)
            }
            return []
        case .scanFinished(let split):
            state.browser.scannedSplits.insert(split)
            return []
        case .tagsSaved(_, let error):
            if let error { state.browser.notice = "tags not saved: \(error)" }
            return []
        case .exported(.success(let path), let count):
            state.browser.notice = "exported \(count) sample\(count == 1 ? "" : "s") → \(path)"
            return []
        case .exported(.failure(let error), _):
            state.browser.notice = "export failed: \(error)"
            return []
        }
    }
}
