import Foundation

/// A custom class list read from `labelmap.txt` or `classes.txt` beside the data.
///
/// - `labelmap.txt` (the VOC export of annotation tools): `name:r,g,b:parts:actions`, `#` comments.
/// - `classes.txt`: one class per line, `name`, `name r g b` or `name:r,g,b`.
///
/// Line order gives the class index. Colours, when every line has one, replace the VOC
/// colormap for display and for mapping RGB masks back to indices.
public struct ClassList: Sendable, Equatable {
    public var names: [String]
    public var colors: [RGB]?
    /// The file it was read from.
    public var source: URL?

    public init(names: [String], colors: [RGB]? = nil, source: URL? = nil) {
        self.names = names
        self.colors = colors
        self.source = source
    }

    /// The VOC list: 21 names and the VOC colormap.
    public static let voc = ClassList(names: Palette.vocClassNames, colors: nil)

    /// Reads `labelmap.txt`, else `classes.txt`, from the first of `dirs` holding one; nil when none does.
    public static func find(in dirs: [URL]) throws -> ClassList? {
        for dir in dirs {
            for name in ["labelmap.txt", "classes.txt"] {
                let url = dir.appendingPathComponent(name)
                if DatasetFiles.exists(url) { return try read(url) }
            }
        }
        return nil
    }

    public static func read(_ url: URL) throws -> ClassList {
        let lines = try DatasetFiles.lines(url)
        var names: [String] = []
        var colors: [RGB] = []
        for (number, line) in lines.enumerated() {
            let (name, color) = try parse(line, file: url, line: number + 1)
            guard !name.isEmpty else { throw DatasetError("\(url.path) line \(number + 1): empty class name") }
            names.append(name)
            if let color { colors.append(color) }
        }
        guard !names.isEmpty else { throw DatasetError("\(url.path): no class names (expected one per line)") }
        guard names.count <= 255 else {
            throw DatasetError("\(url.path): \(names.count) classes; at most 255 fit an 8-bit mask with 255 as void")
        }
        return ClassList(names: names, colors: colors.count == names.count ? colors : nil, source: url)
    }

    private static func parse(_ line: String, file: URL, line number: Int) throws -> (String, RGB?) {
        if line.contains(":") {
            let parts = line.split(separator: ":", omittingEmptySubsequences: false)
            let name = parts[0].trimmingCharacters(in: .whitespaces)
            guard parts.count > 1, !parts[1].trimmingCharacters(in: .whitespaces).isEmpty else { return (name, nil) }
            let numbers = parts[1].split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard numbers.count == 3, let r = numbers[0], let g = numbers[1], let b = numbers[2],
                  [r, g, b].allSatisfy({ (0...255).contains($0) }) else {
                throw DatasetError("\(file.path) line \(number): colour '\(parts[1])' is not r,g,b with values 0…255")
            }
            return (name, RGB(UInt8(r), UInt8(g), UInt8(b)))
        }
        let tokens = line.split(whereSeparator: \.isWhitespace).map(String.init)
        if tokens.count >= 4, let r = UInt8(tokens[tokens.count - 3]), let g = UInt8(tokens[tokens.count - 2]),
           let b = UInt8(tokens[tokens.count - 1]) {
            return (tokens.dropLast(3).joined(separator: " "), RGB(r, g, b))
        }
        return (line, nil)
    }

    /// A 256-entry display palette: the list's colours first, the VOC colormap for the rest.
    public var palette: [RGB] {
        var p = Palette.voc
        if let colors { for (i, c) in colors.enumerated() where i < 255 { p[i] = c } }
        return p
    }

    /// Text for a `classes.txt`: one `name r g b` line per class.
    public var fileText: String {
        let p = palette
        return names.enumerated().map { i, n in "\(n) \(p[i].r) \(p[i].g) \(p[i].b)" }.joined(separator: "\n") + "\n"
    }
}
