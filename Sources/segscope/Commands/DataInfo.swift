import ArgumentParser
import Datasets
import Foundation

/// `segscope data info`: statistics of a dataset.
struct DataInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Print a dataset's statistics: samples per split, image sizes, class pixel shares, bad samples.")

    @OptionGroup var dataset: DatasetArguments

    @Flag(help: "Print one JSON object (including each image's class set) instead of a table.")
    var json = false

    func run() throws {
        let stats = try DatasetStatistics.compute(try dataset.open())
        print(json ? try jsonText(stats) : stats.text)
    }
}
