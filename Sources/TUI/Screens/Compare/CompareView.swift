import Datasets
import EngineProtocol
import Foundation

/// What compare keys do.
public enum CompareAction: Sendable, Equatable {
    case up, down, pageUp, pageDown, classLeft, classRight, toggleClass, showAll, opacity, repredict
    case bestOrLatest, olderEvaluation, newerEvaluation, back, help, quit
}

/// Where the compare view's panes go.
public struct CompareLayout: Equatable, Sendable {
    public var header: Rect
    public var gallery: Rect
    public var panes: Rect
    public var classes: Rect
    public var footer: Rect

    public init(columns: Int, rows: Int) {
        header = Rect(x: 0, y: 0, width: columns, height: 1)
        footer = Rect(x: 0, y: rows - 1, width: columns, height: 1)
        let body = Rect(x: 0, y: 1, width: columns, height: rows - 2)
        let (left, right) = body.splitLeft(min(40, max(30, columns / 4)))
        gallery = left
        let classHeight = rows >= 40 ? 8 : 6
        (panes, classes) = right.splitTop(right.height - classHeight)
    }

    public var galleryRows: Int { max(0, gallery.height - 3) }

    /// The four panes (image, truth, prediction, errors) in a row or in a 2×2 grid, whichever
    /// shows a `imageWidth` × `imageHeight` picture bigger in `rect` (half blocks: a cell is one
    /// pixel wide and two tall). Each pane has a caption row above its picture and a row below.
    public static func paneAreas(in rect: Rect, imageWidth: Int, imageHeight: Int) -> [Rect] {
        let gap = 1
        func scale(_ w: Int, _ h: Int) -> Double {
            guard imageWidth > 0, imageHeight > 0, w > 0, h > 2 else { return 0 }
            return min(Double(w) / Double(imageWidth), Double(2 * (h - 2)) / Double(imageHeight))
        }
        let rowWidth = (rect.width - gap * 3) / 4
        let gridWidth = (rect.width - gap) / 2, gridHeight = rect.height / 2
        if scale(gridWidth, gridHeight) > scale(rowWidth, rect.height) {
            return (0..<4).map { i in
                Rect(x: rect.x + (i % 2) * (gridWidth + gap), y: rect.y + (i / 2) * gridHeight, width: gridWidth, height: gridHeight)
            }
        }
        return (0..<4).map { i in Rect(x: rect.x + i * (rowWidth + gap), y: rect.y, width: rowWidth, height: rect.height) }
    }
}

extension App {
    public static let compareKeys = KeyTable<CompareAction>([
        KeyBinding([(.up, .up), (.down, .down), (.char("k"), .up), (.char("j"), .down)], label: "↑↓ j k",
                   footer: "image", help: "Previous / next image of the gallery (worst mIoU first)"),
        KeyBinding([(.pageUp, .pageUp), (.pageDown, .pageDown)], label: "PgUp PgDn", footer: nil, help: "A page up / down"),
        KeyBinding([(.left, .classLeft), (.right, .classRight)], label: "← →", footer: "class", help: "Move the class cursor"),
        KeyBinding([.char(" ")], footer: "toggle", help: "Show / hide the class under the cursor in the truth and prediction panes",
                   action: .toggleClass),
        KeyBinding([.char("a")], footer: "all", footerOptional: true, help: "Show every class again", action: .showAll),
        KeyBinding([.char("o")], footer: "opacity", help: "Mask opacity over the image: 100% → 25% → 50% → 75%", action: .opacity),
        KeyBinding([.char("r")], footer: "re-predict", help: "Predict the image again with the current weights", action: .repredict,
                   disabledReason: { noRun($0) }),
        KeyBinding([.char("b")], footer: "best/latest",
                   help: "Past run: the predictions saved with the best evaluation (highest val mIoU) / with the latest one",
                   action: .bestOrLatest, disabledReason: { bestOrLatestUnavailable($0) }),
        KeyBinding([(.char("["), .olderEvaluation), (.char("]"), .newerEvaluation)], label: "[ ]", footer: "eval", footerOptional: true,
                   help: "Past run: the predictions of the previous / next evaluation the run kept (keep_predictions)",
                   disabledReason: { savedSwitchUnavailable($0) }),
        KeyBinding([.tab, .escape], label: "Tab", footer: "dashboard", help: "Back to the dashboard", action: .back),
        KeyBinding([.char("?")], footer: "help", help: "Show / hide this help", action: .help),
        KeyBinding([.char("q"), .ctrl("c")], label: "q", footer: "quit", help: "Quit (asks first while a run is in progress)",
                   action: .quit),
    ])

