import Datasets
import Foundation

/// The colour roles a theme sets (the keys of `themes/*.theme`).
public enum ThemeRole: String, CaseIterable, Sendable {
    case mainBg = "main_bg", mainFg = "main_fg", dimFg = "dim_fg"
    case headerBg = "header_bg", headerFg = "header_fg"
    case borderFg = "border_fg", focusFg = "focus_fg", titleFg = "title_fg"
    case selectedBg = "selected_bg", selectedFg = "selected_fg"
    case accentFg = "accent_fg", keyFg = "key_fg"
    case footerBg = "footer_bg", footerFg = "footer_fg"
    case barFg = "bar_fg", barBg = "bar_bg"
    case errorFg = "error_fg", warningFg = "warning_fg"
    case overlayBg = "overlay_bg", overlayFg = "overlay_fg"
    case voidFg = "void_fg"
}

/// A colour theme: flat `role = "#rrggbb"` lines (btop style). Roles a file leaves out take the
/// built-in default's colour; `class_N = "#rrggbb"` overrides the colour of class N (otherwise
/// the dataset's palette, VOC's by default).
public struct Theme: Sendable {
    public let name: String
    public private(set) var colors: [ThemeRole: TermColor]
    public private(set) var classColors: [Int: RGB]
    /// Unknown keys met while parsing (reported, not fatal).
    public private(set) var warnings: [String]

    public subscript(role: ThemeRole) -> TermColor { colors[role] ?? Theme.builtinDefault.colors[role] ?? .default }

    /// Themes compiled into the binary, by name (their files are in `themes/`).
    public static let builtinNames = ["default", "light", "high-contrast", "16color"]

    /// The compiled-in default (dark) theme.
    public static let builtinDefault: Theme = {
        // The compiled-in text is covered by a test; a parse failure here is a programming error.
        guard let theme = try? Theme.parse(BuiltinThemes.text["default"] ?? "", name: "default", base: nil) else {
            fatalError("built-in default theme does not parse")
        }
        return theme
    }()

    public static let ansiNames = [
        "black", "red", "green", "yellow", "blue", "magenta", "cyan", "white",
        "bright_black", "bright_red", "bright_green", "bright_yellow", "bright_blue", "bright_magenta", "bright_cyan", "bright_white",
    ]

    /// Parses theme text. `base` supplies roles the text leaves out (nil: the text must set all).
    /// Errors name the file (`name`), the line and the bad value.
    public static func parse(_ text: String, name: String, base: Theme? = Theme.builtinDefault) throws -> Theme {
        var colors = base?.colors ?? [:]
        var classColors = base?.classColors ?? [:]
        var warnings: [String] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw TUIError.theme("\(name):\(index + 1): expected `key = \"#rrggbb\"`, got `\(line)`")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
            guard let color = parseColor(value) else {
                throw TUIError.theme("\(name):\(index + 1): \(key) = \"\(value)\" is not a colour; use \"#rrggbb\", an ANSI name (\(ansiNames[0]) … \(ansiNames[15])) or \"default\"")
            }
            if let role = ThemeRole(rawValue: key) {
                colors[role] = color
            } else if key.hasPrefix("class_"), let n = Int(key.dropFirst(6)), (0..<255).contains(n) {
                guard case .rgb(let r, let g, let b) = color else {
                    throw TUIError.theme("\(name):\(index + 1): \(key) needs an \"#rrggbb\" colour")
                }
                classColors[n] = RGB(r, g, b)
            } else {
                warnings.append("\(name):\(index + 1): unknown key \(key) (ignored)")
            }
        }
        if base == nil, let missing = ThemeRole.allCases.first(where: { colors[$0] == nil }) {
            throw TUIError.theme("\(name): missing key \(missing.rawValue)")
        }
        return Theme(name: name, colors: colors, classColors: classColors, warnings: warnings)
    }

    static func parseColor(_ value: String) -> TermColor? {
        let v = value.lowercased()
        if v == "default" { return .default }
        if let i = ansiNames.firstIndex(of: v.replacingOccurrences(of: "-", with: "_")) { return .ansi(UInt8(i)) }
        guard v.hasPrefix("#"), v.count == 7, let n = UInt32(v.dropFirst(), radix: 16) else { return nil }
        return .rgb(UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF))
    }

    /// Where theme files are looked up, first match wins: `$SEGSCOPE_THEMES`,
    /// `~/.config/segscope/themes`, `./themes`, and `themes/` of the source tree the binary was
    /// built from.
    public static func searchDirectories(environment: [String: String] = ProcessInfo.processInfo.environment) -> [URL] {
        var dirs: [URL] = []
        if let env = environment["SEGSCOPE_THEMES"], !env.isEmpty { dirs.append(URL(fileURLWithPath: env)) }
        let config = environment["XDG_CONFIG_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".config")
        dirs.append(config.appendingPathComponent("segscope/themes"))
        dirs.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("themes"))
        // .build/<config>/segscope → repository root.
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        dirs.append(exe.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("themes"))
        return dirs
    }

    /// Loads a theme by name or path. nil picks `default`, or `16color` when the terminal shows
    /// 16 colours or fewer. A name is looked up as `<name>.theme` in `searchDirectories`, then
    /// among the compiled-in themes.
    public static func load(_ nameOrPath: String?, depth: ColorDepth,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Theme {
        guard let nameOrPath else {
            let name = (depth == .ansi16 || depth == .mono) ? "16color" : "default"
            return try parse(BuiltinThemes.text[name] ?? "", name: name)
        }
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".theme") {
            return try parseFile(URL(fileURLWithPath: nameOrPath))
        }
        for dir in searchDirectories(environment: environment) {
            let file = dir.appendingPathComponent("\(nameOrPath).theme")
            if FileManager.default.fileExists(atPath: file.path) { return try parseFile(file) }
        }
        if let text = BuiltinThemes.text[nameOrPath] { return try parse(text, name: nameOrPath) }
        throw TUIError.theme("no theme named \(nameOrPath): built-in themes are \(builtinNames.joined(separator: ", ")); files are looked up as <name>.theme in \(searchDirectories(environment: environment).map(\.path).joined(separator: ", "))")
    }

    static func parseFile(_ url: URL) throws -> Theme {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw TUIError.theme("cannot read theme file \(url.path): \(error.localizedDescription)")
        }
        return try parse(text, name: url.path)
    }
}

