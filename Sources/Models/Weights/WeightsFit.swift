import Foundation
import NN

/// How a set of named tensors (a weights file, or just its names / shapes / dtypes) fits the
/// tensors a model expects: what matched, what is missing, unexpected, or of the wrong shape or
/// type. `weights inspect` prints it as one line; the loaders list every problem.
public struct WeightsFit: Sendable, Equatable {
    /// One tensor of the file: name, shape, dtype (`F32`, `I64`, … as safetensors spells them).
    public struct Item: Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        public var dtype: String
        public init(name: String, shape: [Int], dtype: String = "F32") {
            self.name = name
            self.shape = shape
            self.dtype = dtype
        }
    }

    public private(set) var matched = 0
    /// Names the model has and the file lacks, with the model's shape.
    public private(set) var missing: [Item] = []
    /// Names the file has and the model does not (after `ignoring`).
    public private(set) var unexpected: [Item] = []
    /// Present under the right name but with another shape or a non-float type.
    public private(set) var wrong: [String] = []
    /// File tensors skipped by `ignoring` (an ImageNet classifier's `fc.*`).
    public private(set) var ignored = 0

    public var fits: Bool { missing.isEmpty && unexpected.isEmpty && wrong.isEmpty }

    public init(items: [Item], expected: [(name: String, shape: [Int])], ignoring: (String) -> Bool = { _ in false }) {
        let byName = Dictionary(items.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for (name, shape) in expected {
            guard let item = byName[name] else {
                missing.append(Item(name: name, shape: shape))
                continue
            }
            if let problem = WeightsFit.problem(item, expected: shape) { wrong.append(problem) } else { matched += 1 }
        }
        let known = Set(expected.map(\.name))
        for item in items where !known.contains(item.name) {
            if ignoring(item.name) { ignored += 1 } else { unexpected.append(item) }
        }
    }

    public init(file: SafetensorsFile, expected: [(name: String, shape: [Int])], ignoring: (String) -> Bool = { _ in false }) {
        self.init(items: WeightsFit.items(of: file), expected: expected, ignoring: ignoring)
    }

    /// How `items` fit `model`'s whole state dict.
    public init(items: [Item], model: SegmentationModel) {
        self.init(items: items, expected: model.stateDict().map { ($0.name, $0.tensor.shape) })
    }

    static func problem(_ item: Item, expected: [Int]) -> String? {
        if item.shape != expected {
            return "'\(item.name)': shape \(item.shape) in the file, the model needs \(expected)"
        }
        if ["F32", "F16", "BF16", "F64"].contains(item.dtype) || item.name.hasSuffix("num_batches_tracked") { return nil }
        return "'\(item.name)': dtype \(item.dtype), expected a floating-point type (F32, F16, BF16, F64)"
    }

    /// Every problem, one per line (the loaders' error lists).
    public func problems(of source: String) -> [String] {
        missing.map { "missing tensor '\($0.name)' \($0.shape)" }
            + wrong
            + unexpected.map { "unexpected tensor '\($0.name)' \($0.shape) (not part of \(source))" }
    }

    /// One line: `fits (334 tensors)` or `312 of 334 match; missing 22 (classifier.4.weight,
    /// classifier.4.bias, …); unexpected 2 (…); 1 of the wrong shape or type (…)`.
    public var summary: String {
        func names(_ list: [String]) -> String {
            list.prefix(3).joined(separator: ", ") + (list.count > 3 ? ", …" : "")
        }
        let ignoredNote = ignored > 0 ? " (\(ignored) ignored)" : ""
        if fits { return "fits (\(matched) tensors)\(ignoredNote)" }
        let total = matched + missing.count + wrong.count
        var parts = ["\(matched) of \(total) match"]
        if !missing.isEmpty { parts.append("missing \(missing.count) (\(names(missing.map(\.name))))") }
        if !unexpected.isEmpty { parts.append("unexpected \(unexpected.count) (\(names(unexpected.map(\.name))))") }
        if !wrong.isEmpty {
            let wrongNames = wrong.map { $0.split(separator: "'", omittingEmptySubsequences: false).dropFirst().first.map(String.init) ?? $0 }
            parts.append("\(wrong.count) of the wrong shape or type (\(names(wrongNames)))")
        }
        return parts.joined(separator: "; ") + ignoredNote
    }
}

extension ModelSpec {
    /// How a file's tensors fit this model at its default classes or, when only the head's
    /// shapes differ, at the classes the file's last layer has: that model, built layout-only
    /// (`buildLayoutOnly`: its tensors are allocated, not initialised), and the fit.
    public func fit(_ items: [WeightsFit.Item]) throws -> (model: SegmentationModel, fit: WeightsFit) {
        let model = try buildLayoutOnly(ModelOptions(classes: defaultClasses))
        let fit = WeightsFit(items: items, model: model)
        if !fit.fits, fit.missing.isEmpty, fit.unexpected.isEmpty,
           let classes = WeightsFit.classes(in: items, model: model), classes != model.classes {
            let other = try buildLayoutOnly(ModelOptions(classes: classes))
            let refit = WeightsFit(items: items, model: other)
            if refit.fits { return (other, refit) }
        }
        return (model, fit)
    }
}

extension WeightsFit {
    /// The items of a weights file (names, shapes, dtypes).
    public static func items(of file: SafetensorsFile) -> [Item] {
        file.names.compactMap { name in file[name].map { Item(name: name, shape: $0.shape, dtype: $0.dtype.rawValue) } }
    }

    /// The first dimension the file gives the model's last tensor with `classes` rows (the
    /// classifier's bias).
    static func classes(in items: [Item], model: SegmentationModel) -> Int? {
        let byName = Dictionary(items.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for (name, tensor) in model.stateDict().reversed() where tensor.shape.first == model.classes {
            if let item = byName[name], let first = item.shape.first, first >= 1 { return first }
        }
        return nil
    }
}