    /// The gallery: the latest evaluation's images, worst per-image mIoU first; for a past run,
    /// every sample the shown evaluation scored (its samples.json), or without that file the
    /// samples whose predictions it saved.
    static func gallery(_ state: AppState) -> [ImageScore] {
        if state.cockpit.isReadOnly {
            guard case .loaded(let saved)? = state.compare.saved else { return [] }
            return ImageScore.rankedWorstFirst(saved.rankedScores)
        }
        return ImageScore.rankedWorstFirst(state.cockpit.history.latestEvaluation?.imageScores ?? [])
    }

    static func compareSelectedID(_ state: AppState) -> String? {
        let g = gallery(state)
        return g.indices.contains(state.compare.selection) ? g[state.compare.selection].id : nil
    }

    static func updateCompare(_ state: inout AppState, _ key: Key) -> [Command] {
        guard let binding = compareKeys.binding(for: key), let action = binding.action(for: key) else { return [] }
        if let reason = binding.disabledReason(state) {
            state.cockpit.notice = "\(binding.label): \(reason)"
            return []
        }
        state.cockpit.notice = nil
        let page = max(1, CompareLayout(columns: state.columns, rows: state.rows).galleryRows - 1)
        let classCount = state.cockpit.history.classNames.count
        switch action {
        case .up: return moveCompare(by: -1, &state)
        case .down: return moveCompare(by: 1, &state)
        case .pageUp: return moveCompare(by: -page, &state)
        case .pageDown: return moveCompare(by: page, &state)
        case .classLeft, .classRight:
            let list = compareClassList(state)
            guard !list.isEmpty else { break }
            let i = list.firstIndex(of: state.compare.classCursor) ?? 0
            let next = action == .classLeft ? max(0, i - 1) : min(list.count - 1, i + 1)
            state.compare.classCursor = list[min(next, classCount - 1)]
        case .toggleClass:
            let c = state.compare.classCursor
            if state.compare.hidden.contains(c) {
                state.compare.hidden.remove(c)
            } else {
                state.compare.hidden.insert(c)
            }
        case .showAll:
            state.compare.hidden = []
        case .opacity:
            let levels = [0.25, 0.5, 0.75, 1.0]
            let i = levels.firstIndex { $0 > state.compare.opacity + 1e-9 } ?? 0
            state.compare.opacity = levels[i]
        case .repredict:
            guard let id = compareSelectedID(state) else { return [] }
            state.compare.requested[id] = state.cockpit.history.evaluationCount
            return [.cockpit(.engine(.predict(sampleID: id)))]
        case .bestOrLatest, .olderEvaluation, .newerEvaluation:
            return switchSavedEvaluation(action, &state)
        case .back:
            state.screen = .cockpit
        case .help:
            state.showHelp = true
        case .quit:
            return requestQuit(&state)
        }
        return []
    }

    /// Why the saved evaluation cannot be switched: a live run, nothing read yet, or one kept.
    static func savedSwitchUnavailable(_ state: AppState) -> String? {
        guard state.cockpit.isReadOnly else { return "only on a past run (a live run predicts with its current weights)" }
        guard case .loaded(let e)? = state.compare.saved else { return "no saved predictions were read" }
        return e.saved.count > 1 ? nil : "the run kept the predictions of one evaluation only"
    }

