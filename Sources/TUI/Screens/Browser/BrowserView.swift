import Datasets
import EngineProtocol

extension App {
    /// Draws the browser and returns the graphics placements of its previews.
    static func drawBrowser(_ grid: inout CellGrid, _ state: AppState) -> [GraphicPlacement] {
        let b = state.browser
        let layout = browserLayout(state)
        drawHeader(&grid, state, layout.header)
        if !b.zoomed {
            drawList(&grid, state, layout.list)
            drawFrequency(&grid, state, layout.frequency)
        }
        let graphics = drawPreview(&grid, state, layout.preview)
        drawLegend(&grid, state, layout.legend)
        drawBrowserFooter(&grid, state, layout.footer)
        return graphics
    }

    /// The key footer, with the browser's status (what the filter could not score) at its right.
    static func drawBrowserFooter(_ grid: inout CellGrid, _ state: AppState, _ rect: Rect) {
        let s = state.styles
        guard let status = state.browser.status else {
            grid.footer(browserKeys.footerEntries(state), y: rect.y, styles: s)
            return
        }
        let text = " " + TextWidth.truncate(status, to: max(0, rect.width * 2 / 3)) + " "
        let room = rect.width - TextWidth.width(text)
        grid.footer(browserKeys.footerEntries(state, reserving: TextWidth.width(text)), y: rect.y, styles: s, room: room)
        grid.put(text, x: rect.maxX - TextWidth.width(text), y: rect.y, style: Style(fg: s.warning.fg, bg: s.footer.bg))
    }

    static func drawHeader(_ grid: inout CellGrid, _ state: AppState, _ rect: Rect) {
        let b = state.browser
        let s = state.styles
        grid.fill(rect, with: Cell(" ", s.header))
        var x = grid.put(" Segscope ", x: rect.x, y: rect.y, style: s.header)
        x = grid.put("│ ", x: x, y: rect.y, style: s.header.with(fg: s.dim.fg))
        let right = rightHeader(state)
        let room = rect.width - x - TextWidth.width(right) - 2
        let splitText = b.splits.map { $0 }.joined(separator: " ")
        let nameRoom = max(8, room - TextWidth.width(splitText) - 4)
        x = grid.put(TextWidth.truncate(b.datasetName, to: nameRoom), x: x, y: rect.y, style: s.header) + 1
        x = grid.put("│", x: x, y: rect.y, style: s.header.with(fg: s.dim.fg)) + 1
        for (i, split) in b.splits.enumerated() {
            let style = i == b.splitIndex ? Style(fg: s.accent.fg, bg: s.header.bg, attributes: [.bold, .underline])
                : Style(fg: s.footer.fg, bg: s.header.bg)
            if x + TextWidth.width(split) >= rect.maxX - TextWidth.width(right) - 1 { break }
            x = grid.put(split, x: x, y: rect.y, style: style) + 1
        }
        grid.put(right, x: rect.maxX - TextWidth.width(right) - 1, y: rect.y, style: s.header)
    }

    static func rightHeader(_ state: AppState) -> String {
        let b = state.browser
        switch b.mode {
        case .split: return "image | mask"
        case .image: return "image"
        case .mask: return "mask"
        case .overlay: return "overlay \(Int(b.opacity * 100))%"
        }
    }

    static func sizeText(_ info: SampleInfo?) -> String {
        guard let info else { return "…" }
        if info.error != nil { return "error" }
        return "\(info.width)×\(info.height)"
    }

