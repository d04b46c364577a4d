import Foundation

/// The TOML that `config.toml` uses, parsed in Swift (D-148): `key = value` lines (bare or quoted
/// keys), basic and literal strings, integers (decimal, `0x` / `0o` / `0b`, `_` separators),
/// floats (`inf`, `nan`), booleans, arrays (nested, across lines, trailing comma) and comments.
/// Table headers and inline tables parse as tables (no config key takes one); multi-line strings
/// and dates are syntax errors. It replaces toml++ (through TOMLKit), whose parser aborts the
/// process on some malformed arrays (`crop = [192,} 192]`: an assertion in `parse_value`), found
/// by `segscope fuzz --target config-toml`. Every bad input is an error naming the line.
enum ConfigTOML {
    indirect enum Value: Equatable {
        case string(String), integer(Int), float(Double), boolean(Bool), array([Value]), table

        var typeName: String {
            switch self {
            case .string: return "string"
            case .integer: return "integer"
            case .float: return "float"
            case .boolean: return "boolean"
            case .array: return "array"
            case .table: return "table"
            }
        }
    }

    struct SyntaxError: Error, CustomStringConvertible {
        let line: Int
        let message: String
        var description: String { "line \(line): \(message)" }
    }

    /// The document's top-level keys in order, each once (a repeated key is a syntax error, as TOML
    /// says). A table header `[name]` yields the key `name` with `.table`, and its keys are
    /// skipped with it.
    static func parse(_ text: String) throws -> [(key: String, value: Value)] {
        var parser = Parser(Array(text.unicodeScalars))
        return try parser.document()
    }

    private struct Parser {
        let s: [Unicode.Scalar]
        var i = 0
        var line = 1

        init(_ scalars: [Unicode.Scalar]) { s = scalars }

        var atEnd: Bool { i >= s.count }
        var current: Unicode.Scalar? { i < s.count ? s[i] : nil }

        func fail(_ message: String) -> SyntaxError { SyntaxError(line: line, message: message) }

        mutating func skipSpaces() { while let c = current, c == " " || c == "\t" { i += 1 } }

        mutating func skipComment() {
            if current == "#" { while let c = current, c != "\n" { i += 1 } }
        }

        /// Spaces, comments and newlines (inside arrays and between lines).
        mutating func skipBlank() {
            while let c = current {
                if c == " " || c == "\t" || c == "\r" { i += 1 } else if c == "\n" { i += 1; line += 1 } else if c == "#" { skipComment() } else { break }
            }
        }

        mutating func endOfLine() throws {
            skipSpaces()
            skipComment()
            if current == "\r" { i += 1 }
            guard let c = current else { return }
            guard c == "\n" else { throw fail("unexpected '\(c)' after the value (one key = value per line)") }
            i += 1
            line += 1
        }

        mutating func document() throws -> [(key: String, value: Value)] {
            var entries: [(key: String, value: Value)] = []
            var seen = Set<String>()
            var inTable = false
            while true {
                skipBlank()
                guard let c = current else { break }
                if c == "[" {
                    i += 1
                    let double = current == "["
                    if double { i += 1 }
                    skipSpaces()
                    let name = try key()
                    skipSpaces()
                    guard current == "]" else { throw fail("expected ']' to close the table header [\(name)") }
                    i += 1
                    if double {
                        guard current == "]" else { throw fail("expected ']]' to close the table header [[\(name)") }
                        i += 1
                    }
                    try endOfLine()
                    if !seen.contains(name) { entries.append((name, .table)); seen.insert(name) }
                    inTable = true
                    continue
                }
                let name = try key()
                skipSpaces()
                guard current == "=" else { throw fail("expected '=' after the key '\(name)'") }
                i += 1
                skipSpaces()
                let v = try value(depth: 0)
                try endOfLine()
                if inTable { continue }
                guard !seen.contains(name) else { throw fail("the key '\(name)' is set twice") }
                seen.insert(name)
                entries.append((name, v))
            }
            return entries
        }

        static func isBare(_ c: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c) || c == "_" || c == "-"
        }

        /// A bare, quoted or dotted key (dotted parts joined with ".").
        mutating func key() throws -> String {
            var parts: [String] = []
            while true {
                skipSpaces()
                if current == "\"" || current == "'" {
                    guard case .string(let q) = try string() else { throw fail("bad quoted key") }
                    parts.append(q)
                } else {
                    let start = i
                    while let c = current, Self.isBare(c) { i += 1 }
                    guard i > start else { throw fail(current.map { "expected a key, found '\($0)'" } ?? "expected a key") }
                    parts.append(String(String.UnicodeScalarView(s[start..<i])))
                }
                skipSpaces()
                guard current == "." else { return parts.joined(separator: ".") }
                i += 1
            }
        }

