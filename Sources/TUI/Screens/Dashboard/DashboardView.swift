import Datasets
import EngineProtocol
import Foundation

/// Where the dashboard's panes go.
public struct CockpitLayout: Equatable, Sendable {
    public var header: Rect
    public var progress: Rect
    public var charts: [Rect]
    public var classIoU: Rect
    public var confusion: Rect
    public var log: Rect
    public var footer: Rect

    public init(columns: Int, rows: Int) {
        header = Rect(x: 0, y: 0, width: columns, height: 1)
        progress = Rect(x: 0, y: 1, width: columns, height: 1)
        footer = Rect(x: 0, y: rows - 1, width: columns, height: 1)
        let body = Rect(x: 0, y: 2, width: columns, height: rows - 3)
        let logHeight = rows >= 40 ? 9 : 6
        let (upper, log) = body.splitTop(body.height - logHeight)
        self.log = log
        let (left, right) = upper.splitLeft(columns * 58 / 100)
        let (top, bottom) = left.splitTop(left.height / 2)
        let (a, b) = top.splitLeft(top.width / 2)
        let (c, d) = bottom.splitLeft(bottom.width / 2)
        charts = [a, b, c, d]
        (classIoU, confusion) = right.splitTop(right.height * 45 / 100)
    }
}

extension App {
    static func drawCockpit(_ grid: inout CellGrid, _ state: AppState) -> [GraphicPlacement] {
        let layout = CockpitLayout(columns: state.columns, rows: state.rows)
        let c = state.cockpit
        let s = state.styles
        drawCockpitHeader(&grid, state, layout.header)
        drawProgress(&grid, state, layout.progress)
        let charts = dashboardCharts(c, state.dashboard, styles: s)
        for (rect, chart) in zip(layout.charts, charts) {
            let inner = grid.box(rect, title: chart.title, border: s.border, titleStyle: s.title)
            chart.chart.draw(in: inner, grid: &grid, styles: s)
        }
        drawClassIoU(&grid, state, layout.classIoU)
        drawConfusion(&grid, state, layout.confusion)
        let logInner = grid.box(layout.log, title: "Log", border: s.border, titleStyle: s.title)
        if c.history.log.isEmpty {
            grid.put(c.isReadOnly ? "no events in this run's log" : "waiting for the engine…", x: logInner.x + 1, y: logInner.y,
                     style: s.dim, maxWidth: logInner.width - 1)
        } else {
            LogPane.draw(c.history.log, in: logInner, grid: &grid, styles: s)
        }
        drawCockpitFooter(&grid, state, layout.footer, keys: cockpitKeys.footerEntries(state))
        return []
    }

    /// The footer, or the prompt / question / notice that takes its place.
    static func drawCockpitFooter(_ grid: inout CellGrid, _ state: AppState, _ rect: Rect, keys: [(key: String, text: String)]) {
        let s = state.styles
        let c = state.cockpit
        if let question = c.quitQuestion {
            grid.fill(rect, with: Cell(" ", s.overlay))
            let text = question == .asking
                ? (c.attachment != nil
                    ? " Attached to a live run.  d  detach (it keeps training)   s  stop it with a checkpoint   Esc  cancel"
                    : c.detachable
                        ? " A run is in progress.  d  detach (it keeps training)   s  stop it with a checkpoint   Esc  cancel"
                        : " A run is in progress.  s  stop it (last checkpoint written) and quit   k/Esc  keep training")
                : " stopping the run and writing its checkpoint… (^C quits at once)"
            grid.put(text, x: rect.x, y: rect.y, style: s.overlayKey, maxWidth: rect.width)
            return
        }
        if let prompt = state.dashboard.prompt {
            grid.fill(rect, with: Cell(" ", s.overlay))
            var x = grid.put(" base learning rate: ", x: rect.x, y: rect.y, style: s.overlayKey)
            x = grid.put(prompt.text, x: x, y: rect.y, style: s.overlay)
            grid.set(x, rect.y, Cell("▏", s.overlayKey))
            // The step's rate is the base times the schedule's factor: say what it is now.
            let now = state.cockpit.history.lastStep.map { "now \(String(format: "%.3g", $0.learningRate)) after the schedule · " } ?? ""
            let hint = prompt.error ?? "\(now)Enter sends · Esc cancels"
            grid.put(hint, x: x + 3, y: rect.y, style: prompt.error == nil ? s.overlay : s.error.with(bg: s.overlay.bg),
                     maxWidth: rect.maxX - x - 3)
            return
        }
        grid.footer(keys, y: rect.y, styles: s)
        if let notice = c.notice {
            let text = " " + TextWidth.truncate(notice, to: max(0, rect.width / 2)) + " "
            grid.put(text, x: rect.maxX - TextWidth.width(text), y: rect.y, style: Style(fg: s.warning.fg, bg: s.footer.bg))
        }
    }

