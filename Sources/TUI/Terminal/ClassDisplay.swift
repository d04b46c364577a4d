import Datasets

/// How a class of a mask is told apart at each colour depth:
/// - direct and 256 colours: the dataset's palette colour (256 takes the nearest palette entry);
/// - 16 colours: a fixed ANSI colour per class, so neighbouring classes never collapse to one
///   colour (VOC's dark palette maps almost entirely to black and grey by nearest colour);
/// - mono: a glyph pattern per class, the same in the mask preview, the legend and the bars.
public enum ClassDisplay {
    /// ANSI colours for classes 1, 2, … at 16 colours (0, black, is the background class; 7,
    /// white, is void). Classes 1–14 are distinct; 15, 16, … reuse the colours of 4, 5, … (so
    /// VOC's person, 15, does not share aeroplane's red: the two often appear together).
    public static let ansiCycle: [UInt8] = [1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 13, 14, 15, 8]
    /// The ANSI colour of void (255) pixels at 16 colours.
    public static let ansiVoid: UInt8 = 7

    /// The ANSI colour index of class `v` at 16 colours.
    public static func ansiIndex(_ v: Int) -> UInt8 {
        if v == Int(LabelMap.void) { return ansiVoid }
        if v <= 0 { return 0 }
        if v <= ansiCycle.count { return ansiCycle[v - 1] }
        return ansiCycle[(v - ansiCycle.count - 1 + 3) % ansiCycle.count]
    }

    /// `palette` as the terminal should show it at `depth`: unchanged, except at 16 colours where
    /// entry v becomes the exact RGB of ANSI colour `ansiIndex(v)` (the encoder maps it back to
    /// that index), so every consumer of the palette (masks, overlays, legends, bars) agrees.
    public static func palette(_ palette: [RGB], depth: ColorDepth) -> [RGB] {
        guard depth == .ansi16 else { return palette }
        return palette.indices.map { v in
            let c = ColorMapping.ansi16[Int(ansiIndex(v))]
            return RGB(c.0, c.1, c.2)
        }
    }

    /// The void colour at `depth` (see `palette`).
    public static func voidColor(_ color: RGB, depth: ColorDepth) -> RGB {
        guard depth == .ansi16 else { return color }
        let c = ColorMapping.ansi16[Int(ansiVoid)]
        return RGB(c.0, c.1, c.2)
    }

    /// Mono glyphs for classes 1, 2, …: blocks and shades first, then dense ASCII marks; class 0
    /// (background) is blank and void is a middle dot. 20 distinct patterns (all of VOC's
    /// object classes); later classes reuse them in turn.
    public static let monoGlyphs: [Unicode.Scalar] = [
        "█", "▓", "▒", "░", "#", "@", "%", "&", "=", "+", "*", "x", "o", "/", "\\", "|", "-", "^", "~", ":",
    ]

    /// The mono glyph of class `v`.
    public static func glyph(_ v: Int) -> Unicode.Scalar {
        if v == Int(LabelMap.void) { return "·" }
        if v <= 0 { return " " }
        return monoGlyphs[(v - 1) % monoGlyphs.count]
    }

    /// A two-cell legend swatch of class `v`: its colour, or in mono its glyph twice.
    public static func swatch(_ v: Int, color: TermColor, depth: ColorDepth, background: TermColor) -> (String, Style) {
        if depth == .mono {
            let g = String(glyph(v))
            return (v == 0 ? "[]" : g + g, Style())
        }
        return ("██", Style(fg: color, bg: background))
    }
}
