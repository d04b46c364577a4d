import ArgumentParser

/// `segscope bench …`: measured throughput of each stage. Each subcommand prints its figures
/// (and `--json`); none of them fail on speed — targets are printed for comparison.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the speed of Segscope's stages on this machine.",
        subcommands: benchSubcommands)

    /// Add new `bench` subcommands here.
    static let benchSubcommands: [ParsableCommand.Type] = [BenchData.self, BenchOps.self, BenchTui.self, BenchTrain.self]
        + [BenchCompareBackends.self]
}
