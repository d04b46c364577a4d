import ArgumentParser

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
        subcommands: [Doctor.self, DataCommand.self, ModelCommand.self, Bench.self, Tui.self, Train.self, Eval.self, Predict.self],
        defaultSubcommand: Tui.self)
}
