import ArgumentParser
import Foundation
import Models

/// `segscope model list`: the registered networks with their defaults and sizes.
struct ModelList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the networks Segscope can build, with defaults and parameter counts.")

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    struct Entry: Codable {
        var name: String
        var description: String
        var origin: String
        var defaultClasses: Int
        var defaultInput: InputSize
        var sizeMultiple: Int
        var trainable: Int
        var nonTrainable: Int
        var total: Int
        var encoderDropout: Bool

        enum CodingKeys: String, CodingKey {
            case name, description, origin, defaultClasses = "default_classes", defaultInput = "default_input"
            case sizeMultiple = "size_multiple", trainable, nonTrainable = "non_trainable", total
            case encoderDropout = "encoder_dropout"
        }
    }

    func run() throws {
        let entries = try ModelRegistry.all.map { spec -> Entry in
            let model = try spec.build()
            return Entry(name: spec.name, description: spec.description, origin: spec.origin,
                         defaultClasses: spec.defaultClasses, defaultInput: spec.defaultInput,
                         sizeMultiple: spec.sizeMultiple, trainable: model.trainableCount,
                         nonTrainable: model.batchNormStatisticsCount,
                         total: model.trainableCount + model.batchNormStatisticsCount,
                         encoderDropout: spec.supportsEncoderDropout)
        }
        if json {
            print(try jsonText(entries))
            return
        }
        let rows = [["model", "input", "classes", "params (trainable + BN stats)", "from"]] + entries.map { e in
            [e.name, e.defaultInput.description, String(e.defaultClasses),
             "\(grouped(e.total)) (\(grouped(e.trainable)) + \(grouped(e.nonTrainable)))", e.origin]
        }
        let widths = (0..<5).map { c in rows.map { $0[c].count }.max() ?? 0 }
        for (i, row) in rows.enumerated() {
            print(row.enumerated().map { c, cell in c == 4 ? cell : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
                .joined(separator: "  "))
            if i == 0 { print(widths.map { String(repeating: "─", count: $0) }.joined(separator: "  ")) }
        }
        print("")
        for e in entries {
            print("\(e.name): \(e.description); " + (e.sizeMultiple > 1 ? "H and W divisible by \(e.sizeMultiple)." : "any H and W."))
        }
        print("\nShow the layers: segscope model summary NAME [--classes N] [--input HxW]")
    }
}

/// `1234567` → `"1,234,567"`.
func grouped(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = n < 0 ? "-" : ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return out
}
