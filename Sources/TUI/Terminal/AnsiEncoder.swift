/// Encodes changed cell runs as ANSI escape sequences (cursor moves, SGR colours and
/// attributes, UTF-8 text) into one byte buffer: what the curses driver writes per frame.
///
/// Curses would format every colour change through terminfo's `tparm`, which costs about a
/// microsecond per cell — too slow for full-screen images (see DECISIONS.md). Curses still owns
/// the terminal (modes, alternate screen, keys, mouse, resize); only cell output goes here.
public struct AnsiEncoder {
    public let depth: ColorDepth
    /// The terminal shows only 8 colours: bright foregrounds become bold, bright backgrounds normal.
    public let eightColors: Bool
    public private(set) var bytes: [UInt8] = []
    private var current: Style?

    public init(depth: ColorDepth, eightColors: Bool = false) {
        self.depth = depth
        self.eightColors = eightColors
        bytes.reserveCapacity(1 << 16)
    }

    /// Starts a new frame: empties the buffer and forgets the terminal's current style.
    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        current = nil
    }

    /// Appends the cells of `run`.
    public mutating func encode(_ run: CellRun, of grid: CellGrid) {
        moveTo(row: run.y, column: run.x)
        let base = run.y * grid.width
        for x in run.x..<(run.x + run.count) {
            let cell = grid.cells[base + x]
            if current != cell.style { setStyle(cell.style) }
            appendUTF8(cell.char)
        }
    }

    /// Resets attributes at the end of a frame so nothing leaks into later raw output.
    public mutating func finish() {
        if current != nil {
            append("\u{1B}[0m")
            current = nil
        }
    }

    /// The SGR sequence the encoder writes for `style` (e.g. `ESC[0;1;38;5;196;48;5;16m`),
    /// without the ESC: what colour golden screens record per cell.
    public static func sgr(_ style: Style, depth: ColorDepth, eightColors: Bool = false) -> String {
        var encoder = AnsiEncoder(depth: depth, eightColors: eightColors)
        encoder.setStyle(style)
        return String(decoding: encoder.bytes.dropFirst(), as: UTF8.self)
    }

    mutating func moveTo(row: Int, column: Int) {
        bytes.append(0x1B)
        bytes.append(0x5B)
        appendNumber(row + 1)
        bytes.append(0x3B)
        appendNumber(column + 1)
        bytes.append(0x48)  // H
    }

    mutating func setStyle(_ style: Style) {
        current = style
        bytes.append(0x1B)
        bytes.append(0x5B)
        bytes.append(0x30)  // 0: reset, then set
        var attrs = style.attributes
        var fg = style.fg, bg = style.bg
        if depth == .mono {
            fg = .default
            bg = .default
        }
        // 8-colour terminals: bright foreground → bold normal colour.
        if eightColors, depth == .ansi16 {
            if let n = ansiIndex(fg), n > 8 { attrs.insert(.bold) }  // 8 (bright black) becomes white, below
        }
        if attrs.contains(.bold) { append(";1") }
        if attrs.contains(.dim) { append(";2") }
        if attrs.contains(.italic) { append(";3") }
        if attrs.contains(.underline) { append(";4") }
        if attrs.contains(.reverse) { append(";7") }
        appendColor(fg, foreground: true)
        appendColor(bg, foreground: false)
        bytes.append(0x6D)  // m
    }

    private func ansiIndex(_ c: TermColor) -> Int? {
        switch c {
        case .default: return nil
        case .ansi(let n): return Int(n & 15)
        case .rgb(let r, let g, let b): return depth == .ansi16 ? ColorMapping.index16(r, g, b) : nil
        }
    }

    mutating func appendColor(_ color: TermColor, foreground: Bool) {
        switch (depth, color) {
        case (.mono, _), (_, .default):
            return  // the reset above selected the default colours
        case (.direct, .rgb(let r, let g, let b)):
            append(foreground ? ";38;2;" : ";48;2;")
            appendNumber(Int(r))
            bytes.append(0x3B)
            appendNumber(Int(g))
            bytes.append(0x3B)
            appendNumber(Int(b))
        case (.direct, .ansi(let n)), (.ansi256, .ansi(let n)), (.ansi16, .ansi(let n)):
            appendBasic(Int(n & 15), foreground: foreground)
        case (.ansi256, .rgb(let r, let g, let b)):
            append(foreground ? ";38;5;" : ";48;5;")
            appendNumber(ColorMapping.index256(r, g, b))
        case (.ansi16, .rgb(let r, let g, let b)):
            appendBasic(ColorMapping.index16(r, g, b), foreground: foreground)
        }
    }

    /// SGR 30–37 / 90–97 (foreground) or 40–47 / 100–107 (background).
    mutating func appendBasic(_ n: Int, foreground: Bool) {
        bytes.append(0x3B)
        if eightColors, foreground, n == 8 {
            // Bright black (dim text, borders) on 8 colours: bold black is black on a dark
            // terminal; plain white keeps it readable.
            appendNumber(37)
            return
        }
        if n < 8 || eightColors {
            appendNumber((foreground ? 30 : 40) + n % 8)
        } else {
            appendNumber((foreground ? 90 : 100) + n - 8)
        }
    }

    mutating func append(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func appendNumber(_ n: Int) {
        if n >= 1000 {
            appendNumber(n / 1000)
            let r = n % 1000
            bytes.append(UInt8(48 + r / 100))
            bytes.append(UInt8(48 + r / 10 % 10))
            bytes.append(UInt8(48 + r % 10))
            return
        }
        if n >= 100 { bytes.append(UInt8(48 + n / 100)) }
        if n >= 10 { bytes.append(UInt8(48 + n / 10 % 10)) }
        bytes.append(UInt8(48 + n % 10))
    }

    mutating func appendUTF8(_ s: Unicode.Scalar) {
        let v = s.value
        switch v {
        case 0..<0x80:
            bytes.append(UInt8(v))
        case 0x80..<0x800:
            bytes.append(UInt8(0xC0 | v >> 6))
            bytes.append(UInt8(0x80 | v & 0x3F))
        case 0x800..<0x10000:
            bytes.append(UInt8(0xE0 | v >> 12))
            bytes.append(UInt8(0x80 | v >> 6 & 0x3F))
            bytes.append(UInt8(0x80 | v & 0x3F))
        default:
            bytes.append(UInt8(0xF0 | v >> 18))
            bytes.append(UInt8(0x80 | v >> 12 & 0x3F))
            bytes.append(UInt8(0x80 | v >> 6 & 0x3F))
            bytes.append(UInt8(0x80 | v & 0x3F))
        }
    }
}