    static func bestOrLatestUnavailable(_ state: AppState) -> String? {
        if let reason = savedSwitchUnavailable(state) { return reason }
        guard case .loaded(let e)? = state.compare.saved else { return nil }
        return e.bestIteration == e.latestIteration && (state.compare.savedTarget ?? e.iteration) == e.latestIteration
            ? "the latest evaluation is also the best" : nil
    }

    /// `b`: best ↔ latest; `[` / `]`: the previous / next kept evaluation. The evaluation shown
    /// stays until the asked one has been read.
    static func switchSavedEvaluation(_ action: CompareAction, _ state: inout AppState) -> [Command] {
        guard case .loaded(let e)? = state.compare.saved,
              let directory = state.cockpit.history.started?.runDirectory, !directory.isEmpty else { return [] }
        let current = state.compare.savedTarget ?? e.iteration
        let iterations = e.saved.map(\.iteration)
        let target: Int?
        switch action {
        case .bestOrLatest: target = current == e.bestIteration ? e.latestIteration : (e.bestIteration ?? e.latestIteration)
        case .olderEvaluation:
            target = iterations.last { $0 < current }
            if target == nil { state.cockpit.notice = "the oldest kept evaluation is shown" }
        default:
            target = iterations.first { $0 > current }
            if target == nil { state.cockpit.notice = "the latest evaluation is shown" }
        }
        guard let target, target != current else { return [] }
        state.compare.savedTarget = target
        return [.cockpit(.loadSaved(directory: directory, iteration: target))]
    }

    /// Which saved evaluation is shown, for the header: "latest eval at it N", "best eval at
    /// it N", or "eval k of n at it N", then its pooled mIoU and epoch.
    static func savedEvaluationTitle(_ e: SavedEvaluation) -> String {
        let isLatest = e.iteration == e.latestIteration, isBest = e.iteration == e.bestIteration
        var which = isLatest ? "latest eval" : (isBest ? "best eval" : "eval")
        if !isLatest, !isBest, let p = e.position { which += " \(p + 1) of \(e.saved.count)" }
        var title = "\(which) at it \(e.iteration)"
        if isLatest && isBest { title += " (best)" }
        if let m = e.mIoU { title += String(format: " · mIoU %.3f", m) }
        return title + " · epoch \(e.epoch)"
    }

    static func moveCompare(by delta: Int, _ state: inout AppState) -> [Command] {
        let count = gallery(state).count
        guard count > 0 else { return [] }
        let old = state.compare.selection
        state.compare.selection = max(0, min(count - 1, old &+ delta))
        clampCompareScroll(&state)
        return state.compare.selection == old ? [] : compareSelectionChanged(&state)
    }

    static func clampCompareScroll(_ state: inout AppState) {
        let rows = max(1, CompareLayout(columns: state.columns, rows: state.rows).galleryRows)
        var c = state.compare
        let count = gallery(state).count
        c.selection = max(0, min(c.selection, max(0, count - 1)))
        if c.selection < c.scroll { c.scroll = c.selection }
        if c.selection >= c.scroll + rows { c.scroll = c.selection - rows + 1 }
        c.scroll = max(0, min(c.scroll, max(0, count - rows)))
        state.compare = c
    }