    static func drawList(_ grid: inout CellGrid, _ state: AppState, _ rect: Rect) {
        let b = state.browser
        let s = state.styles
        let all = b.splitIDs
        var title = "Samples · \(b.split ?? "—")"
        title += b.filter.isEmpty && b.visible.count == all.count ? " (\(all.count))"
            : " · \(b.filter.isEmpty ? "" : "/\(b.filter) ")\(b.visible.count)/\(all.count)"
        var inner = grid.box(rect, title: title, border: s.focus, titleStyle: s.title)
        guard inner.width > 0, inner.height > 0 else { return }
        if b.editingFilter || b.tagPrompt != nil {
            let y = inner.maxY - 1
            grid.fill(Rect(x: inner.x, y: y, width: inner.width, height: 1), with: Cell(" ", s.overlay))
            let text = b.editingFilter ? "/ " + b.filter : "tag: " + (b.tagPrompt ?? "")
            let end = grid.put(text, x: inner.x, y: y, style: s.overlay, maxWidth: inner.width - 1)
            grid.set(end, y, Cell("▏", s.overlayKey))
            inner.height -= 1
        }
        let metrics = b.metrics?.loaded
        if b.listHeaderRows > 0 {
            let header = Rect(x: inner.x, y: inner.y, width: inner.width, height: b.listHeaderRows)
            drawMetricsHeader(&grid, state, header, idWidth: listIDWidth(b, inner) + markWidth(b))
            inner.y += b.listHeaderRows
            inner.height -= b.listHeaderRows
            guard inner.height > 0 else { return }
        }
        guard let split = b.split else { return }
        switch b.ids[split] {
        case nil:
            grid.put("reading the split list…", x: inner.x + 1, y: inner.y, style: s.dim, maxWidth: inner.width - 1)
            return
        case .failure(let error)?:
            grid.wrapped(error.description, in: inner, style: s.error)
            return
        case .success?:
            break
        }
        if b.visible.isEmpty {
            if let problem = b.filterError {
                grid.wrapped("filter: " + problem, in: Rect(x: inner.x + 1, y: inner.y, width: inner.width - 1, height: inner.height),
                             style: s.error)
                return
            }
            let text = all.isEmpty ? "this split is empty"
                : b.filter.isEmpty ? "no sample has this confusion" : "no sample matches “\(b.filter)”"
            grid.put(text, x: inner.x + 1, y: inner.y, style: s.dim, maxWidth: inner.width - 1)
            if !all.isEmpty, inner.height > 2 {
                grid.wrapped(b.filterNote ?? "words are ANDed; also a | b, !a, person>20%, id:2008; after v: iou<0.3, lq<0.2", in:
                             Rect(x: inner.x + 1, y: inner.y + 2, width: inner.width - 1, height: inner.height - 2), style: s.dim)
            }
            return
        }
        let idWidth = listIDWidth(b, inner)
        let sizeWidth = 9
        for row in 0..<inner.height {
            let index = b.scroll + row
            guard index < b.visible.count else { break }
            let id = all[b.visible[index]]
            let info = b.info[id]
            let y = inner.y + row
            let selected = index == b.selection
            let base = selected ? s.selected : s.main
            if selected { grid.fill(Rect(x: inner.x, y: y, width: inner.width, height: 1), with: Cell(" ", s.selected)) }
            var x = grid.put(selected ? "▸" : " ", x: inner.x, y: y, style: base)
            if markWidth(b) > 0 {
                x = grid.put(b.tags.names(of: id).isEmpty ? " " : tagMark, x: x, y: y, style: selected ? base : s.accent)
            }
            x = grid.put(TextWidth.pad(id, to: idWidth), x: x, y: y, style: base) + 1
            if let metrics {
                x = drawMetricsColumns(&grid, state, metrics.byID[id], x: x, y: y, selected: selected)
            } else {
                let size = sizeText(info)
                let sizeStyle = info?.error != nil ? (selected ? base : s.error) : (selected ? base : s.dim)
                x = grid.put(TextWidth.pad(size, to: sizeWidth), x: x, y: y, style: sizeStyle)
            }
            if let info, info.error == nil {
                let classes = TextWidth.truncate(b.objectClasses(info).joined(separator: " "), to: inner.maxX - x)
                grid.put(classes, x: x, y: y, style: selected ? base : s.accent.with(fg: s.main.fg),
                         maxWidth: inner.maxX - x)
            }
            if TextWidth.width(id) > idWidth { grid.set(inner.x + markWidth(b) + idWidth, y, Cell("…", base)) }
        }
    }

    /// The mark of a tagged sample in the list, in a column shown once the dataset has a tag.
    static let tagMark = "●"

    static func markWidth(_ b: BrowserState) -> Int { b.tags.isEmpty ? 0 : 1 }

    static func listIDWidth(_ b: BrowserState, _ inner: Rect) -> Int {
        min(max(8, b.splitIDs.map { TextWidth.width($0) }.max() ?? 8), max(8, inner.width / 2))
    }

    /// The metrics' columns: IoU, pixel accuracy, label quality, or the pixels of the sorted
    /// confusion cell (`Nk px`); `—` where a figure is undefined or the sample was not evaluated.
    static let metricsColumnWidth = 6

