import ArgumentParser
import Foundation
import Models

/// `segscope model …`: the networks Segscope can train.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "List the networks and show their layers and parameter counts.",
        subcommands: [ModelList.self, ModelSummaryCommand.self, ModelInit.self])
}

/// Parses an `HxW` option value for ArgumentParser (the error names the value).
func parseInputSize(_ text: String?) throws -> InputSize? {
    guard let text else { return nil }
    do {
        return try InputSize(parsing: text)
    } catch {
        throw ValidationError(String(describing: error))
    }
}
