/// One key binding: the keys, how help and footer name them, what it does, and when it is
/// unavailable (with the reason shown in the help overlay). The help overlay and the footer are
/// both generated from the table, so they cannot disagree with what the keys do.
public struct KeyBinding<Action: Sendable>: Sendable {
    public var keys: [Key]
    /// The keys as shown, e.g. "↑↓ j k".
    public var label: String
    /// Short text for the footer; nil keeps the binding out of the footer.
    public var footer: String?
    /// In the footer only when the width allows: dropped (last first) before anything else is
    /// cut off, so the essential keys (help, quit) stay visible on narrow terminals.
    public var footerOptional: Bool
    /// Full text for the help overlay.
    public var help: String
    /// The action of each key in `keys` (a binding may group related keys, e.g. up and down).
    public var actions: [Action]
    /// Why the binding does nothing in `state` right now, or nil when it is available.
    public var disabledReason: @Sendable (AppState) -> String?

    public init(_ keys: [Key], label: String? = nil, footer: String?, footerOptional: Bool = false, help: String, action: Action,
                disabledReason: @escaping @Sendable (AppState) -> String? = { _ in nil }) {
        self.keys = keys
        self.label = label ?? keys.map(\.label).joined(separator: "/")
        self.footer = footer
        self.footerOptional = footerOptional
        self.help = help
        actions = Array(repeating: action, count: keys.count)
        self.disabledReason = disabledReason
    }

    /// Several keys with their own actions under one label, e.g. `[(.up, .up), (.down, .down)]`.
    public init(_ pairs: [(Key, Action)], label: String, footer: String?, footerOptional: Bool = false, help: String,
                disabledReason: @escaping @Sendable (AppState) -> String? = { _ in nil }) {
        keys = pairs.map(\.0)
        actions = pairs.map(\.1)
        self.label = label
        self.footer = footer
        self.footerOptional = footerOptional
        self.help = help
        self.disabledReason = disabledReason
    }

    public func action(for key: Key) -> Action? { keys.firstIndex(of: key).map { actions[$0] } }
}

/// A screen's bindings, looked up by key.
public struct KeyTable<Action: Sendable>: Sendable {
    public var bindings: [KeyBinding<Action>]

    public init(_ bindings: [KeyBinding<Action>]) { self.bindings = bindings }

    public func binding(for key: Key) -> KeyBinding<Action>? { bindings.first { $0.keys.contains(key) } }

    /// Footer entries (key label, text) of the bindings available in `state`; optional ones
    /// are left out, last first, until the rest fit `state.columns`.
    /// `reserving` cells at the right are kept for a notice (optional entries give way first).
    public func footerEntries(_ state: AppState, reserving: Int = 0) -> [(key: String, text: String)] {
        var entries: [(key: String, text: String, optional: Bool)] = bindings.compactMap { b in
            guard let text = b.footer, b.disabledReason(state) == nil else { return nil }
            return (b.label, text, b.footerOptional)
        }
        while !CellGrid.footerFits(entries.map { ($0.key, $0.text) }, width: state.columns - reserving),
              let last = entries.lastIndex(where: \.optional) {
            entries.remove(at: last)
        }
        return entries.map { ($0.key, $0.text) }
    }

    /// Help lines: (keys, description, reason it is unavailable).
    public func helpEntries(_ state: AppState) -> [(key: String, text: String, disabled: String?)] {
        bindings.map { ($0.label, $0.help, $0.disabledReason(state)) }
    }
}

extension CellGrid {
    /// Whether `footer` shows every one of `entries` on a line `width` cells wide.
    public static func footerFits(_ entries: [(key: String, text: String)], width: Int) -> Bool {
        guard !entries.isEmpty else { return true }
        let cells = entries.reduce(0) { $0 + TextWidth.width($1.key) + 1 + TextWidth.width($1.text) } + 2 * (entries.count - 1)
        return 1 + cells <= width - 1
    }

    /// The footer line: "key text  key text …", as many entries as fit (in the first `room`
    /// cells: the rest is left for a notice).
    public mutating func footer(_ entries: [(key: String, text: String)], y: Int, styles: Styles, room: Int? = nil) {
        fill(Rect(x: 0, y: y, width: width, height: 1), with: Cell(" ", styles.footer))
        let end = min(width, room ?? width)
        var x = 1
        for entry in entries {
            let w = TextWidth.width(entry.key) + 1 + TextWidth.width(entry.text)
            if x + w > end - 1 { break }
            x = put(entry.key, x: x, y: y, style: styles.footerKey)
            x = put(" " + entry.text, x: x, y: y, style: styles.footer) + 2
        }
    }

    /// The help overlay: a centred box listing every binding (descriptions wrapped); unavailable
    /// ones are dimmed with their reason.
    public mutating func helpOverlay(title: String, entries: [(key: String, text: String, disabled: String?)],
                                     notes: [String], styles: Styles) {
        let keyWidth = min(14, (entries.map { TextWidth.width($0.key) }.max() ?? 4) + 2)
        let w = min(width - 4, 84)
        let textWidth = w - 2 - keyWidth - 2
        guard w > 24, textWidth > 8 else { return }
        var lines: [(key: String, text: String, enabled: Bool)] = []
        for e in entries {
            var text = e.text
            if let reason = e.disabled { text += " — \(reason)" }
            for (i, line) in Self.wrap(text, width: textWidth).enumerated() {
                lines.append((i == 0 ? e.key : "", line, e.disabled == nil))
            }
        }
        let h = min(height - 2, lines.count + notes.count + (notes.isEmpty ? 0 : 1) + 4)
        guard h > 4 else { return }
        let rect = Rect(x: (width - w) / 2, y: (height - h) / 2, width: w, height: h)
        let inner = box(rect, title: title, border: styles.overlay, titleStyle: styles.overlayKey, fill: styles.overlay)
        var y = inner.y + 1
        let dim = Style(fg: styles.dim.fg, bg: styles.overlay.bg, attributes: styles.dim.attributes)
        for line in lines {
            guard y < inner.maxY else { break }
            put(" " + line.key, x: inner.x, y: y, style: line.enabled ? styles.overlayKey : dim)
            put(line.text, x: inner.x + keyWidth + 1, y: y, style: line.enabled ? styles.overlay : dim, maxWidth: textWidth)
            y += 1
        }
        if !notes.isEmpty { y += 1 }
        for note in notes where y < inner.maxY {
            put(" " + note, x: inner.x, y: y, style: dim, maxWidth: inner.width - 1)
            y += 1
        }
    }

    /// `text` split into lines of at most `width` cells at spaces.
    static func wrap(_ text: String, width: Int) -> [String] {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            let candidate = line.isEmpty ? String(word) : line + " " + word
            if TextWidth.width(candidate) > width && !line.isEmpty {
                lines.append(line)
                line = String(word)
            } else {
                line = candidate
            }
        }
        lines.append(line)
        return lines
    }
}