/// Every style a view uses, resolved once from a theme for a colour depth. On a monochrome
/// terminal colours are dropped and attributes (reverse, bold, dim) carry the distinctions.
public struct Styles: Sendable {
    public var main, dim, header, border, focus, title, selected, accent, key: Style
    public var footer, footerKey, bar, barTrack, error, warning, overlay, overlayKey: Style
    public var background: TermColor
    public var voidColor: RGB
    public var classColors: [Int: RGB]

    public init(theme: Theme, depth: ColorDepth) {
        let t = theme
        func s(_ fg: ThemeRole, _ bg: ThemeRole = .mainBg, _ a: CellAttributes = []) -> Style { Style(fg: t[fg], bg: t[bg], attributes: a) }
        main = s(.mainFg)
        dim = s(.dimFg)
        header = s(.headerFg, .headerBg, .bold)
        border = s(.borderFg)
        focus = s(.focusFg)
        title = s(.titleFg, .mainBg, .bold)
        selected = s(.selectedFg, .selectedBg, .bold)
        accent = s(.accentFg, .mainBg, .bold)
        key = s(.keyFg, .mainBg, .bold)
        footer = s(.footerFg, .footerBg)
        footerKey = s(.keyFg, .footerBg, .bold)
        bar = s(.barFg, .barBg)
        barTrack = s(.barBg)
        error = s(.errorFg, .mainBg, .bold)
        warning = s(.warningFg)
        overlay = s(.overlayFg, .overlayBg)
        overlayKey = s(.keyFg, .overlayBg, .bold)
        background = t[.mainBg]
        if case .rgb(let r, let g, let b) = t[.voidFg] { voidColor = RGB(r, g, b) } else { voidColor = MaskPainter.voidColor }
        classColors = t.classColors
        if depth == .mono {
            let plain = Style()
            main = plain
            dim = Style(attributes: .dim)
            header = Style(attributes: [.reverse, .bold])
            border = plain
            focus = Style(attributes: .bold)
            title = Style(attributes: .bold)
            selected = Style(attributes: [.reverse, .bold])
            accent = Style(attributes: .bold)
            key = Style(attributes: .bold)
            footer = Style(attributes: .reverse)
            footerKey = Style(attributes: [.reverse, .bold])
            bar = Style(attributes: .reverse)
            barTrack = plain
            error = Style(attributes: [.bold, .underline])
            warning = Style(attributes: .bold)
            overlay = plain
            overlayKey = Style(attributes: .bold)
            background = .default
        }
    }

    /// The palette with the theme's class overrides applied.
    public func palette(_ base: [RGB]) -> [RGB] {
        guard !classColors.isEmpty else { return base }
        var p = base
        let n = max(p.count, (classColors.keys.max() ?? -1) + 1)
        while p.count < n { p.append(RGB(128, 128, 128)) }
        for (i, c) in classColors { p[i] = c }
        return p
    }
}
