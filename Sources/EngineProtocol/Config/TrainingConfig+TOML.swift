import Foundation

extension TrainingConfig {
    /// Parses a TOML document; keys missing from it keep their defaults. Every unknown key,
    /// wrongly typed value and invalid value is reported together, naming `source`.
    public init(toml text: String, source: String = "config") throws {
        self.init()
        let table: [(key: String, value: ConfigTOML.Value)]
        do {
            table = try ConfigTOML.parse(text)
        } catch let error as ConfigTOML.SyntaxError {
            throw ConfigErrors([ConfigError(key: "(syntax)", message: error.description,
                                            allowed: "TOML (https://toml.io)", source: source)])
        }
        var errors: [ConfigError] = []
        // The file's recipe first, under every key of the file (D-251).
        if let entry = table.last(where: { $0.key == "recipe" }), case .string(let name) = entry.value, !name.isEmpty {
            do throws(ConfigErrors) { self = try applying(recipe: name) } catch {
                errors += error.errors.map { var e = $0; e.source = source; return e }
            }
        }
        for (name, raw) in table.sorted(by: { $0.key < $1.key }) {
            guard let key = Self.key(named: name) else {
                errors.append(Self.unknownKey(name, source: source))
                continue
            }
            guard let value = Self.configValue(raw, for: key) else {
                errors.append(ConfigError(key: name, message: "expected \(key.kind.rawValue), got a TOML \(raw.typeName)",
                                          allowed: key.allowed, source: source))
                continue
            }
            do throws(ConfigError) { try key.set(&self, value) } catch {
                var error = error
                error.source = source
                errors.append(error)
            }
        }
        for var problem in problems() {
            problem.source = source
            errors.append(problem)
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
    }

    /// Reads a TOML file (see `init(toml:source:)`).
    public init(contentsOf url: URL) throws {
        let text: String
        do {
            text = try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ConfigErrors([ConfigError(key: "(file)", message: "cannot read \(url.path): \(error.localizedDescription)",
                                            allowed: "a readable UTF-8 TOML file")])
        }
        try self.init(toml: text, source: url.path)
    }

    private static func configValue(_ raw: ConfigTOML.Value, for key: ConfigKey) -> ConfigValue? {
        switch (key.kind, raw) {
        case (.string, .string(let s)): return .string(s)
        case (.string, .boolean(let b)) where key.isFlag: return .string(b ? "true" : "false")
        case (.integer, .integer(let n)): return .integer(n)
        case (.float, .float(let d)): return .float(d)
        case (.float, .integer(let n)): return .float(Double(n))
        case (.size, .integer(let n)): return .size(PixelSize(square: n))
        case (.size, .array(let items)):
            guard items.count == 2, case .integer(let h) = items[0], case .integer(let w) = items[1] else { return nil }
            return .size(PixelSize(height: h, width: w))
        default: return nil
        }
    }

    /// The configuration as TOML: every key in table order, each with its help as a comment, so
    /// the file documents itself and reproduces the run. (`ConfigTOML` parses it back.)
    public func tomlText(header: String? = nil) -> String {
        var out = ""
        if let header { out += header.split(separator: "\n", omittingEmptySubsequences: false).map { "# \($0)" }.joined(separator: "\n") + "\n\n" }
        for key in Self.keys {
            var comment = key.help
            if let choices = key.choices { comment += " (\(choices.joined(separator: " | ")))" }
            out += "# \(comment)\n"
            if key.isFlag, case .string(let flag) = key.get(self) {
                out += "\(key.name) = \(flag)\n"   // a TOML boolean
            } else {
                out += "\(key.name) = \(Self.tomlLiteral(key.get(self)))\n"
            }
        }
        return out

    }

    static func tomlLiteral(_ value: ConfigValue) -> String {
        switch value {
        case .string(let s):
            var out = "\""
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case "\r": out += "\\r"
                default:
                    if scalar.value < 0x20 || scalar.value == 0x7f {
                        out += String(format: "\\u%04X", scalar.value)
                    } else {
                        out.unicodeScalars.append(scalar)
                    }
                }
            }
            return out + "\""
        case .integer(let i): return String(i)
        case .float(let d):
            if d.isNaN { return "nan" }
            if d.isInfinite { return d > 0 ? "inf" : "-inf" }
            let text = "\(d)"
            return text.contains(".") || text.contains("e") ? text : text + ".0"
        case .size(let s): return "[\(s.height), \(s.width)]"
        }
    }
}
