import Datasets

/// A terminal colour as the view describes it. The driver maps it to what the terminal can show
/// (direct colour, the 256-colour palette, the 16 ANSI colours, or nothing).
public enum TermColor: Hashable, Sendable {
    /// The terminal's own default foreground / background.
    case `default`
    /// One of the 16 ANSI colours (0–7 normal, 8–15 bright), for the 16-colour theme.
    case ansi(UInt8)
    case rgb(UInt8, UInt8, UInt8)

    public init(_ c: RGB) { self = .rgb(c.r, c.g, c.b) }
}

/// Text attributes, as a bit set (the same bits as `CTERM_ATTR_*`).
public struct CellAttributes: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = CellAttributes(rawValue: 1)
    public static let dim = CellAttributes(rawValue: 2)
    public static let underline = CellAttributes(rawValue: 4)
    public static let reverse = CellAttributes(rawValue: 8)
    public static let italic = CellAttributes(rawValue: 16)
}

/// Foreground, background and attributes: how text is drawn.
public struct Style: Hashable, Sendable {
    public var fg: TermColor
    public var bg: TermColor
    public var attributes: CellAttributes

    public init(fg: TermColor = .default, bg: TermColor = .default, attributes: CellAttributes = []) {
        self.fg = fg
        self.bg = bg
        self.attributes = attributes
    }

    public func with(fg: TermColor) -> Style { Style(fg: fg, bg: bg, attributes: attributes) }
    public func with(bg: TermColor) -> Style { Style(fg: fg, bg: bg, attributes: attributes) }
    public func adding(_ a: CellAttributes) -> Style { Style(fg: fg, bg: bg, attributes: attributes.union(a)) }
}

/// One character cell of the screen.
public struct Cell: Hashable, Sendable {
    /// One code point of display width 1 (wider text is cut by the painter).
    public var char: Unicode.Scalar
    public var style: Style

    public init(_ char: Unicode.Scalar = " ", _ style: Style = Style()) {
        self.char = char
        self.style = style
    }

    public static let blank = Cell()
    /// The upper half block (U+2580): fg paints the top pixel, bg the bottom one.
    public static let upperHalf: Unicode.Scalar = "\u{2580}"
}
