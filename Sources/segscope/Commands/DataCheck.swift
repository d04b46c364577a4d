import ArgumentParser
import Datasets
import Foundation

/// `segscope data check`: validate every sample; non-zero exit naming each problem.
struct DataCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate every sample (files exist, decode, sizes match, label values in range); exit 1 on problems.")

    @OptionGroup var dataset: DatasetArguments

    @Flag(help: "Print the problems as JSON.")
    var json = false

    func run() throws {
        let stats = try DatasetStatistics.compute(try dataset.open())
        let problems = stats.bad + stats.warnings
        if json {
            struct Report: Encodable {
                var ok: Bool
                var samples: Int
                var problems: [DatasetStatistics.Problem]
            }
            print(try jsonText(Report(ok: problems.isEmpty, samples: stats.samples, problems: problems)))
        } else if problems.isEmpty {
            print("ok: \(stats.samples) samples in \(stats.splits.count) split(s) checked, no problems (\(stats.name))")
        } else {
            print("\(problems.count) problem(s) in \(stats.samples) samples (\(stats.name)):")
            for p in problems { print("  \(p.id): \(p.reason)") }
        }
        if !problems.isEmpty { throw ExitCode(1) }
    }
}
