import ArgumentParser
import Foundation
import Models
import NN

/// `segscope weights …`: look into weights files (safetensors, PyTorch checkpoints) and convert them.
struct WeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weights",
        abstract: "Inspect a weights file (safetensors or PyTorch .pth / .pt) or convert it to safetensors.",
        subcommands: [WeightsInspect.self, WeightsConvert.self])
}

let backboneWeightsHelp = "torchvision ImageNet classifier weights (safetensors or .pth) for the backbone: resnet18 for "
    + "fcn-resnet18, resnet50 / resnet101 for the fcn / deeplabv3 models, mobilenet_v3_large for lraspp; its head "
    + "(fc.*, classifier.*) is ignored."
let checkpointKeyHelp = "The state dict inside a PyTorch checkpoint that wraps it ('model', 'state_dict', "
    + "'a/b' for nested entries); default: found automatically."

/// Loads `--backbone-weights` into `model`, or says which models have a backbone to load.
func loadBackbone(into model: SegmentationModel, from path: String, key: String?) throws {
    guard let loadable = model as? BackboneLoadable else {
        let names = ModelRegistry.all.filter { $0.backbone != nil }.map(\.name)
        throw ValidationError("--backbone-weights is for a model with an ImageNet backbone (\(names.joined(separator: ", "))), "
                              + "not \(model.name)")
    }
    try loadable.loadBackbone(from: URL(fileURLWithPath: path), key: key)
}