    static func drawCockpitHeader(_ grid: inout CellGrid, _ state: AppState, _ rect: Rect) {
        let s = state.styles
        let h = state.cockpit.history
        grid.fill(rect, with: Cell(" ", s.header))
        var x = grid.put(" Segscope ", x: rect.x, y: rect.y, style: s.header)
        x = grid.put("│ ", x: x, y: rect.y, style: s.header.with(fg: s.dim.fg))
        let what = state.cockpit.readOnlyName.map { "past run \($0)" }
            ?? state.cockpit.attachment.map { "attached \($0.name)\($0.control ? "" : " (read-only)")" } ?? "training"
        x = grid.put(what, x: x, y: rect.y, style: s.header) + 1
        if let model = h.started?.model {
            // A past run whose model is unknown to the registry has no parameter count.
            let params = model.trainableParameters > 0 ? " (\(ChartMath.compact(Double(model.trainableParameters))) params)" : ""
            x = grid.put("· \(model.name)\(params) ", x: x, y: rect.y, style: s.header)
        }
        let stateText = state.cockpit.isReadOnly ? (h.finished.map { $0.reason.rawValue } ?? "read-only") : h.engineState.rawValue
        let stateStyle: Style = {
            switch h.engineState {
            case .running: return Style(fg: s.key.fg, bg: s.header.bg, attributes: .bold)
            case .paused, .stopping: return Style(fg: s.warning.fg, bg: s.header.bg, attributes: .bold)
            case .idle: return Style(fg: h.failure != nil ? s.error.fg : s.dim.fg, bg: s.header.bg, attributes: .bold)
            }
        }()
        x = grid.put("· ", x: x, y: rect.y, style: s.header)
        grid.put(h.failure != nil && h.engineState == .idle ? "failed" : stateText, x: x, y: rect.y, style: stateStyle)
        if let dir = h.started?.runDirectory {
            let name = (dir as NSString).lastPathComponent
            grid.put(name, x: rect.maxX - TextWidth.width(name) - 1, y: rect.y, style: s.header.with(fg: s.dim.fg))
        }
    }

