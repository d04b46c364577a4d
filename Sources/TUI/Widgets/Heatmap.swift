/// A confusion matrix as a heat map: rows are true classes, columns predicted classes, each row
/// normalised to its total (so a cell reads "share of class r predicted as c", the diagonal
/// being recall). Intensity is shown twice — as a shade glyph (readable on any terminal and in
/// golden screens) and as colour, green on the diagonal and red off it.
public struct Heatmap: Sendable {
    /// Row-major counts, `n × n`.
    public var counts: [Int]
    public var classCount: Int
    public var labels: [String]
    /// Classes to show (indices), in order; nil = all, or as many of the largest rows as fit.
    public var shown: [Int]?

    public init(counts: [Int], classCount: Int, labels: [String], shown: [Int]? = nil) {
        self.counts = counts
        self.classCount = classCount
        self.labels = labels
        self.shown = shown
    }

    /// Row totals.
    var rowTotals: [Int] {
        (0..<classCount).map { r in (0..<classCount).reduce(0) { $0 + counts[r * classCount + $1] } }
    }

    /// Share of row `r` in column `c` (0 when the row is empty).
    public func normalized(_ r: Int, _ c: Int) -> Double {
        let total = (0..<classCount).reduce(0) { $0 + counts[r * classCount + $1] }
        return total == 0 ? 0 : Double(counts[r * classCount + c]) / Double(total)
    }

    static let shades: [Unicode.Scalar] = [" ", "░", "▒", "▓", "█"]

    /// The shade glyph of a share: blank only for exactly 0, full only above 7/8.
    static func shade(_ f: Double) -> Unicode.Scalar {
        if f <= 0 { return "·" }
        if f < 0.125 { return shades[1] }
        if f < 0.5 { return shades[2] }
        if f < 0.875 { return shades[3] }
        return shades[4]
    }

    /// Classes that fit `rows`: those with true pixels (largest first when they do not all fit),
    /// kept in class order.
    public func classesToShow(rows: Int, columns: Int) -> [Int] {
        if let shown { return shown }
        let totals = rowTotals
        var present = (0..<classCount).filter { totals[$0] > 0 }
        if present.isEmpty { present = Array(0..<classCount) }
        let limit = max(1, min(rows, columns))
        if present.count <= limit { return present }
        return present.sorted { totals[$0] != totals[$1] ? totals[$0] > totals[$1] : $0 < $1 }.prefix(limit).sorted()
    }

    public func draw(in rect: Rect, grid: inout CellGrid, styles: Styles, depth: ColorDepth) {
        guard rect.width >= 10, rect.height >= 3, classCount > 0, counts.count == classCount * classCount else { return }
        let labelWidth = min(12, max(4, rect.width / 4))
        let cellWidth = (rect.width - labelWidth - 1) / max(1, min(classCount, rect.height - 1)) >= 3 ? 3 : 2
        let maxColumns = (rect.width - labelWidth - 1) / cellWidth
        let classes = classesToShow(rows: rect.height - 1, columns: maxColumns)
        let hidden = (shown == nil ? classCount - classes.count : 0)
        // Column header: the class indices.
        var x = rect.x + labelWidth + 1
        for c in classes {
            let text = String(c)
            grid.put(text, x: x + cellWidth - 1 - TextWidth.width(text), y: rect.y, style: styles.dim)
            x += cellWidth
        }
        let good = styles.key.fg, bad = styles.error.fg
        for (row, r) in classes.enumerated() {
            let y = rect.y + 1 + row
            guard y < rect.maxY else { break }
            let name = r < labels.count ? labels[r] : "class \(r)"
            grid.put(TextWidth.pad("\(r) " + name, to: labelWidth), x: rect.x, y: y, style: styles.main)
            x = rect.x + labelWidth + 1
            for c in classes {
                let f = normalized(r, c)
                let glyph = Self.shade(f)
                var style: Style
                if depth == .mono {
                    style = Style(attributes: r == c ? .bold : [])
                } else {
                    let base = r == c ? good : bad
                    style = Style(fg: f <= 0 ? styles.dim.fg : Self.mix(styles.background, base, max(0.35, f)), bg: styles.background)
                }
                for k in 0..<(cellWidth - 1) { grid.set(x + k, y, Cell(glyph, style)) }
                x += cellWidth
            }
        }
        if hidden > 0, rect.height > classes.count + 1 {
            grid.put("+\(hidden) classes without pixels or room", x: rect.x, y: rect.y + 1 + classes.count, style: styles.dim,
                     maxWidth: rect.width)
        }
    }

    /// `a` blended towards `b` by `t` when both are RGB; otherwise `b`.
    static func mix(_ a: TermColor, _ b: TermColor, _ t: Double) -> TermColor {
        guard case .rgb(let r0, let g0, let b0) = a, case .rgb(let r1, let g1, let b1) = b else { return b }
        func m(_ x: UInt8, _ y: UInt8) -> UInt8 { UInt8(max(0, min(255, (Double(x) + (Double(y) - Double(x)) * t).rounded()))) }
        return .rgb(m(r0, r1), m(g0, g1), m(b0, b1))
    }
}