    /// A pixel count in at most 5 characters: 1234, 12k, 1.2M.
    static func compactCount(_ n: Int) -> String {
        if n < 10_000 { return String(n) }
        if n < 1_000_000 { return "\(n / 1000)k" }
        return String(format: "%.1fM", Double(n) / 1e6)
    }

    static func drawMetricsColumns(_ grid: inout CellGrid, _ state: AppState, _ m: SampleMetrics?, x: Int, y: Int, selected: Bool) -> Int {
        let s = state.styles
        func figure(_ v: Double?) -> String { v.map { $0.isFinite ? String(format: "%.2f", $0) : "—" } ?? "—" }
        var values = [figure(m?.mIoU), figure(m?.pixelAccuracy), figure(m?.labelQuality)]
        if case .confusion(let t, let p) = state.browser.sort {
            values[2] = m.map { compactCount($0.confused(truth: t, predicted: p)) } ?? "—"
        }
        var x = x
        for (i, v) in values.enumerated() {
            let sorted: Bool
            switch (state.browser.sort, i) {
            case (.iou, 0), (.accuracy, 1), (.labelQuality, 2), (.confusion, 2): sorted = true
            default: sorted = false
            }
            let style = selected ? s.selected : (sorted ? s.accent : (m == nil ? s.dim : s.main))
            let text = String(repeating: " ", count: max(0, metricsColumnWidth - 1 - TextWidth.width(v))) + v
            x = grid.put(text, x: x, y: y, style: style) + 1
        }
        return x
    }

    /// Above the samples: the metrics' column names and where they come from, or why they
    /// could not be read.
    static func drawMetricsHeader(_ grid: inout CellGrid, _ state: AppState, _ rect: Rect, idWidth: Int) {
        let s = state.styles
        switch state.browser.metrics {
        case nil:
            return
        case .loading(let run)?:
            grid.put("reading per-sample metrics of \(run.split(separator: "/").last.map(String.init) ?? run)…", x: rect.x + 1, y: rect.y, style: s.dim,
                     maxWidth: rect.width - 1)
        case .failed(let run, let message)?:
            // The run's own path is long and known: name the file inside it.
            let short = message.replacingOccurrences(of: run.hasSuffix("/") ? run : run + "/", with: "")
            grid.wrapped(short, in: Rect(x: rect.x + 1, y: rect.y, width: rect.width - 1, height: rect.height), style: s.error)
        case .loaded(let m)?:
            // Row 1: which evaluation and the order; row 2: the column names.
            let b = state.browser
            var x = grid.put(" it \(m.file.iteration) · ", x: rect.x, y: rect.y, style: s.dim)
            var order = b.sort.title(m)
            if case .confusion = b.sort { order += " (\(b.visible.count))" }
            grid.put(order, x: x, y: rect.y, style: b.sort == .name ? s.dim : s.accent, maxWidth: rect.maxX - x)
            let w = metricsColumnWidth
            func right(_ t: String) -> String { String(repeating: " ", count: max(0, w - 1 - TextWidth.width(t))) + t + " " }
            var last = "LQ"
            if case .confusion = b.sort { last = "px" }
            x = grid.put(TextWidth.pad("", to: idWidth + 1), x: rect.x, y: rect.y + 1, style: s.dim)
            x = grid.put(right("IoU") + right("acc") + right(last), x: x, y: rect.y + 1, style: s.title)
            grid.put("classes", x: x, y: rect.y + 1, style: s.dim, maxWidth: rect.maxX - x)
        }
    }

