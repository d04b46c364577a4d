/// One row of a bar list: a label, a value in 0...1 (NaN = undefined, drawn as "—"), a colour.
public struct BarItem: Equatable, Sendable {
    public var label: String
    public var value: Double
    public var color: TermColor?

    public init(label: String, value: Double, color: TermColor? = nil) {
        self.label = label
        self.value = value
        self.color = color
    }
}

/// Horizontal bars with their labels and values (per-class IoU): `name  ████▌    0.734`.
public struct BarList: Sendable {
    public var items: [BarItem]
    /// Digits after the point of the value column.
    public var decimals: Int

    public init(items: [BarItem], decimals: Int = 3) {
        self.items = items
        self.decimals = decimals
    }

    /// Draws as many rows as fit; when rows are missing the last one says how many more there
    /// are. A swatch of the item's colour precedes the label when `swatches` is set.
    public func draw(in rect: Rect, grid: inout CellGrid, styles: Styles, swatches: Bool = true) {
        guard rect.width >= 12, rect.height >= 1 else { return }
        let valueWidth = decimals + 3
        let swatchWidth = swatches ? 2 : 0
        let labelWidth = min(14, max(4, items.map { TextWidth.width($0.label) }.max() ?? 4), max(4, rect.width / 3))
        let barWidth = max(1, rect.width - swatchWidth - labelWidth - 1 - valueWidth - 1)
        let rowsShown = items.count > rect.height ? rect.height - 1 : items.count
        for (row, item) in items.prefix(max(0, rowsShown)).enumerated() {
            let y = rect.y + row
            var x = rect.x
            if swatches {
                let color = item.color ?? styles.bar.fg
                grid.put("█", x: x, y: y, style: Style(fg: color, bg: styles.background))
                x += swatchWidth
            }
            grid.put(TextWidth.pad(item.label, to: labelWidth), x: x, y: y, style: styles.main)
            x += labelWidth + 1
            if item.value.isNaN {
                grid.put(TextWidth.pad("", to: barWidth), x: x, y: y, style: styles.barTrack)
                grid.put("—", x: x + barWidth + valueWidth, y: y, style: styles.dim)
            } else {
                grid.bar(x: x, y: y, width: barWidth, fraction: item.value, style: Style(fg: styles.bar.fg, bg: styles.barTrack.bg),
                         track: styles.barTrack)
                let text = String(format: "%.\(decimals)f", item.value)
                grid.put(text, x: x + barWidth + 1 + valueWidth - TextWidth.width(text), y: y, style: styles.main)
            }
        }
        if items.count > rect.height, rect.height > 0 {
            grid.put("+\(items.count - rowsShown) more", x: rect.x, y: rect.maxY - 1, style: styles.dim, maxWidth: rect.width)
        }
    }
}
