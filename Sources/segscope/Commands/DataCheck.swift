import ArgumentParser
import Datasets
import Foundation

/// `data check`: validate every sample. Samples that cannot be used (missing or undecodable
/// files, sizes that differ) are problems: exit 1 naming each. Samples that load but were
/// repaired on the way (unknown mask colours or out-of-range values mapped to void 255, 16-bit
/// masks scaled) are warnings: printed, exit 0, unless `--strict`.
struct DataCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate every sample (files exist, decode, sizes match, label values in range); exit 1 on problems.",
        discussion: """
            Warnings (a mask colour outside the palette or a label value out of range, mapped to void 255; \
            a 16-bit mask scaled to 8 bits) are printed but do not fail the check unless --strict is given: \
            such samples still train, with those pixels ignored.
            """)

    @OptionGroup var dataset: DatasetArguments

    @Flag(help: "Print the problems as JSON.")
    var json = false

    @Flag(help: "Fail (exit 1) on warnings too.")
    var strict = false

    @Option(help: "Most pixels one forward pass takes (the config key of the same name); larger images are predicted in tiles.")
    var maxWholeImagePixels = ImageSizeLimit.defaultWholeImagePixels

    func run() throws {
        var stats = try DatasetStatistics.compute(try dataset.open())
        // The input-size rule predict / eval apply (`ImageSizeLimit`): too large for one
        // prediction's buffers is an error; above one forward pass, a note (tiled).
        let limit = try sizeLimit(maxWholeImagePixels)
        var tiled: [DatasetStatistics.ImageEntry] = []
        for image in stats.images {
            switch limit.plan(height: image.height, width: image.width, classes: stats.numClasses, multiple: 64) {
            case .whole: break
            case .tiled: tiled.append(image)
            case .refused(let reason): stats.bad.append(.init(id: image.id, reason: "image \(reason)"))
            }
        }
        let failing = !stats.bad.isEmpty || (strict && !stats.warnings.isEmpty)
        if json {
            struct Report: Encodable {
                var ok: Bool
                var samples: Int
                /// Errors then warnings (kept for readers of the earlier format).
                var problems: [DatasetStatistics.Problem]
                var errors: [DatasetStatistics.Problem]
                var warnings: [DatasetStatistics.Problem]
            }
            print(try jsonText(Report(ok: !failing, samples: stats.samples, problems: stats.bad + stats.warnings,
                                      errors: stats.bad, warnings: stats.warnings)))
        } else {
            if stats.bad.isEmpty {
                let note = stats.warnings.isEmpty ? "no problems" : "no errors but \(stats.warnings.count) warning(s)"
                print("ok: \(stats.samples) samples in \(stats.splits.count) split(s) checked, \(note) (\(stats.name))")
            } else {
                print("\(stats.bad.count) problem(s) in \(stats.samples) samples (\(stats.name)):")
                for p in stats.bad { print("  \(p.id): \(p.reason)") }
            }
            if !stats.warnings.isEmpty {
                print("\(stats.warnings.count) warning(s) (the samples load; the pixels named are ignored as void 255):")
                for p in stats.warnings { print("  \(p.id): \(p.reason)") }
            }
            if !tiled.isEmpty {
                let side = limit.tile(multiple: 64)
                print("note: \(tiled.count) image(s) above max_whole_image_pixels (\(limit.wholeImagePixels)) are predicted in "
                      + "overlapping \(side)x\(side) tiles: " + tiled.prefix(5).map { "\($0.id) \($0.width)x\($0.height)" }.joined(separator: ", ")
                      + (tiled.count > 5 ? ", …" : ""))
            }
        }
        if failing { throw ExitCode(1) }
    }
}
