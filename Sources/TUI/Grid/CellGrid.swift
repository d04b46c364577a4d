/// A rectangle of cells: `x`, `y` of the top-left corner, `width` × `height`.
public struct Rect: Hashable, Sendable {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }
    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var isEmpty: Bool { width <= 0 || height <= 0 }
    /// The rectangle shrunk by `n` cells on every side (a box's inside).
    public func inset(_ n: Int) -> Rect { Rect(x: x + n, y: y + n, width: width - 2 * n, height: height - 2 * n) }
    public func contains(x px: Int, y py: Int) -> Bool { px >= x && px < maxX && py >= y && py < maxY }
    /// Splits off the top `n` rows: (top, rest).
    public func splitTop(_ n: Int) -> (Rect, Rect) {
        let n = min(max(0, n), height)
        return (Rect(x: x, y: y, width: width, height: n), Rect(x: x, y: y + n, width: width, height: height - n))
    }
    /// Splits off the left `n` columns: (left, rest).
    public func splitLeft(_ n: Int) -> (Rect, Rect) {
        let n = min(max(0, n), width)
        return (Rect(x: x, y: y, width: n, height: height), Rect(x: x + n, y: y, width: width - n, height: height))
    }
}

/// A screen's worth of cells, row-major. Views draw into it; drivers diff two grids and write
/// only what changed. Every drawing call clips to the grid.
public struct CellGrid: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var cells: [Cell]

    public init(width: Int, height: Int, fill: Cell = .blank) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = [Cell](repeating: fill, count: self.width * self.height)
    }

    public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    @inlinable public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    /// Sets one cell if it lies on the grid.
    @inlinable public mutating func set(_ x: Int, _ y: Int, _ cell: Cell) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        cells[y * width + x] = cell
    }

    /// Fills `rect` (clipped) with `cell`.
    public mutating func fill(_ rect: Rect, with cell: Cell) {
        let x0 = max(0, rect.x), x1 = min(width, rect.maxX)
        let y0 = max(0, rect.y), y1 = min(height, rect.maxY)
        guard x0 < x1, y0 < y1 else { return }
        for y in y0..<y1 {
            let row = y * width
            for x in x0..<x1 { cells[row + x] = cell }
        }
    }

    /// Writes `text` at (x, y), at most `maxWidth` cells (clipped to the grid). Returns the
    /// column after the last written cell. Characters wider than one cell become "?".
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: Style, maxWidth: Int = .max) -> Int {
        guard y >= 0, y < height else { return x }
        var col = x
        let limit = min(width, maxWidth == .max ? width : x + maxWidth)
        for scalar in text.unicodeScalars {
            if col >= limit { break }
            if TextWidth.isZeroWidth(scalar) { continue }
            let ch: Unicode.Scalar = TextWidth.isWide(scalar) ? "?" : scalar
            if col >= 0 { cells[y * width + col] = Cell(ch, style) }
            col += 1
        }
        return col
    }

    /// Copies `other` into this grid with its top-left corner at (x, y).
    public mutating func blit(_ other: CellGrid, x: Int, y: Int) {
        for oy in 0..<other.height {
            for ox in 0..<other.width { set(x + ox, y + oy, other[ox, oy]) }
        }
    }

    /// The characters of each row, trailing spaces removed: what a golden screen compares.
    public var text: String {
        var lines: [String] = []
        lines.reserveCapacity(height)
        for y in 0..<height {
            var line = String.UnicodeScalarView()
            for x in 0..<width { line.append(cells[y * width + x].char) }
            var s = String(line)
            while s.last == " " { s.removeLast() }
            lines.append(s)
        }
        return lines.joined(separator: "\n")
    }

    /// One row's characters.
    public func line(_ y: Int) -> String {
        var line = String.UnicodeScalarView()
        for x in 0..<width { line.append(cells[y * width + x].char) }
        return String(line)
    }
}

/// Display width of code points, enough for the text Segscope shows.
public enum TextWidth {
    public static func isZeroWidth(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        return (0x0300...0x036F).contains(v) || (0x200B...0x200F).contains(v) || (0xFE00...0xFE0F).contains(v)
            || v < 0x20
    }

    public static func isWide(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        return (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
            || (0xFFE0...0xFFE6).contains(v) || (0x1F300...0x1FAFF).contains(v) || (0x20000...0x3FFFD).contains(v)
    }

    /// Cells `text` takes.
    public static func width(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + (isZeroWidth($1) ? 0 : 1) }
    }

    /// `text` cut to `width` cells, with "…" when cut.
    public static func truncate(_ text: String, to width: Int) -> String {
        guard width > 0 else { return "" }
        if self.width(text) <= width { return text }
        var out = String.UnicodeScalarView()
        var w = 0
        for s in text.unicodeScalars {
            if isZeroWidth(s) { continue }
            if w + 1 > width - 1 { break }
            out.append(s)
            w += 1
        }
        return String(out) + "…"
    }

    /// `text` padded with spaces (or cut) to exactly `width` cells.
    public static func pad(_ text: String, to width: Int) -> String {
        let t = truncate(text, to: width)
        return t + String(repeating: " ", count: max(0, width - self.width(t)))
    }
}

/// A run of changed cells on one row: columns `x ..< x + count`.
public struct CellRun: Hashable, Sendable {
    public var y: Int, x: Int, count: Int
}

extension CellGrid {
    /// Runs of cells that differ from `previous` (everything when sizes differ or there is no
    /// previous frame). Runs separated by fewer than `joinGap` equal cells are merged, since one
    /// longer write is cheaper than two cursor moves.
    public func changedRuns(from previous: CellGrid?, joinGap: Int = 3) -> [CellRun] {
        guard let previous, previous.width == width, previous.height == height else {
            return (0..<height).map { CellRun(y: $0, x: 0, count: width) }
        }
        var runs: [CellRun] = []
        cells.withUnsafeBufferPointer { now in
            previous.cells.withUnsafeBufferPointer { before in
                for y in 0..<height {
                    let row = y * width
                    var x = 0
                    var open: CellRun?
                    while x < width {
                        if now[row + x] != before[row + x] {
                            if var run = open, x - (run.x + run.count) < joinGap {
                                run.count = x - run.x + 1
                                open = run
                            } else {
                                if let run = open { runs.append(run) }
                                open = CellRun(y: y, x: x, count: 1)
                            }
                        }
                        x += 1
                    }
                    if let run = open { runs.append(run) }
                }
            }
        }
        return runs
    }
}