/// `segscope weights inspect FILE`: what is in the file and which registered model it fits.
struct WeightsInspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "The tensors of a weights file and the registered models (or backbones) they fit.",
        discussion: """
            Prints the file's kind (safetensors, or a PyTorch checkpoint in zip / legacy / tar \
            format, the state dict chosen inside it and the other entries), the tensors grouped by \
            module (--tensors: one line each), dtype counts, and one line per registered model: \
            whether the file loads into it (with --weights) or into its backbone \
            (--backbone-weights), and if not, what is missing, unexpected or of the wrong shape.
            """)

    @Argument(help: "A safetensors file or a PyTorch checkpoint (.pth / .pt).")
    var file: String

    @Option(help: ArgumentHelp(checkpointKeyHelp))
    var key: String?

    @Flag(help: "One line per tensor (name, dtype, shape) instead of one per module.")
    var tensors = false

    @Flag(help: "Print JSON instead of text.")
    var json = false

    struct Report: Encodable {
        struct Tensor: Encodable { var name: String, dtype: String, shape: [Int] }
        struct Fit: Encodable {
            var model: String, classes: Int, as_: String, fits: Bool, summary: String
            var matched: Int, missing: [String], unexpected: [String], wrong: [String]
            enum CodingKeys: String, CodingKey {
                case model, classes, as_ = "as", fits, summary, matched, missing, unexpected, wrong
            }
        }
        var file: String, kind: String, key: String?, stripped_prefix: String?, other_entries: [String]
        var values: Int, dtypes: [String: Int], tensors: [Tensor], fits: [Fit]
    }

    func run() throws {
        let opened = try WeightsFile.open(URL(fileURLWithPath: file), key: key)
        let items = WeightsFit.items(of: opened.tensors)
        let report = Report(
            file: file, kind: opened.kind.description, key: opened.checkpoint?.key,
            stripped_prefix: opened.checkpoint?.strippedPrefix, other_entries: opened.checkpoint?.otherEntries ?? [],
            values: items.reduce(0) { $0 + $1.shape.reduce(1, *) },
            dtypes: Dictionary(items.map { ($0.dtype, 1) }, uniquingKeysWith: +),
            tensors: items.map { .init(name: $0.name, dtype: $0.dtype, shape: $0.shape) },
            fits: try fits(items))
        if json {
            print(try jsonText(report))
            return
        }
        var where_ = report.kind
        if let key = report.key { where_ += ", state dict at '\(key)'" }
        if let prefix = report.stripped_prefix { where_ += ", prefix '\(prefix)' removed" }
        print("\(file): \(where_)")
        if !report.other_entries.isEmpty { print("other entries: \(report.other_entries.joined(separator: ", "))") }
        let dtypes = report.dtypes.keys.sorted().map { "\(report.dtypes[$0]!) \($0)" }.joined(separator: ", ")
        print("\(items.count) tensors, \(grouped(report.values)) values (\(dtypes))")
        print("")
        if tensors {
            for t in items { print("  \(t.name)  \(t.dtype)  \(t.shape)") }
        } else {
            for group in moduleGroups(items) { print("  " + group) }
        }
        print("")
        let width = report.fits.map { $0.model.count + $0.as_.count }.max() ?? 0
        for fit in report.fits {
            let label = (fit.as_.isEmpty ? fit.model : "\(fit.model) \(fit.as_)")
            let classes = fit.as_.isEmpty ? " (\(fit.classes) classes)" : ""
            print("\((label + ":").padding(toLength: width + 2, withPad: " ", startingAt: 0)) \(fit.summary)\(classes)")
        }
        let good = report.fits.filter(\.fits)
        print(good.isEmpty ? "\nFits no registered model." : "\nLoads with: " + good.map { fit in
            fit.as_.isEmpty ? "--model \(fit.model) --weights \(file)" : "--model \(fit.model) --backbone-weights \(file)"
        }.joined(separator: " | "))
    }

    /// Each registered model against the whole file (at its default classes, or the classes the
    /// file's last layers have), and each model with a backbone against the file as a backbone.
    func fits(_ items: [WeightsFit.Item]) throws -> [Report.Fit] {
        var out: [Report.Fit] = []
        for spec in ModelRegistry.all {
            let (model, fit) = try spec.fit(items)
            out.append(.init(model: spec.name, classes: model.classes, as_: "", fits: fit.fits, summary: fit.summary,
                             matched: fit.matched, missing: fit.missing.map(\.name), unexpected: fit.unexpected.map(\.name),
                             wrong: fit.wrong))
            if let loadable = model as? BackboneLoadable {
                let backbone = WeightsFit(items: items, expected: loadable.backboneLayout(), ignoring: loadable.isClassifierTensor)
                out.append(.init(model: spec.name, classes: model.classes, as_: "backbone", fits: backbone.fits,
                                 summary: backbone.summary, matched: backbone.matched,
                                 missing: backbone.missing.map(\.name), unexpected: backbone.unexpected.map(\.name),
                                 wrong: backbone.wrong))
            }
        }
        return out
    }

    /// Tensors grouped by their first two name parts (`backbone.layer1: 30 tensors, 215,808
    /// values`), or one part when that is all there is.
    func moduleGroups(_ items: [WeightsFit.Item]) -> [String] {
        var order: [String] = []
        var counts: [String: (tensors: Int, values: Int)] = [:]
        for item in items {
            let parts = item.name.split(separator: ".")
            let group = parts.count > 2 ? parts.prefix(2).joined(separator: ".") : (parts.count == 2 ? String(parts[0]) : item.name)
            if counts[group] == nil { order.append(group) }
            let c = counts[group] ?? (0, 0)
            counts[group] = (c.tensors + 1, c.values + item.shape.reduce(1, *))
        }
        let width = order.map(\.count).max() ?? 0
        return order.map { g in
            let c = counts[g]!
            return "\(g.padding(toLength: width, withPad: " ", startingAt: 0))  \(c.tensors) tensor\(c.tensors == 1 ? "" : "s"), \(grouped(c.values)) values"
        }
    }
}

/// `segscope weights convert IN OUT.safetensors`: the tensors of any weights file as safetensors.
struct WeightsConvert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Write the tensors of a weights file (a PyTorch checkpoint's state dict) to a safetensors file.",
        discussion: """
            Names, shapes, dtypes and values are kept (F16 stays F16, num_batches_tracked stays I64); \
            the output is written to a temporary file and renamed into place.
            """)

    @Argument(help: "A PyTorch checkpoint (.pth / .pt) or a safetensors file.")
    var input: String

    @Argument(help: "The safetensors file to write.")
    var output: String

    @Option(help: ArgumentHelp(checkpointKeyHelp))
    var key: String?

    func run() throws {
        let opened = try WeightsFile.open(URL(fileURLWithPath: input), key: key)
        let st = opened.tensors
        let entries = st.names.compactMap { st[$0] }
        var metadata = ["format": "pt", "segscope.converted_from": URL(fileURLWithPath: input).lastPathComponent]
        if let key = opened.checkpoint?.key { metadata["segscope.key"] = key }
        try Safetensors.write(entries: entries, metadata: metadata, to: URL(fileURLWithPath: output))
        let values = entries.reduce(0) { $0 + $1.elementCount }
        print("wrote \(output): \(entries.count) tensors, \(grouped(values)) values from \(input) (\(opened.kind.description))")
    }
}
