import Datasets
import EngineProtocol

/// The browser's filter as a small query language over the scanned samples:
///
///     dog sheep            both classes present (words side by side are AND)
///     dog | cat            either (also `or`)
///     !person              no person (also `-person`, `not person`)
///     person>20%           person covers more than 20% of the labelled pixels (<, <=, >, >=, =)
///     (dog | cat) !person  parentheses group
///     id:2008              ids containing "2008"
///     tag:suspect          samples tagged "suspect" (`x` / `X` in the browser); `tagged`: any tag
///     iou<0.3              after `v`: the evaluation's per-sample IoU below 0.3 (also acc, lq;
///                          `30%` and `30` mean 0.3 as for shares)
///
/// A bare word matches a sample whose id contains it or one of whose object classes starts with
/// it (case-insensitive), as the filter always did. Class names in thresholds are resolved when
/// parsing: an exact name, or a prefix of exactly one class; anything else is an error that
/// names the word and the choices. `iou`, `acc` and `lq` (and `miou`, `accuracy`, `quality`)
/// before a comparison are the per-sample figures of D-188, not class names; on a sample the
/// evaluation did not score (or whose figure is undefined) such a term is false.
public indirect enum SampleQuery: Equatable, Sendable {
    /// Matches every sample (the empty query).
    case all
    /// Id substring or class-name prefix (lower-cased).
    case word(String)
    /// Id substring only.
    case id(String)
    /// Samples carrying the tag (lower-cased); nil: any tag (`tagged`).
    case tag(String?)
    /// The pixel share of class `index` (of labelled pixels, void left out) compared with `value` (0...1).
    case share(index: Int, Comparison, Double)
    /// An evaluation's per-sample figure compared with `value` (0...1); false without one.
    case metric(SampleFigure, Comparison, Double)
    case not(SampleQuery)
    case and([SampleQuery])
    case or([SampleQuery])

    public enum Comparison: String, Sendable, CaseIterable {
        case lessOrEqual = "<=", greaterOrEqual = ">=", less = "<", greater = ">", equal = "="

        func holds(_ a: Double, _ b: Double) -> Bool {
            switch self {
            case .less: return a < b
            case .lessOrEqual: return a <= b
            case .greater: return a > b
            case .greaterOrEqual: return a >= b
            case .equal: return abs(a - b) < 0.0005
            }
        }
    }

    /// A query that does not parse: the message names the offending text.
    public struct ParseError: Error, Equatable, CustomStringConvertible, Sendable {
        public var message: String
        public var description: String { message }
    }

    // MARK: Parsing

    enum Token: Equatable {
        case word(String), open, close, or, not, and
    }

    static func tokenize(_ text: String) -> [Token] {
        var tokens: [Token] = []
        var current = ""
        func flush() {
            guard !current.isEmpty else { return }
            switch current.lowercased() {
            case "or": tokens.append(.or)
            case "and": tokens.append(.and)
            case "not": tokens.append(.not)
            default: tokens.append(.word(current))
            }
            current = ""
        }
        for ch in text {
            switch ch {
            case " ", "\t": flush()
            case "(": flush(); tokens.append(.open)
            case ")": flush(); tokens.append(.close)
            case "|": flush(); tokens.append(.or)
            case "&": flush(); tokens.append(.and)
            case "!" where current.isEmpty: tokens.append(.not)
            case "-" where current.isEmpty: tokens.append(.not)
            default: current.append(ch)
            }
        }
        flush()
        return tokens
    }

    /// Parses `text`; `classNames` resolves class names of thresholds.
    public static func parse(_ text: String, classNames: [String]) throws -> SampleQuery {
        var parser = Parser(tokens: tokenize(text), classNames: classNames)
        if parser.tokens.isEmpty { return .all }
        let query = try parser.orExpression()
        if parser.position < parser.tokens.count {
            throw ParseError(message: parser.tokens[parser.position] == .close ? "unmatched “)”" : "unexpected text after the query")
        }
        return query
    }

    struct Parser {
        let tokens: [Token]
        let classNames: [String]
        var position = 0

        var next: Token? { position < tokens.count ? tokens[position] : nil }

        mutating func orExpression() throws -> SampleQuery {
            var terms = [try andExpression()]
            while next == .or {
                position += 1
                guard next != nil else { throw ParseError(message: "“or” needs something after it") }
                terms.append(try andExpression())
            }
            return terms.count == 1 ? terms[0] : .or(terms)
        }

        mutating func andExpression() throws -> SampleQuery {
            var terms = [try unary()]
            while let token = next, token != .or, token != .close {
                if token == .and {
                    position += 1
                    guard next != nil else { throw ParseError(message: "“and” needs something after it") }
                }
                terms.append(try unary())
            }
            return terms.count == 1 ? terms[0] : .and(terms)
        }

        mutating func unary() throws -> SampleQuery {
            guard let token = next else { throw ParseError(message: "the query ends too early") }
            position += 1
            switch token {
            case .not:
                guard next != nil else { throw ParseError(message: "“!” needs a class or word after it") }
                return .not(try unary())
            case .open:
                let inner = try orExpression()
                guard next == .close else { throw ParseError(message: "missing “)”") }
                position += 1
                return inner
            case .word(let w):
                return try term(w)
            case .close:
                throw ParseError(message: "unmatched “)”")
            case .or, .and:
                throw ParseError(message: "“\(token == .or ? "or" : "and")” needs something before it")
            }
        }

        func term(_ w: String) throws -> SampleQuery {
            if w.lowercased().hasPrefix("id:") { return .id(String(w.dropFirst(3)).lowercased()) }
            if w.lowercased() == "tagged" { return .tag(nil) }
            if w.lowercased().hasPrefix("tag:") {
                let name = String(w.dropFirst(4)).lowercased()
                guard !name.isEmpty else { throw ParseError(message: "“\(w)”: a tag name goes after tag:, e.g. tag:\(SampleTags.defaultName)") }
                return .tag(name)
            }
            for op in Comparison.allCases {
                guard let range = w.range(of: op.rawValue) else { continue }
                let name = String(w[..<range.lowerBound])
                guard !name.isEmpty else {
                    throw ParseError(message: "“\(w)”: a class name or iou / acc / lq goes before \(op.rawValue)")
                }
                let figure = SampleFigure(name: name)
                let example = figure.map { "\($0.rawValue)\(op.rawValue)0.3" } ?? "\(name)\(op.rawValue)20%"
                var number = String(w[range.upperBound...])
                let percent = number.hasSuffix("%")
                if percent { number.removeLast() }
                guard let value = Double(number), value.isFinite, value >= 0 else {
                    throw ParseError(message: "“\(w)”: expected \(figure == nil ? "a share" : "a number") after \(op.rawValue), e.g. \(example)")
                }
                let fraction = percent || value > 1 ? value / 100 : value
                if let figure {
                    guard fraction <= 1 else { throw ParseError(message: "“\(w)”: \(figure.title) is at most 1 (100%)") }
                    return .metric(figure, op, fraction)
                }
                guard fraction <= 1 else { throw ParseError(message: "“\(w)”: a share is at most 100%") }
                return .share(index: try resolveClass(name), op, fraction)
            }
            return .word(w.lowercased())
        }

        func resolveClass(_ name: String) throws -> Int {
            let lower = name.lowercased()
            if let exact = classNames.firstIndex(where: { $0.lowercased() == lower }) { return exact }
            let matches = classNames.indices.filter { classNames[$0].lowercased().hasPrefix(lower) }
            if matches.count == 1 { return matches[0] }
            if matches.isEmpty {
                throw ParseError(message: "no class named “\(name)” (classes: \(classNames.prefix(8).joined(separator: ", "))\(classNames.count > 8 ? ", …" : ""))")
            }
            throw ParseError(message: "“\(name)” could be \(matches.map { classNames[$0] }.joined(separator: " or "))")
        }
    }

    // MARK: Matching

    /// The per-sample figures the query's terms compare (empty: it needs no evaluation).
    public var figures: Set<SampleFigure> {
        switch self {
        case .all, .word, .id, .tag, .share: return []
        case .metric(let figure, _, _): return [figure]
        case .not(let q): return q.figures
        case .and(let qs), .or(let qs): return qs.reduce(into: []) { $0.formUnion($1.figures) }
        }
    }

    /// Whether the sample `id` (with its scan, when done, and its evaluation figures, when
    /// loaded) passes. Class terms need the scan: an unscanned sample passes only on its id. A
    /// figure term is false for a sample without that figure (not scored, or undefined). `tags`
    /// are the sample's tag names.
    public func matches(id: String, info: SampleInfo?, objectClasses: [String], metrics: SampleMetrics? = nil,
                        tags: [String] = []) -> Bool {
        switch self {
        case .all: return true
        case .word(let w):
            return id.lowercased().contains(w) || objectClasses.contains { $0.lowercased().hasPrefix(w) }
        case .id(let w): return id.lowercased().contains(w)
        case .tag(let name): return name.map { tags.contains($0) } ?? !tags.isEmpty
        case .share(let index, let op, let value):
            guard let info, info.error == nil, info.counts.count == 256 else { return false }
            let labelled = info.counts.prefix(255).reduce(0, +)
            guard labelled > 0 else { return false }
            return op.holds(Double(info.counts[index]) / Double(labelled), value)
        case .metric(let figure, let op, let value):
            guard let v = figure.value(metrics) else { return false }
            return op.holds(v, value)
        case .not(let q): return !q.matches(id: id, info: info, objectClasses: objectClasses, metrics: metrics, tags: tags)
        case .and(let qs): return qs.allSatisfy { $0.matches(id: id, info: info, objectClasses: objectClasses, metrics: metrics, tags: tags) }
        case .or(let qs): return qs.contains { $0.matches(id: id, info: info, objectClasses: objectClasses, metrics: metrics, tags: tags) }
        }
    }
}

/// One of an evaluation's per-sample figures (D-188), as queries and sorts name it.
public enum SampleFigure: String, Sendable, CaseIterable, Comparable {
    case iou, acc, lq

    /// `iou` / `miou`, `acc` / `accuracy`, `lq` / `quality` (any case); nil for anything else.
    public init?(name: String) {
        switch name.lowercased() {
        case "iou", "miou": self = .iou
        case "acc", "accuracy": self = .acc
        case "lq", "quality": self = .lq
        default: return nil
        }
    }

    public var title: String {
        switch self {
        case .iou: return "IoU"
        case .acc: return "accuracy"
        case .lq: return "label quality"
        }
    }

    /// The figure of `m`; nil when there is no record or the figure is undefined (NaN).
    public func value(_ m: SampleMetrics?) -> Double? {
        guard let m else { return nil }
        let v: Double
        switch self {
        case .iou: v = m.mIoU
        case .acc: v = m.pixelAccuracy
        case .lq: v = m.labelQuality
        }
        return v.isFinite ? v : nil
    }

    public static func < (a: SampleFigure, b: SampleFigure) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