        mutating func value(depth: Int) throws -> Value {
            guard depth < 32 else { throw fail("arrays nested more than 32 deep") }
            guard let c = current else { throw fail("expected a value") }
            switch c {
            case "\"", "'":
                return try string()
            case "[":
                i += 1
                var items: [Value] = []
                while true {
                    skipBlank()
                    guard let d = current else { throw fail("unterminated array") }
                    if d == "]" { i += 1; return .array(items) }
                    items.append(try value(depth: depth + 1))
                    skipBlank()
                    if current == "," { i += 1; continue }
                    guard current == "]" else { throw fail("expected ',' or ']' in the array") }
                }
            case "{":
                i += 1
                skipSpaces()
                if current == "}" { i += 1; return .table }
                while true {
                    _ = try key()
                    skipSpaces()
                    guard current == "=" else { throw fail("expected '=' in the inline table") }
                    i += 1
                    skipSpaces()
                    _ = try value(depth: depth + 1)
                    skipSpaces()
                    if current == "," { i += 1; skipSpaces(); continue }
                    guard current == "}" else { throw fail("expected ',' or '}' in the inline table") }
                    i += 1
                    return .table
                }
            default:
                let start = i
                while let d = current, !" \t\r\n,]}#".unicodeScalars.contains(d) { i += 1 }
                let word = String(String.UnicodeScalarView(s[start..<i]))
                guard !word.isEmpty else { throw fail("expected a value, found '\(c)'") }
                return try scalar(word)
            }
        }

        func scalar(_ word: String) throws -> Value {
            if word == "true" { return .boolean(true) }
            if word == "false" { return .boolean(false) }
            for (text, v) in [("inf", Double.infinity), ("+inf", .infinity), ("-inf", -.infinity), ("nan", .nan), ("+nan", .nan), ("-nan", .nan)]
                where word == text { return .float(v) }
            var body = word
            var sign = ""
            if body.hasPrefix("+") || body.hasPrefix("-") { sign = String(body.removeFirst()) }
            for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where body.hasPrefix(prefix) {
                let digits = body.dropFirst(2).replacingOccurrences(of: "_", with: "")
                guard sign.isEmpty, !digits.isEmpty, let n = Int(digits, radix: radix) else { throw fail("'\(word)' is not a valid integer") }
                return .integer(n)
            }
            let allowed = CharacterSet(charactersIn: "0123456789_.eE+-")
            guard !body.isEmpty, body.unicodeScalars.allSatisfy({ allowed.contains($0) }), body.first?.isNumber == true,
                  body.last?.isNumber == true, !body.contains("__") else {
                throw fail("'\(word)' is not a value (strings need quotes)")
            }
            let plain = sign + body.replacingOccurrences(of: "_", with: "")
            if !body.contains(".") && !body.contains("e") && !body.contains("E") {
                guard let n = Int(plain) else { throw fail("'\(word)' is out of the 64-bit integer range") }
                return .integer(n)
            }
            guard let d = Double(plain), d.isFinite else { throw fail("'\(word)' is not a valid float") }
            return .float(d)
        }

        mutating func string() throws -> Value {
            let quote = s[i]
            if i + 2 < s.count && s[i + 1] == quote && s[i + 2] == quote {
                throw fail("multi-line strings are not used in config.toml")
            }
            i += 1
            var out = String.UnicodeScalarView()
            while true {
                guard let c = current, c != "\n" else { throw fail("unterminated string") }
                i += 1
                if c == quote { return .string(String(out)) }
                guard quote == "\"" && c == "\\" else { out.append(c); continue }
                guard let e = current else { throw fail("unterminated string") }
                i += 1
                switch e {
                case "b": out.append("\u{8}")
                case "t": out.append("\t")
                case "n": out.append("\n")
                case "f": out.append("\u{C}")
                case "r": out.append("\r")
                case "\"": out.append("\"")
                case "\\": out.append("\\")
                case "u", "U":
                    let n = e == "u" ? 4 : 8
                    guard i + n <= s.count, let code = UInt32(String(String.UnicodeScalarView(s[i..<(i + n)])), radix: 16),
                          let scalar = Unicode.Scalar(code) else { throw fail("bad \\\(e) escape in a string") }
                    i += n
                    out.append(scalar)
                default:
                    throw fail("unknown escape '\\\(e)' in a string")
                }
            }
        }
    }
}
