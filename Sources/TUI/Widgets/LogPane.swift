/// One line of a log pane.
public struct LogLine: Equatable, Sendable {
    public enum Kind: String, Sendable { case info, warning, error, checkpoint }
    public var kind: Kind
    /// Where in the run it happened ("it 120"), shown dim before the text.
    public var place: String
    public var text: String

    public init(_ kind: Kind, place: String = "", _ text: String) {
        self.kind = kind
        self.place = place
        self.text = text
    }
}

/// The newest lines of a log, newest at the bottom, long lines cut with "…".
public enum LogPane {
    public static func draw(_ lines: [LogLine], in rect: Rect, grid: inout CellGrid, styles: Styles) {
        guard rect.width > 4, rect.height > 0 else { return }
        let shown = lines.suffix(rect.height)
        let placeWidth = min(10, shown.map { TextWidth.width($0.place) }.max() ?? 0)
        for (row, line) in shown.enumerated() {
            let y = rect.y + row
            var x = rect.x
            if placeWidth > 0 {
                x = grid.put(TextWidth.pad(line.place, to: placeWidth), x: x, y: y, style: styles.dim) + 1
            }
            let (mark, style): (String, Style) = {
                switch line.kind {
                case .info: return ("·", styles.main)
                case .warning: return ("!", styles.warning)
                case .error: return ("✗", styles.error)
                case .checkpoint: return ("✓", styles.key)
                }
            }()
            x = grid.put(mark + " ", x: x, y: y, style: style)
            grid.put(TextWidth.truncate(line.text, to: rect.maxX - x), x: x, y: y, style: line.kind == .info ? styles.main : style)
        }
    }
}