    /// Asks for what the selected image needs: its picture and truth, and a prediction made
    /// after the latest evaluation.
    static func compareSelectionChanged(_ state: inout AppState) -> [Command] {
        if state.cockpit.isReadOnly, state.compare.saved == nil {
            guard let directory = state.cockpit.history.started?.runDirectory, !directory.isEmpty else {
                state.compare.saved = .failed("no saved predictions: the run's directory is unknown")
                return []
            }
            state.compare.saved = .loading
            return [.cockpit(.loadSaved(directory: directory, iteration: nil))]
        }
        var commands: [Command] = []
        if liveRunEnded(state), state.compare.saved == nil,
           let directory = state.cockpit.history.started?.runDirectory, !directory.isEmpty {
            // The run this front trained (or watched) has ended: the engine cannot predict any
            // more, the predictions it saved at its evaluations stand in (issue #17).
            state.compare.saved = .loading
            commands.append(.cockpit(.loadSaved(directory: directory, iteration: nil)))
        }
        guard let id = compareSelectedID(state) else { return commands }
        let h = state.cockpit.history
        if state.compare.slot(for: id) == nil, let config = h.started?.config {
            state.compare.store(id, .loading)
            commands.append(.cockpit(.loadSample(id: id, data: config.data, format: config.format)))
        }
        let evaluated = h.latestEvaluation?.iteration ?? 0
        let fresh = (h.predictions[id]?.iteration ?? -1) >= evaluated
        if !fresh, !state.cockpit.isReadOnly, state.compare.requested[id] != h.evaluationCount,
           h.engineState == .running || h.engineState == .paused {
            state.compare.requested[id] = h.evaluationCount
            commands.append(.cockpit(.engine(.predict(sampleID: id))))
        }
        return commands
    }

    /// A live run that has ended (this front's, not a past run opened read-only).
    static func liveRunEnded(_ state: AppState) -> Bool {
        !state.cockpit.isReadOnly && state.cockpit.history.finished != nil && !state.cockpit.history.isActive
    }

    /// A past run's saved predictions arrived: they become the gallery and the predictions shown.
    /// For a live run that ended they fill in the images the engine no longer predicts (the
    /// gallery stays the last evaluation's).
    static func compareSavedArrived(_ directory: String, _ result: Result<SavedEvaluation, MessageError>,
                                    _ state: inout AppState) -> [Command] {
        guard state.cockpit.history.started?.runDirectory == directory else { return [] }
        if liveRunEnded(state) {
            switch result {
            case .success(let saved):
                state.compare.saved = .loaded(saved)
                for p in saved.predictions where (state.cockpit.history.predictions[p.sampleID]?.iteration ?? -1) < p.iteration {
                    state.cockpit.history.predictions[p.sampleID] = p
                }
            case .failure(let error):
                state.compare.saved = .failed(error.description)
            }
            return []
        }
        guard state.cockpit.isReadOnly else { return [] }
        let shownID = compareSelectedID(state)
        var switched = false
        if case .loaded? = state.compare.saved { switched = true }
        switch result {
        case .success(let saved):
            // An answer to a switch asked for before the last one: the last one is on its way.
            if switched, let target = state.compare.savedTarget, target != saved.iteration { return [] }
            state.compare.savedTarget = nil
            state.compare.saved = .loaded(saved)
            state.cockpit.history.predictions = [:]
            for p in saved.predictions { state.cockpit.history.predictions[p.sampleID] = p }
            for problem in saved.problems { state.cockpit.history.append(.warning, place: "", "saved prediction: \(problem)") }
            // Switching evaluations keeps the image shown (the gallery is ranked anew).
            if let shownID, let i = gallery(state).firstIndex(where: { $0.id == shownID }) { state.compare.selection = i }
        case .failure(let error) where switched:
            // The evaluation shown stays; the one asked for could not be read (pruned meanwhile?).
            state.compare.savedTarget = nil
            state.cockpit.notice = error.description
            return []
        case .failure(let error):
            state.compare.saved = .failed(error.description)
        }
        clampCompareScroll(&state)
        return state.screen == .compare ? compareSelectionChanged(&state) : []
    }

    /// A new evaluation: the gallery is re-ranked; the shown image keeps its place when it is
    /// still in the gallery and is predicted again.
    static func compareEvaluationArrived(_ state: inout AppState) -> [Command] {
        clampCompareScroll(&state)
        return state.screen == .compare ? compareSelectionChanged(&state) : []
    }

