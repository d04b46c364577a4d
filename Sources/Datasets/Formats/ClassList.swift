import Foundation

/// A custom class list read from `labelmap.txt` or `classes.txt` beside the data.
///
/// - `labelmap.txt` (the VOC export of annotation tools): `name:r,g,b:parts:actions`, `#` comments.
/// - `classes.txt`: one class per line, `name`, `name r g b` or `name:r,g,b`.
///
/// Line order gives the class index. Colours, when every line has one, replace the VOC
/// colormap for display and for mapping RGB masks back to indices; a list without colours takes
/// the built-in palette of its class names (`Palette.automatic`). A colour that is not three
/// integers 0…255 is refused naming the file, line and value.
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
        var names: [String] = []
        var colors: [RGB] = []
        // Numbered as in the file (comments and blank lines counted), so an error points at its line.
        for (number, line) in try DatasetFiles.numberedLines(url) {
            let (name, color) = try parse(line, file: url, line: number)
            guard !name.isEmpty else { throw DatasetError("\(url.path) line \(number): empty class name") }
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
        // `name r g b`: a line ending in two or more numbers means a colour and is checked; one
        // trailing number stays part of the name ("level 2").
        let tokens = line.split(whereSeparator: \.isWhitespace).map(String.init)
        let numbers = tokens.reversed().prefix(while: isNumber).count
        guard numbers >= 2 else { return (line, nil) }
        let place = "\(file.path) line \(number)"
        let form = "expected `name r g b` with r, g, b integers from 0 to 255 (or `name:r,g,b`)"
        guard numbers >= 3 else {
            throw DatasetError("\(place): '\(line)' ends in \(numbers) numbers, not a colour of three; \(form)")
        }
        guard tokens.count > 3 else { throw DatasetError("\(place): '\(line)' has a colour but no class name; \(form)") }
        var rgb: [UInt8] = []
        for (channel, text) in zip(["r", "g", "b"], tokens.suffix(3)) {
            guard let value = UInt8(text) else {
                throw DatasetError("\(place): \(channel) value '\(text)' of '\(line)' is not an integer from 0 to 255; \(form)")
            }
            rgb.append(value)
        }
        return (tokens.dropLast(3).joined(separator: " "), RGB(rgb[0], rgb[1], rgb[2]))
    }

    /// A token that reads as a number (digits with an optional sign, point or exponent).
    private static func isNumber(_ token: String) -> Bool {
        let digits = "0123456789"
        return token.contains(where: digits.contains) && token.allSatisfy { digits.contains($0) || "+-.eE".contains($0) }
    }

    /// A 256-entry display palette: the list's colours first and the VOC colormap for the rest;
    /// without colours, the built-in palette of its class names (ADE20K, Cityscapes, VOC) or VOC's.
    public var palette: [RGB] {
        guard let colors else { return Palette.automatic(for: names) }
        return Palette.filled(colors)
    }

    /// Text for a `classes.txt`: one `name r g b` line per class.
    public var fileText: String {
        let p = palette
        return names.enumerated().map { i, n in "\(n) \(p[i].r) \(p[i].g) \(p[i].b)" }.joined(separator: "\n") + "\n"
    }
}