    /// "h m s" for durations.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "—" }
        let t = Int(seconds.rounded())
        if t >= 3600 { return "\(t / 3600)h\(String(format: "%02d", t % 3600 / 60))m" }
        if t >= 60 { return "\(t / 60)m\(String(format: "%02d", t % 60))s" }
        return "\(t)s"
    }

    static func drawProgress(_ grid: inout CellGrid, _ state: AppState, _ rect: Rect) {
        let s = state.styles
        let h = state.cockpit.history
        guard let r = h.started else {
            let text = state.cockpit.isReadOnly ? "this run's log has no start record"
                : "no run yet — start one from the launcher (segscope train also drives the engine headless)"
            grid.put(" " + text, x: rect.x, y: rect.y, style: s.dim, maxWidth: rect.width)
            return
        }
        let step = h.lastStep
        let total = max(1, step?.totalIterations ?? r.totalIterations)
        let iteration = step?.iteration ?? r.resumedFromIteration ?? 0
        let epochs = r.config.countsEpochs ? r.config.epochs : Int((Double(total) / Double(h.iterationsPerEpoch)).rounded(.up))
        var x = grid.put(" epoch \(step?.epoch ?? 1)/\(epochs) · it \(iteration)/\(total) ", x: rect.x, y: rect.y, style: s.main)
        let barWidth = max(8, min(30, rect.width / 6))
        let fraction = Double(iteration) / Double(total)
        grid.bar(x: x, y: rect.y, width: barWidth, fraction: fraction, style: Style(fg: s.bar.fg, bg: s.barTrack.bg), track: s.barTrack)
        x += barWidth
        x = grid.put(" " + Formatting.percent(fraction), x: x, y: rect.y, style: s.accent) + 2
        // Most important first; parts that do not fit are left out whole.
        var parts: [String] = []
        // An overlaid run is named here: the chart titles are too narrow to carry it.
        if let other = state.cockpit.overlayName {
            let warnings = state.cockpit.overlay.map { RunComparison.overlayWarnings(h, $0) } ?? []
            parts.append("vs \(other) (dim curves)" + (warnings.isEmpty ? "" : " ⚠ " + warnings.joined(separator: ", ")))
        }
        if let step {
            parts.append(String(format: "%.1f img/s", step.imagesPerSecond))
            if state.cockpit.isReadOnly {
                // A past run: no ETA (it is not running); its length instead.
            } else if let eta = h.eta {
                parts.append("ETA " + duration(eta))
            } else if h.engineState == .running {
                parts.append("ETA estimating…")
            }
            parts.append("lr " + String(format: "%.2e", step.learningRate))
            parts.append(String(format: "loss %.4f", step.loss))
            parts.append("elapsed " + duration(step.elapsedSeconds))
        } else {
            parts.append("waiting for the first step…")
        }
        var text = ""
        for part in parts {
            let candidate = text.isEmpty ? part : text + " · " + part
            if TextWidth.width(candidate) > rect.maxX - x - 1 { break }
            text = candidate
        }
        grid.put(text, x: x, y: rect.y, style: s.main, maxWidth: rect.maxX - x)
    }

    /// The four charts, each with a legend: loss (train raw faint, its EMA, val), learning rate,
    /// pixel accuracy (train running + val aAcc), val mIoU. An overlaid run's curves come first,
    /// dimmed, and are named after it in the legends. `l` puts loss and learning rate on a log
    /// axis; every chart's y range leaves out outliers (a first-iteration spike is clipped).
    static func dashboardCharts(_ c: CockpitState, _ d: DashboardState, styles s: Styles) -> [(title: String, chart: LineChart)] {
        let h = c.history
        let axis = d.axis
        let unit = axis == .iterations ? "iteration" : "epoch"
        let raw = s.bar.fg, smooth = s.accent.fg, val = s.key.fg, other = s.dim.fg
        let weight = d.smoothing
        let emaName = weight > 0 ? "EMA \(String(format: "%g", weight))" : "train"
        func trainLoss(_ h: RunHistory, color: TermColor, withRaw: Bool, prefix: String) -> [ChartSeries] {
            let xs = h.steps.map { h.x($0.iteration, axis) }
            var out: [ChartSeries] = []
            if withRaw && weight > 0 {
                out.append(ChartSeries(name: prefix + "train", points: zip(xs, h.steps).map { ChartPoint($0, $1.loss) }, color: raw,
                                       faint: true))
            }
            let smoothed = weight > 0 ? ChartMath.ema(h.steps.map(\.loss), weight: weight) : h.steps.map(\.loss)
            out.append(ChartSeries(name: prefix + emaName, points: zip(xs, smoothed).map { ChartPoint($0, $1) }, color: color))
            return out
        }
        func valLoss(_ h: RunHistory, color: TermColor, prefix: String) -> ChartSeries {
            ChartSeries(name: prefix + "val", points: h.evaluations.compactMap { e in e.loss.map { ChartPoint(h.x(e.iteration, axis), $0) } },
                        color: color)
        }
        func learningRate(_ h: RunHistory, color: TermColor, prefix: String) -> ChartSeries {
            ChartSeries(name: prefix + "lr", points: h.steps.map { ChartPoint(h.x($0.iteration, axis), $0.learningRate) }, color: color)
        }
        func accuracy(_ h: RunHistory, train: TermColor, val: TermColor, prefix: String) -> [ChartSeries] {
            [ChartSeries(name: prefix + "train", points: h.steps.map { ChartPoint(h.x($0.iteration, axis), $0.pixelAccuracy) }, color: train,
                         faint: true),
             ChartSeries(name: prefix + "val aAcc", points: h.evaluations.map { ChartPoint(h.x($0.iteration, axis), $0.aAcc) }, color: val)]
        }
        func miou(_ h: RunHistory, color: TermColor, prefix: String) -> ChartSeries {
            ChartSeries(name: prefix + "val", points: h.evaluations.map { ChartPoint(h.x($0.iteration, axis), $0.mIoU) }, color: color)
        }
        var loss: [ChartSeries] = [], lr: [ChartSeries] = [], acc: [ChartSeries] = [], iou: [ChartSeries] = []
        if let o = c.overlay {
            // The overlay's legend entries start with "vs", as the progress row names it.
            let p = "vs "
            loss += trainLoss(o, color: other, withRaw: false, prefix: p)
            loss.append(valLoss(o, color: other, prefix: p))
            lr.append(learningRate(o, color: other, prefix: p))
            acc.append(accuracy(o, train: other, val: other, prefix: p)[1])
            iou.append(miou(o, color: other, prefix: p))
        }
        for i in loss.indices { loss[i].secondary = true }
        for i in lr.indices { lr[i].secondary = true }
        for i in acc.indices { acc[i].secondary = true }
        for i in iou.indices { iou[i].secondary = true }
        loss += trainLoss(h, color: smooth, withRaw: true, prefix: "")
        loss.append(valLoss(h, color: val, prefix: ""))
        lr.append(learningRate(h, color: smooth, prefix: ""))
        acc += accuracy(h, train: raw, val: val, prefix: "")
        iou.append(miou(h, color: val, prefix: ""))
        let last = h.evaluations.last
        let g = d.glyphs
        let waiting = "no evaluation yet"
        let yScale: ChartScale = d.logScale ? .log : .linear
        var lossTitle = "loss"
        if let step = h.lastStep { lossTitle += String(format: " %.3f", step.epochLoss) }
        if let v = last?.loss { lossTitle += String(format: " · val %.3f", v) }
        return [
            (lossTitle, LineChart(series: loss, xLabel: unit, glyphs: g, emptyText: "waiting for the first step", scale: yScale)),
            ("learning rate" + (h.lastStep.map { String(format: " %.2e", $0.learningRate) } ?? ""),
             LineChart(series: lr, xLabel: unit, glyphs: g, emptyText: "waiting for the first step", scale: yScale)),
            ("pixel acc" + (last.map { String(format: " · val %.3f", $0.aAcc) } ?? ""),
             LineChart(series: acc, xLabel: unit, glyphs: g, yRange: nil, emptyText: "waiting for the first step")),
            ("val mIoU" + (last.map { String(format: " · %.3f", $0.mIoU) } ?? ""),
             LineChart(series: iou, xLabel: unit, glyphs: g, emptyText: waiting)),
        ]
    }

    static func classColor(_ state: AppState, _ c: Int) -> TermColor {
        let palette = state.browser.palette
        return c < palette.count ? TermColor(palette[c]) : state.styles.bar.fg
    }

    /// An evaluation panel before the first evaluation: its box and a dim note.
    static func drawAwaitingEvaluation(_ grid: inout CellGrid, _ s: Styles, _ rect: Rect, title: String) {
        let inner = grid.box(rect, title: title, border: s.border, titleStyle: s.title)
        grid.put("after the first evaluation", x: inner.x + 1, y: inner.y, style: s.dim, maxWidth: inner.width - 1)
    }

    static func drawClassIoU(_ grid: inout CellGrid, _ state: AppState, _ rect: Rect) {
        let s = state.styles
        guard let e = state.cockpit.history.latestEvaluation else {
            return drawAwaitingEvaluation(&grid, s, rect, title: "IoU per class")
        }
        let inner = grid.box(rect, title: "IoU per class · it \(e.iteration)\(e.isBest ? " · best" : "")", border: s.border,
                             titleStyle: s.title)
        // Classes absent from the split (no true and no predicted pixel) have no IoU: counted, not listed.
        let items = e.metrics.classIoU.enumerated().filter { !$0.element.isNaN }.map { c, iou in
            BarItem(label: c < e.classNames.count ? e.classNames[c] : "class \(c)", value: iou, color: classColor(state, c))
        }
        let absent = e.metrics.classIoU.count - items.count
        var area = Rect(x: inner.x + 1, y: inner.y, width: inner.width - 1, height: inner.height)
        if absent > 0, items.count < area.height {
            grid.put("\(absent) class\(absent == 1 ? "" : "es") absent from \(e.split)", x: area.x, y: area.maxY - 1, style: s.dim,
                     maxWidth: area.width)
            area.height -= 1
        }
        BarList(items: items).draw(in: area, grid: &grid, styles: s)
    }

    static func drawConfusion(_ grid: inout CellGrid, _ state: AppState, _ rect: Rect) {
        let s = state.styles
        guard let e = state.cockpit.history.latestEvaluation else {
            return drawAwaitingEvaluation(&grid, s, rect, title: "Confusion (rows: truth)")
        }
        let inner = grid.box(rect, title: "Confusion · rows truth, cols predicted, row-normalised", border: s.border, titleStyle: s.title)
        Heatmap(counts: e.confusion.counts, classCount: e.confusion.classCount, labels: e.classNames)
            .draw(in: Rect(x: inner.x + 1, y: inner.y, width: inner.width - 1, height: inner.height), grid: &grid, styles: s,
                  depth: state.depth)
    }
}