    // MARK: - View

    static func drawCompare(_ grid: inout CellGrid, _ state: AppState) -> [GraphicPlacement] {
        let layout = CompareLayout(columns: state.columns, rows: state.rows)
        let s = state.styles
        let h = state.cockpit.history
        grid.fill(layout.header, with: Cell(" ", s.header))
        var x = grid.put(" Segscope ", x: 0, y: 0, style: s.header)
        x = grid.put("│ ", x: x, y: 0, style: s.header.with(fg: s.dim.fg))
        var title = "compare predictions"
        if state.cockpit.isReadOnly {
            title = "saved predictions"
            if case .loaded(let e)? = state.compare.saved { title += " · " + savedEvaluationTitle(e) }
        } else if let e = h.latestEvaluation { title += String(format: " · eval at it %d · mIoU %.3f · aAcc %.3f", e.iteration, e.metrics.mIoU, e.metrics.aAcc) }
        grid.put(title, x: x, y: 0, style: s.header, maxWidth: layout.header.width - x - 1)
        let right = "mask opacity \(Int(state.compare.opacity * 100))%"
        grid.put(right, x: layout.header.maxX - TextWidth.width(right) - 1, y: 0, style: s.header)
        drawGallery(&grid, state, layout.gallery)
        let graphics = drawComparePanes(&grid, state, layout.panes)
        drawCompareClasses(&grid, state, layout.classes)
        drawCockpitFooter(&grid, state, layout.footer, keys: compareKeys.footerEntries(state))
        return graphics
    }

    static func drawGallery(_ grid: inout CellGrid, _ state: AppState, _ rect: Rect) {
        let s = state.styles
        let g = gallery(state)
        let c = state.compare
        let inner = grid.box(rect, title: "Worst first (\(g.count))", border: s.focus, titleStyle: s.title)
        guard inner.width > 8, inner.height > 1 else { return }
        guard !g.isEmpty else {
            var text = "no evaluation yet: press e on the dashboard to evaluate now"
            if state.cockpit.isReadOnly {
                switch c.saved {
                case .loaded?: text = "no saved sample in this evaluation"
                case .failed?: text = "no saved predictions (see the right pane)"
                case .loading?, nil: text = "reading the saved predictions…"
                }
            }
            grid.wrapped(text, in: inner, style: s.dim)
            return
        }
        let idWidth = max(6, inner.width - 14)
        grid.put(TextWidth.pad(" image", to: idWidth + 1) + " mIoU   acc", x: inner.x, y: inner.y, style: s.dim, maxWidth: inner.width)
        for row in 0..<(inner.height - 1) {
            let index = c.scroll + row
            guard index < g.count else { break }
            let score = g[index]
            let y = inner.y + 1 + row
            let selected = index == c.selection
            let base = selected ? s.selected : s.main
            if selected { grid.fill(Rect(x: inner.x, y: y, width: inner.width, height: 1), with: Cell(" ", s.selected)) }
            var x = grid.put(selected ? "▸" : " ", x: inner.x, y: y, style: base)
            x = grid.put(TextWidth.pad(score.id, to: idWidth), x: x, y: y, style: base) + 1
            let miou = score.mIoU.isNaN ? "  —  " : String(format: "%.3f", score.mIoU)
            let acc = score.pixelAccuracy.isNaN ? "  —  " : String(format: "%.3f", score.pixelAccuracy)
            let scoreStyle = selected ? base : (score.mIoU < 0.5 ? s.error.with(bg: s.main.bg) : s.main)
            x = grid.put(miou, x: x, y: y, style: scoreStyle) + 1
            grid.put(acc, x: x, y: y, style: selected ? base : s.dim, maxWidth: inner.maxX - x)
        }
    }

