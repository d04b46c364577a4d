/// Small drawing routines shared by panes: boxes, bars, wrapped text, centred messages.
extension CellGrid {
    /// A box with a one-line border and a title in its top edge; returns the inside.
    @discardableResult
    public mutating func box(_ rect: Rect, title: String = "", border: Style, titleStyle: Style, fill: Style? = nil) -> Rect {
        guard rect.width >= 2, rect.height >= 2 else { return Rect(x: rect.x, y: rect.y, width: 0, height: 0) }
        if let fill { self.fill(rect.inset(1), with: Cell(" ", fill)) }
        let x1 = rect.maxX - 1, y1 = rect.maxY - 1
        for x in (rect.x + 1)..<x1 {
            set(x, rect.y, Cell("─", border))
            set(x, y1, Cell("─", border))
        }
        for y in (rect.y + 1)..<y1 {
            set(rect.x, y, Cell("│", border))
            set(x1, y, Cell("│", border))
        }
        set(rect.x, rect.y, Cell("┌", border))
        set(x1, rect.y, Cell("┐", border))
        set(rect.x, y1, Cell("└", border))
        set(x1, y1, Cell("┘", border))
        if !title.isEmpty, rect.width > 4 {
            let t = TextWidth.truncate(" \(title) ", to: rect.width - 4)
            put(t, x: rect.x + 2, y: rect.y, style: titleStyle)
        }
        return rect.inset(1)
    }

    /// A horizontal bar `fraction` (0...1) of `width` cells long, in eighths of a cell.
    public mutating func bar(x: Int, y: Int, width: Int, fraction: Double, style: Style, track: Style) {
        guard width > 0 else { return }
        let eighths = Int((max(0, min(1, fraction)) * Double(width * 8)).rounded())
        let partials: [Unicode.Scalar] = [" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
        for i in 0..<width {
            let filled = eighths - i * 8
            if filled >= 8 {
                set(x + i, y, Cell("█", style))
            } else if filled > 0 {
                set(x + i, y, Cell(partials[filled], style))
            } else {
                set(x + i, y, Cell(" ", track))
            }
        }
    }

    /// Writes `text` word-wrapped into `rect`; returns the rows used.
    @discardableResult
    public mutating func wrapped(_ text: String, in rect: Rect, style: Style) -> Int {
        var y = rect.y
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            for word in paragraph.split(separator: " ") {
                let candidate = line.isEmpty ? String(word) : line + " " + word
                if TextWidth.width(candidate) > rect.width && !line.isEmpty {
                    if y >= rect.maxY { return y - rect.y }
                    put(line, x: rect.x, y: y, style: style, maxWidth: rect.width)
                    y += 1
                    line = String(word)
                } else {
                    line = candidate
                }
            }
            if y >= rect.maxY { return y - rect.y }
            put(line, x: rect.x, y: y, style: style, maxWidth: rect.width)
            y += 1
        }
        return y - rect.y
    }

    /// `text` centred on row `y` of `rect`.
    public mutating func centered(_ text: String, in rect: Rect, y: Int, style: Style) {
        let t = TextWidth.truncate(text, to: rect.width)
        put(t, x: rect.x + (rect.width - TextWidth.width(t)) / 2, y: y, style: style)
    }
}

/// Formats numbers for panes.
public enum Formatting {
    /// "12.3%" style, with "<0.1%" for tiny non-zero shares.
    public static func percent(_ fraction: Double) -> String {
        if fraction > 0 && fraction < 0.001 { return "<0.1%" }
        let tenths = Int((fraction * 1000).rounded())
        return "\(tenths / 10).\(tenths % 10)%"
    }
}
