import Foundation

/// How many colours the terminal shows, from most to fewest.
public enum ColorDepth: String, Sendable, CaseIterable, Codable {
    /// 24-bit colour (`*-direct` terminfo or `COLORTERM=truecolor`).
    case direct
    /// The xterm 256-colour palette.
    case ansi256 = "256"
    /// The 16 ANSI colours.
    case ansi16 = "16"
    /// No colour at all (`NO_COLOR`, or a terminal without colours).
    case mono

    /// Values `--color` accepts: `auto` or one of the depths.
    public static let optionValues = ["auto", "direct", "truecolor", "256", "16", "mono", "none"]

    /// Parses a `--color` value; nil for `auto`. Throws a message listing the allowed values.
    public static func parse(option: String) throws -> ColorDepth? {
        switch option.lowercased() {
        case "auto": return nil
        case "direct", "truecolor", "24bit": return .direct
        case "256": return .ansi256
        case "16", "8": return .ansi16
        case "mono", "none", "no": return .mono
        default:
            throw TUIError.badOption("--color \(option): expected one of \(optionValues.joined(separator: ", "))")
        }
    }

    /// The automatic choice: `NO_COLOR` (any non-empty value, see no-color.org) → mono;
    /// direct colour from terminfo / COLORTERM; else by terminfo's `colors`.
    public static func detect(environment: [String: String] = ProcessInfo.processInfo.environment) -> ColorDepth {
        if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return .mono }
        let support = TerminalProbe.colorSupport(environment: environment)
        return from(colors: support.colors, direct: support.direct)
    }

    public static func from(colors: Int, direct: Bool) -> ColorDepth {
        if direct { return .direct }
        if colors >= 256 { return .ansi256 }
        if colors >= 8 { return .ansi16 }
        return .mono
    }

    /// `--color` wins over detection; `auto` (nil) detects.
    public static func resolve(option: ColorDepth?, environment: [String: String] = ProcessInfo.processInfo.environment) -> ColorDepth {
        option ?? detect(environment: environment)
    }
}

/// Errors of the terminal front, each saying what to do.
public enum TUIError: Error, CustomStringConvertible, Equatable {
    case badOption(String)
    case notATerminal
    case cannotStart(String)
    case theme(String)

    public var description: String {
        switch self {
        case .badOption(let s): return s
        case .notATerminal: return "segscope tui needs a terminal: run it in a terminal window (stdin and stdout must be a tty)"
        case .cannotStart(let s): return "cannot start the terminal interface: \(s)"
        case .theme(let s): return s
        }
    }
}

/// Conversions from RGB to palette indices.
public enum ColorMapping {
    /// The 16 ANSI colours as xterm draws them by default.
    public static let ansi16: [(UInt8, UInt8, UInt8)] = [
        (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
        (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
    ]
    private static let cubeLevels: [Int] = [0, 95, 135, 175, 215, 255]

    /// The nearest xterm-256 colour (6×6×6 cube 16–231 or grey ramp 232–255).
    public static func index256(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int {
        func level(_ v: UInt8) -> Int {
            let v = Int(v)
            if v < 48 { return 0 }
            if v < 115 { return 1 }
            return (v - 35) / 40
        }
        let (lr, lg, lb) = (level(r), level(g), level(b))
        let cube = 16 + 36 * lr + 6 * lg + lb
        let cr = cubeLevels[lr], cg = cubeLevels[lg], cb = cubeLevels[lb]
        let mean = (Int(r) + Int(g) + Int(b)) / 3
        let greyIndex = mean > 238 ? 23 : max(0, (mean - 3) / 10)
        let grey = 8 + 10 * greyIndex
        // The candidate's channels are named cr/cg/cb: a parameter named `b` once shadowed the
        // blue channel, so blue was compared with the candidate's green (issue #19).
        func dist(_ candR: Int, _ candG: Int, _ candB: Int) -> Int {
            let dr = Int(r) - candR, dg = Int(g) - candG, db = Int(b) - candB
            return dr * dr + dg * dg + db * db
        }
        return dist(grey, grey, grey) < dist(cr, cg, cb) ? 232 + greyIndex : cube
    }

    /// The RGB of xterm-256 colour `index` (0–15 the ANSI colours, 16–231 the cube, 232–255 grey).
    public static func rgb256(_ index: Int) -> (UInt8, UInt8, UInt8) {
        switch index {
        case ..<16: return ansi16[max(0, index)]
        case 16..<232:
            let i = index - 16
            return (UInt8(cubeLevels[i / 36]), UInt8(cubeLevels[i / 6 % 6]), UInt8(cubeLevels[i % 6]))
        default:
            let v = UInt8(8 + 10 * (min(255, index) - 232))
            return (v, v, v)
        }
    }

    /// The nearest of the 16 ANSI colours (weighted RGB distance).
    public static func index16(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int {
        var best = 0
        var bestD = Int.max
        for (i, c) in ansi16.enumerated() {
            let dr = Int(r) - Int(c.0), dg = Int(g) - Int(c.1), db = Int(b) - Int(c.2)
            let d = 3 * dr * dr + 4 * dg * dg + 2 * db * db
            if d < bestD {
                bestD = d
                best = i
            }
        }
        return best
    }

    /// Perceived brightness 0...255 (Rec. 601 weights).
    public static func luma(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> Int {
        (299 * Int(r) + 587 * Int(g) + 114 * Int(b)) / 1000
    }
}