    /// The three colours of the error map, from the theme: correct in the key colour (green),
    /// wrong in the error colour (red), ignored in the dim colour.
    static func errorPalette(_ styles: Styles) -> [RGB] {
        func rgb(_ c: TermColor, _ fallback: RGB) -> RGB {
            switch c {
            case .rgb(let r, let g, let b): return RGB(r, g, b)
            case .ansi(let i):
                let c = ColorMapping.ansi16[Int(i) % 16]
                return RGB(c.0, c.1, c.2)
            case .default: return fallback
            }
        }
        return [rgb(styles.key.fg, RGB(80, 200, 80)), rgb(styles.error.fg, RGB(230, 60, 60)), rgb(styles.dim.fg, RGB(110, 110, 110))]
    }

    static func drawComparePanes(_ grid: inout CellGrid, _ state: AppState, _ rect: Rect) -> [GraphicPlacement] {
        let s = state.styles
        let h = state.cockpit.history
        let c = state.compare
        guard let id = compareSelectedID(state) else {
            let inner = grid.box(rect, title: "Image | truth | prediction | errors", border: s.border, titleStyle: s.title)
            if state.cockpit.isReadOnly, case .failed(let message)? = c.saved, inner.width > 2, inner.height > 2 {
                grid.put("cannot show this run's saved predictions", x: inner.x + 1, y: inner.y, style: s.error, maxWidth: inner.width - 1)
                grid.wrapped(message, in: Rect(x: inner.x + 1, y: inner.y + 2, width: inner.width - 2, height: inner.height - 2), style: s.main)
                return []
            }
            if inner.height > 0 { grid.centered("nothing to compare yet", in: inner, y: inner.y + inner.height / 2, style: s.dim) }
            return []
        }
        let prediction = h.predictions[id]
        var title = id
        if let p = prediction {
            title += String(format: " · mIoU %.3f · acc %.3f · predicted at it %d", p.score.mIoU, p.score.pixelAccuracy, p.iteration)
            if !state.cockpit.isReadOnly, let e = h.latestEvaluation, p.iteration < e.iteration { title += " (before the latest evaluation)" }
        } else if state.cockpit.isReadOnly, let score = gallery(state).first(where: { $0.id == id }) {
            // Scored by the evaluation (samples.json) without a saved mask.
            func f(_ v: Double) -> String { v.isFinite ? String(format: "%.3f", v) : "—" }
            title += " · mIoU \(f(score.mIoU)) · acc \(f(score.pixelAccuracy)) · no saved mask"
        }
        let inner = grid.box(rect, title: title, border: s.border, titleStyle: s.title)
        guard inner.width > 8, inner.height > 3 else { return [] }
        let palette = state.browser.palette
        let sample: Sample
        switch c.slot(for: id) {
        case .loaded(let loaded)?:
            sample = loaded
        case .failed(let message)? where prediction != nil:
            // The dataset cannot be read: say so, and still show the saved prediction.
            guard let p = prediction else { return [] }
            grid.put("cannot read the image and truth from the run's dataset; the prediction alone:", x: inner.x + 1, y: inner.y,
                     style: s.error, maxWidth: inner.width - 1)
            grid.wrapped(message, in: Rect(x: inner.x + 1, y: inner.y + 1, width: inner.width - 2, height: 2), style: s.dim)
            let area = Rect(x: inner.x, y: inner.y + 3, width: inner.width, height: max(0, inner.height - 3))
            guard area.height > 2 else { return [] }
            grid.centered("prediction", in: area, y: area.y, style: s.dim)
            let content = PreviewContent.mask(p.prediction, palette: palette)
            let cells = HalfBlocks.draw(content, in: Rect(x: area.x, y: area.y + 1, width: area.width, height: area.height - 1),
                                        grid: &grid, depth: state.depth, background: s.background)
            guard state.graphics, !cells.isEmpty else { return [] }
            return [GraphicPlacement(key: "\(id)/prediction/\(p.iteration)", rect: cells, image: content.fullResolution, isMask: true)]
        case .failed(let message)?:
            grid.put("cannot read this sample", x: inner.x + 1, y: inner.y, style: s.error, maxWidth: inner.width - 1)
            grid.wrapped(message, in: Rect(x: inner.x + 1, y: inner.y + 2, width: inner.width - 2, height: inner.height - 2), style: s.main)
            return []
        case nil, .loading?:
            grid.centered("loading \(id)…", in: inner, y: inner.y + inner.height / 2, style: s.dim)
            return []
        }
        let hidden = Set(c.hidden.compactMap { $0 < 255 ? UInt8($0) : nil })
        func masked(_ label: LabelMap) -> PreviewContent {
            guard label.width == sample.image.width, label.height == sample.image.height else { return .mask(label, palette: palette) }
            if c.opacity >= 1 && hidden.isEmpty { return .mask(label, palette: palette) }
            return .overlay(sample.image, label, palette: palette, opacity: c.opacity, transparent: hidden)
        }
        var panes: [(caption: String, content: PreviewContent?, key: String, note: String)] = [
            ("image \(sample.image.width)×\(sample.image.height)", .photo(sample.image), "\(id)/image", ""),
            ("truth", masked(sample.label), "\(id)/truth", ""),
        ]
        if let p = prediction {
            panes.append(("prediction", masked(p.prediction), "\(id)/prediction/\(p.iteration)", ""))
            if let errors = CompareMath.errorMap(truth: sample.label, prediction: p.prediction) {
                panes.append(("errors", .mask(errors, palette: errorPalette(s)), "\(id)/errors/\(p.iteration)", ""))
            } else {
                panes.append(("errors", nil, "", "prediction \(p.prediction.width)×\(p.prediction.height) ≠ truth \(sample.label.width)×\(sample.label.height)"))
            }
        } else {
            let note: String
            if state.cockpit.isReadOnly {
                if case .loaded(let e)? = c.saved, e.scoredSamples != nil {
                    note = "mask not saved (the run keeps \(e.scores.count))"
                } else {
                    note = "no saved prediction"
                }
            } else if h.isActive {
                note = "predicting…"
            } else {
                switch state.compare.saved {
                case .loaded?: note = "no saved prediction of this image (the run saved its first validation images')"
                case .loading?: note = "reading the run's saved predictions…"
                case .failed(let why)?: note = why
                case nil: note = "no prediction (the run is not active)"
                }
            }
            panes.append(("prediction", nil, "", note))
            panes.append(("errors", nil, "", ""))
        }
        let areas = CompareLayout.paneAreas(in: inner, imageWidth: sample.image.width, imageHeight: sample.image.height)
        var graphics: [GraphicPlacement] = []
        for (i, pane) in panes.enumerated() {
            let area = areas[i]
            grid.centered(pane.caption, in: area, y: area.y, style: s.dim)
            let pictureArea = Rect(x: area.x, y: area.y + 1, width: area.width, height: area.height - 2)
            guard let content = pane.content else {
                grid.centered(pane.note, in: area, y: area.y + area.height / 2, style: s.dim)
                continue
            }
            let cells: Rect
            if case .mask(let errors, let colors) = content, pane.caption == "errors" {
                let place = HalfBlocks.layout(width: errors.width, height: errors.height, in: pictureArea)
                cells = place.cells
                if place.pixelWidth > 0, state.depth == .mono {
                    // Mono: one glyph per cell (ok blank, wrong █, void ▓), as masks are drawn.
                    let pooled = CompareMath.poolErrors(errors, width: place.pixelWidth, height: place.cells.height)
                    HalfBlocks.drawGlyphs(pooled, at: cells, grid: &grid)
                } else if place.pixelWidth > 0 {
                    let pooled = CompareMath.poolErrors(errors, width: place.pixelWidth, height: place.pixelHeight)
                    HalfBlocks.draw(pixels: MaskPainter.colorize(pooled, palette: colors), at: cells, grid: &grid, depth: state.depth,
                                    background: s.background)
                }
            } else {
                cells = HalfBlocks.draw(content, in: pictureArea, grid: &grid, depth: state.depth, background: s.background)
            }
            if state.graphics, !cells.isEmpty {
                graphics.append(GraphicPlacement(key: pane.key, rect: cells, image: content.fullResolution, isMask: content.isMask))
            }
        }
        // The error map's legend under its pane.
        if prediction != nil, panes.count == 4 {
            let area = Rect(x: areas[3].x, y: areas[3].maxY - 1, width: areas[3].width, height: 1)
            let colors = errorPalette(s)
            var x = area.x
            for (v, (name, color)) in zip(["ok", "wrong", "void"], colors).enumerated() {
                // Mono: the glyphs the error map is drawn with (ok is blank there).
                let swatch = state.depth == .mono ? Style() : Style(fg: TermColor(color), bg: s.background)
                let glyph = state.depth == .mono ? (v == 0 ? "" : String(ClassDisplay.glyph(v))) : "█"
                x = grid.put(glyph, x: x, y: area.y, style: swatch)
                let label = state.depth == .mono && v == 0 ? "blank=ok " : name + " "
                x = grid.put(label, x: x, y: area.y, style: s.dim, maxWidth: area.maxX - x)
            }
        }
        return graphics
    }