    static func drawFrequency(_ grid: inout CellGrid, _ state: AppState, _ rect: Rect) {
        let b = state.browser
        let s = state.styles
        let progress = b.scanProgress
        var title = "Classes · \(b.split ?? "—")"
        if progress.done < progress.total { title += " · scanning \(progress.done)/\(progress.total)" }
        let inner = grid.box(rect, title: title, border: s.border, titleStyle: s.title)
        guard inner.width > 10, inner.height > 0 else { return }
        let totals = b.splitClassTotals
        let labelled = (0..<255).reduce(0) { $0 + totals.pixels[$1] }
        guard labelled > 0 else {
            grid.put(progress.total == 0 ? "no samples" : "scanning masks…", x: inner.x + 1, y: inner.y,
                     style: s.dim, maxWidth: inner.width - 1)
            return
        }
        let classes = (0..<255).filter { totals.pixels[$0] > 0 }.sorted {
            totals.pixels[$0] != totals.pixels[$1] ? totals.pixels[$0] > totals.pixels[$1] : $0 < $1
        }
        let nameWidth = min(12, max(6, inner.width / 3))
        let showImages = inner.width >= 40
        let imagesWidth = showImages ? 8 : 0
        let barWidth = max(1, inner.width - nameWidth - 8 - imagesWidth - 2)
        // Bars are scaled to the largest object class, so a dominant background does not
        // flatten every other bar (the background's own bar is simply full).
        let hasBackground = b.classNames.first == "background"
        let objectTop = classes.first { !(hasBackground && $0 == 0) }.map { totals.pixels[$0] } ?? totals.pixels[classes[0]]
        let top = Double(objectTop) / Double(labelled)
        for (row, v) in classes.prefix(inner.height).enumerated() {
            let y = inner.y + row
            let share = Double(totals.pixels[v]) / Double(labelled)
            let name = row == inner.height - 1 && classes.count > inner.height
                ? "+\(classes.count - inner.height + 1) more" : b.className(v)
            grid.put(TextWidth.pad(name, to: nameWidth), x: inner.x + 1, y: y, style: s.main)
            if name.hasPrefix("+") && classes.count > inner.height { continue }
            let color = v < b.palette.count ? TermColor(b.palette[v]) : s.bar.fg
            // Mono: plain blocks (the theme's reverse bar style would turn "█" into blanks).
            let barStyle = state.depth == .mono ? Style() : Style(fg: color, bg: s.background)
            grid.bar(x: inner.x + 1 + nameWidth, y: y, width: barWidth, fraction: top > 0 ? share / top : 0,
                     style: barStyle, track: s.barTrack)
            let pct = TextWidth.pad(Formatting.percent(share), to: 6)
            var x = grid.put(" " + pct, x: inner.x + 1 + nameWidth + barWidth, y: y, style: s.dim)
            if showImages {
                x = grid.put(" \(totals.images[v]) img", x: x, y: y, style: s.dim, maxWidth: inner.maxX - x)
            }
        }
    }

    static func drawPreview(_ grid: inout CellGrid, _ state: AppState, _ rect: Rect) -> [GraphicPlacement] {
        let b = state.browser
        let s = state.styles
        guard let id = b.selectedID else {
            let inner = grid.box(rect, title: "Preview", border: s.border, titleStyle: s.title)
            if inner.height > 0 { grid.centered("no sample selected", in: inner, y: inner.y + inner.height / 2, style: s.dim) }
            return []
        }
        var title = "\(id) · \(rightHeader(state))"
        if let m = b.metrics?.loaded?.byID[id] {
            func f(_ v: Double) -> String { v.isFinite ? String(format: "%.2f", v) : "—" }
            title += " · IoU \(f(m.mIoU)) acc \(f(m.pixelAccuracy)) LQ \(f(m.labelQuality))"
        }
        let tagNames = b.tags.names(of: id)
        if !tagNames.isEmpty { title += " · \(tagMark) " + tagNames.joined(separator: " ") }
        let inner = grid.box(rect, title: title, border: s.border, titleStyle: s.title)
        guard inner.width > 4, inner.height > 2 else { return [] }
        switch b.slot(for: id) {
        case nil, .loading?:
            grid.centered("loading \(id)…", in: inner, y: inner.y + inner.height / 2, style: s.dim)
            return []
        case .failed(let message)?:
            grid.put("cannot read this sample", x: inner.x + 1, y: inner.y, style: s.error, maxWidth: inner.width - 1)
            grid.wrapped(message, in: Rect(x: inner.x + 1, y: inner.y + 2, width: inner.width - 2, height: inner.height - 2),
                         style: s.main)
            return []
        case .loaded(let sample)?:
            let palette = b.palette
            let transparent: Set<UInt8> = b.classNames.first == "background" ? [0, LabelMap.void] : [LabelMap.void]
            var panes: [(caption: String, content: PreviewContent, key: String)] = []
            let size = "\(sample.image.width)×\(sample.image.height)"
            switch b.mode {
            case .split:
                panes = [("image \(size)", .photo(sample.image), "\(id)/image"),
                         ("mask", .mask(sample.label, palette: palette), "\(id)/mask")]
            case .image:
                panes = [("image \(size)", .photo(sample.image), "\(id)/image")]
            case .mask:
                panes = [("mask \(size)", .mask(sample.label, palette: palette), "\(id)/mask")]
            case .overlay:
                let content: PreviewContent
                if sample.label.width == sample.image.width && sample.label.height == sample.image.height {
                    content = .overlay(sample.image, sample.label, palette: palette, opacity: b.opacity, transparent: transparent)
                } else {
                    content = .photo(sample.image)
                }
                panes = [("overlay \(Int(b.opacity * 100))% \(size)", content, "\(id)/overlay/\(b.opacity)")]
            }
            var graphics: [GraphicPlacement] = []
            for (pane, area) in zip(panes, paneAreas(count: panes.count, in: inner, imageWidth: sample.image.width,
                                                     imageHeight: sample.image.height)) {
                let pictureArea = Rect(x: area.x, y: area.y + 1, width: area.width, height: area.height - 1)
                let cells = HalfBlocks.draw(pane.content, in: pictureArea, grid: &grid, depth: state.depth,
                                            background: s.background)
                grid.centered(pane.caption, in: area, y: max(area.y, cells.y - 1), style: s.dim)
                if state.graphics, !cells.isEmpty {
                    graphics.append(GraphicPlacement(key: pane.key, rect: cells, image: pane.content.fullResolution,
                                                     isMask: pane.content.isMask))
                }
            }
            return graphics
        }
    }

