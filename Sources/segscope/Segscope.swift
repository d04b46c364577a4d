import ArgumentParser
import Foundation
import NN

@main
struct Segscope: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "segscope",
        abstract: "A terminal workbench for semantic segmentation.",
        discussion: """
            Browse segmentation datasets and their masks, train FCN / U-Net models on the CPU and \
            watch them learn, and compare predicted with true masks — in one terminal.
            """,
        version: version,
        subcommands: [Doctor.self, DataCommand.self, ModelCommand.self, WeightsCommand.self, Bench.self, Tui.self, Train.self, Eval.self, Predict.self, Fuzz.self, Attach.self, Runs.self],
        defaultSubcommand: Tui.self)
}

extension Segscope {
    /// ArgumentParser's `main`, except for a `ValidationError` thrown by a subcommand's `run` (a
    /// bad value found after parsing, e.g. a config key): it is reported with that subcommand's
    /// help pointer instead of the root's "Usage: segscope <subcommand>", which misled users who
    /// had typed a subcommand. Exit code 64 (usage) as before.
    static func main() {
        // libgomp's spin setting must be in the environment when the process starts (`OpenMPSpin`).
        OpenMPSpin.prepareProcess()
        var command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
        } catch let error as ValidationError {
            let path = commandPath(of: type(of: command))
            FileHandle.standardError.write(Data("Error: \(error.message)\nSee '\(path) --help' for the options.\n".utf8))
            Foundation.exit(ExitCode.validationFailure.rawValue)
        } catch {
            exit(withError: error)
        }
    }

    /// "segscope data check" for `DataCheck.self`: the names from the root down to `target`.
    static func commandPath(of target: any ParsableCommand.Type) -> String {
        func search(_ t: any ParsableCommand.Type, _ path: [String]) -> [String]? {
            let here = path + [t.configuration.commandName ?? String(describing: t).lowercased()]
            if ObjectIdentifier(t) == ObjectIdentifier(target) { return here }
            for sub in t.configuration.subcommands {
                if let found = search(sub, here) { return found }
            }
            return nil
        }
        return (search(Segscope.self, []) ?? ["segscope"]).joined(separator: " ")
    }
}
