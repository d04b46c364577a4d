import ArgumentParser
import Datasets
import Foundation

/// `segscope data …`: look at, validate and create datasets.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Inspect, validate and create segmentation datasets.",
        subcommands: [DataInfo.self, DataCheck.self, DataDemo.self, DataExport.self])
}

/// Options every `data` subcommand that reads a dataset shares.
struct DatasetArguments: ParsableArguments {
    @Argument(help: "The dataset directory (VOC, Oxford-IIIT Pet, images+masks folder, or a demo set).")
    var directory: String

    @Option(help: "The layout: voc, pets, folder, demo or auto (recognise it).")
    var format: DatasetFormat = .auto

    @Option(help: "Read only the first N samples of each split.")
    var limit: Int?

    @Option(help: "Pets only: what the trimap border becomes — 'class' (class 2, as Keras) or 'void' (255).")
    var petsBorder: DatasetOptions.PetsBorder = .separateClass

    var url: URL { URL(fileURLWithPath: (directory as NSString).expandingTildeInPath) }

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1 (got \(limit))") }
    }

    func open() throws -> any SegmentationDataset {
        do {
            return try DatasetLoader.open(url, format: format, options: DatasetOptions(limit: limit, petsBorder: petsBorder))
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

extension DatasetFormat: ExpressibleByArgument {}
extension DatasetOptions.PetsBorder: ExpressibleByArgument {}

/// Pretty JSON with sorted keys, as every `--json` flag prints.
func jsonText<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// Writes a line to stderr.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