    /// The classes the toggle list shows: those in the shown image's truth or prediction first,
    /// then the others.
    static func compareClassList(_ state: AppState) -> [Int] {
        let n = state.cockpit.history.classNames.count
        var present = Set<Int>()
        if let id = compareSelectedID(state) {
            if case .loaded(let sample)? = state.compare.slot(for: id) {
                for v in sample.label.values where Int(v) < n { present.insert(Int(v)) }
            }
            if let p = state.cockpit.history.predictions[id] {
                for v in p.prediction.values where Int(v) < n { present.insert(Int(v)) }
            }
        }
        return (0..<n).filter { present.contains($0) } + (0..<n).filter { !present.contains($0) }
    }

    /// Classes with their toggle, this image's IoU per class when predicted.
    static func drawCompareClasses(_ grid: inout CellGrid, _ state: AppState, _ rect: Rect) {
        let s = state.styles
        let c = state.compare
        let names = state.cockpit.history.classNames
        let inner = grid.box(rect, title: "Classes · Space toggles · IoU on this image", border: s.border, titleStyle: s.title)
        guard inner.width > 10, inner.height > 0, !names.isEmpty else { return }
        var ious: [Int: Double] = [:]
        if let id = compareSelectedID(state), let p = state.cockpit.history.predictions[id], case .loaded(let sample)? = c.slot(for: id) {
            for (k, v) in CompareMath.classIoU(truth: sample.label, prediction: p.prediction, classCount: names.count) { ious[k] = v }
        }
        let columnWidth = 24
        let columns = max(1, inner.width / columnWidth)
        for (position, i) in compareClassList(state).enumerated() {
            let name = names[i]
            let column = position / inner.height, row = position % inner.height
            guard column < columns else { break }
            let x = inner.x + column * columnWidth, y = inner.y + row
            let onCursor = i == c.classCursor
            let shown = !c.hidden.contains(i)
            let base = onCursor ? s.selected : s.main
            var cx = grid.put(shown ? "[x]" : "[ ]", x: x, y: y, style: base)
            let color = classColor(state, i)
            cx = grid.put(" " + (state.depth == .mono ? String(ClassDisplay.glyph(i)) : "█"), x: cx, y: y,
                          style: state.depth == .mono ? base : Style(fg: color, bg: base.bg))
            cx = grid.put(" " + TextWidth.pad(name, to: 11), x: cx, y: y, style: shown ? base : s.dim)
            if let v = ious[i] { grid.put(String(format: " %.2f", v), x: cx, y: y, style: onCursor ? base : s.dim) }
        }
    }
}