    /// Areas for `count` pictures (each with a caption row): side by side or stacked, whichever
    /// shows a picture of this aspect ratio larger.
    static func paneAreas(count: Int, in inner: Rect, imageWidth: Int, imageHeight: Int) -> [Rect] {
        guard count > 1 else { return [inner] }
        let gap = 1
        let wide = (inner.width - gap * (count - 1)) / count
        let sideBySide = ImageScaler.fit(width: imageWidth, height: imageHeight, maxWidth: wide, maxHeight: 2 * (inner.height - 1))
        let tall = (inner.height - gap * (count - 1)) / count
        let stacked = ImageScaler.fit(width: imageWidth, height: imageHeight, maxWidth: inner.width, maxHeight: 2 * (tall - 1))
        if stacked.width > sideBySide.width {
            return (0..<count).map { Rect(x: inner.x, y: inner.y + $0 * (tall + gap), width: inner.width, height: tall) }
        }
        return (0..<count).map { Rect(x: inner.x + $0 * (wide + gap), y: inner.y, width: wide, height: inner.height) }
    }

    static func drawLegend(_ grid: inout CellGrid, _ state: AppState, _ rect: Rect) {
        let b = state.browser
        let s = state.styles
        let inner = grid.box(rect, title: "Legend", border: s.border, titleStyle: s.title)
        guard inner.width > 10, inner.height > 0, let id = b.selectedID else { return }
        guard let info = b.info[id], info.error == nil else {
            if b.info[id]?.error != nil {
                grid.put("no legend: the sample could not be read", x: inner.x + 1, y: inner.y, style: s.dim, maxWidth: inner.width - 1)
            }
            return
        }
        let total = max(1, info.counts.reduce(0, +))
        let values = info.present.sorted { info.counts[$0] != info.counts[$1] ? info.counts[$0] > info.counts[$1] : $0 < $1 }
        let columnWidth = 28
        let columns = max(1, min(3, inner.width / columnWidth))
        for (i, v) in values.enumerated() {
            let column = i / inner.height, row = i % inner.height
            guard column < columns else { break }
            let x = inner.x + 1 + column * columnWidth
            let y = inner.y + row
            let color: TermColor = v == Int(LabelMap.void) ? TermColor(s.voidColor)
                : v < b.palette.count ? TermColor(b.palette[v]) : .default
            let (swatchText, swatch) = ClassDisplay.swatch(v, color: color, depth: state.depth, background: s.background)
            grid.put(swatchText, x: x, y: y, style: swatch)
            let name = v == Int(LabelMap.void) ? "void (ignored)" : b.className(v)
            grid.put(TextWidth.pad(name, to: 15), x: x + 3, y: y, style: s.main)
            grid.put(TextWidth.pad(Formatting.percent(Double(info.counts[v]) / Double(total)), to: 6), x: x + 19, y: y, style: s.dim)
        }
    }
}
