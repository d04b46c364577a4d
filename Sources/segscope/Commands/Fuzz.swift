import ArgumentParser
import Foundation

/// `segscope fuzz`: the bad-input fuzzer (issue #16, D-147). Each target's cases are mutations of
/// valid seeds, reproducible from (target, seed, index). Cases run in batches in child processes
/// (`--worker`), which report each case before running it, so a crash (the child dies of a
/// signal) names its case, and a case that makes no progress for `--timeout` seconds is a hang
/// (the child is killed). The run goes on after either, from the next case.
struct Fuzz: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Mutation-fuzz the input readers (images, dataset lists, masks, config, engine JSON, weights) for crashes and hangs.",
        discussion: """
            Targets: \(FuzzTarget.all.map(\.name).joined(separator: ", ")). A thrown error is the right answer to bad \
            input; only a crash or a hang is a finding, written to --findings DIR as the input that caused it, with the \
            command that replays it (--replay INDEX runs one case in this process). --corpus-out DIR writes the cases \
            as files instead of running them (a bad-input corpus for other tools). Exit 1 when anything was found.
            """)

    @Option(help: "Targets to fuzz, comma-separated (default: all).") var target: String?
    @Option(help: "Cases per target.") var cases = 10_000
    @Option(help: "Seed of the case generator.") var seed: UInt64 = 1
    @Option(help: "Cases per child process.") var batch = 2_000
    @Option(help: "Seconds a case may run before it counts as a hang.") var timeout: Double = 10
    @Option(help: "Directory for the inputs of crashes and hangs.") var findings = "fuzz-findings"
    @Option(help: "Write the cases as files to this directory instead of running them.") var corpusOut: String?
    @Option(help: "Run one case (of one --target) in this process and report how it ended.") var replay: Int?
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: .hidden) var worker: Int?

    func targets() throws -> [FuzzTarget] {
        guard let target else { return FuzzTarget.all }
        return try target.split(separator: ",").map { name in
            guard let found = FuzzTarget.named(String(name)) else {
                throw ValidationError("--target: no target '\(name)'; targets: \(FuzzTarget.all.map(\.name).joined(separator: ", "))")
            }
            return found
        }
    }

    func validate() throws {
        guard cases >= 0, batch >= 1, timeout > 0 else { throw ValidationError("--cases ≥ 0, --batch ≥ 1 and --timeout > 0, please") }
    }

    func run() throws {
        let chosen = try targets()
        if let worker {
            // Child: run `cases` cases of one target from index `worker`, announcing each.
            guard chosen.count == 1 else { throw ValidationError("--worker needs exactly one --target") }
            try FuzzRunner.work(chosen[0], seed: seed, from: worker, count: cases)
            return
        }
        if let replay {
            guard chosen.count == 1 else { throw ValidationError("--replay needs exactly one --target") }
            let input = chosen[0].input(seed: seed, index: replay)
            let scratch = try FuzzRunner.scratchDirectory()
            defer { try? FileManager.default.removeItem(at: scratch) }
            do {
                try chosen[0].run(input, scratch)
                print("\(chosen[0].name) case \(replay) (seed \(seed)): \(input.count) bytes, accepted")
            } catch {
                print("\(chosen[0].name) case \(replay) (seed \(seed)): \(input.count) bytes, refused: \(error)")
            }
            return
        }
        if let corpusOut {
            let written = try FuzzRunner.writeCorpus(chosen, seed: seed, cases: cases, to: URL(fileURLWithPath: corpusOut))
            print("wrote \(written) cases of \(chosen.count) target(s) to \(corpusOut)")
            return
        }
        let report = try FuzzRunner.run(chosen, seed: seed, cases: cases, batch: batch, timeout: timeout,
                                        findings: URL(fileURLWithPath: findings), progress: !json)
        if json {
            print(try jsonText(report))
        } else {
            print(report.summary)
        }
        if !report.findings.isEmpty { throw ExitCode(1) }
    }
}
