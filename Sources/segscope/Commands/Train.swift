import ArgumentParser
import Foundation
import NN
import Training

/// `segscope train`: the training engine, headless. The same engine and messages the terminal
/// front drives; progress goes to stderr (a bar on a terminal, plain lines otherwise) and, with
/// `--events jsonl`, every event goes to stdout as a JSON line. The run is served on
/// `RUN/engine.sock` while it lasts (`segscope attach`, D-202).
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model headless (same engine as the terminal front).",
        discussion: """
            Settings come from --config (TOML; see a run's config.toml), then --recipe NAME, then the \
            flags below, then every --set key=value; the run's config.toml holds them expanded. \
            `--recipe list` prints the recipes and what each sets. Ctrl-C writes a checkpoint, flushes the logs and exits 130 \
            (SIGTERM: 143, SIGHUP: 129); continue exactly with --resume RUN/checkpoints/last.resume.safetensors \
            (the run's own config.toml is the base then, unless --config is given).
            """)

    enum EventFormat: String, ExpressibleByArgument, CaseIterable { case none, jsonl }

    @Option(help: "A TOML configuration file.") var config: String?
    @Option(help: "Dataset directory (default: the demo set in the cache directory).") var data: String?
    @Option(help: "Model: xunet, unet or fcn-resnet18.") var model: String?
    @Option(help: "A named recipe (a tutorial's or reference's settings) under the flags and --set; `list` prints them.")
    var recipe: String?
    @Option(parsing: .unconditional, help: "Images per iteration.") var batch: Int?
    @Option(parsing: .unconditional, help: "Passes over the training split.") var epochs: Int?
    @Option(parsing: .unconditional, help: "Iterations to train (instead of epochs).") var iterations: Int?
    @Option(parsing: .unconditional, help: "Base learning rate.") var lr: Double?
    @Option(help: "Random crop, HxW or N.") var crop: String?
    @Option(parsing: .unconditional, help: "Threads (0: every core).") var threads: Int?
    @Option(help: "Numeric backend: dnnl (default) or reference.") var backend: String?
    @Option(help: "Convolution arithmetic: fp32 (default) or bf16 (AVX512-BF16 / AMX; fp32 with a notice elsewhere).") var precision: String?
    @Option(help: "Directory that holds run directories.") var runsDir: String?
    @Option(help: ArgumentHelp(backboneWeightsHelp))
    var backboneWeights: String?
    @Option(help: "The state dict inside a --backbone-weights checkpoint that wraps it (config key backbone_weights_key); default: found automatically.")
    var backboneWeightsKey: String?
    @Option(help: "Continue a run exactly from its checkpoints/last.resume.safetensors.") var resume: String?
    @Option(name: .customLong("set"), help: "Any configuration key, as key=value (repeatable).")
    var settings: [String] = []
    @Option(help: "Print every engine event to stdout: none or jsonl.") var events: EventFormat = .none
    @Option(help: "auto: data-parallel when started by mpirun / srun with more than one rank; mpi: insist; none: one process.")
    var distributed: DistributedMode = .auto
    @Option(help: "Write iteration 1's gradients (averaged over the ranks) to this safetensors file (rank 0).")
    var dumpGradients: String?
    @Flag(help: "Start the run paused (resume it from `segscope attach --control`).") var paused = false

    func run() throws {
        if recipe?.lowercased() == "list" {
            print(ConfigRecipe.listing)
            return
        }
        if recipe != nil && resume != nil && config == nil {
            throw ValidationError("--recipe with --resume: a resumed run keeps its own settings (change single keys with --set)")
        }
        var configuration = TrainingConfig()
        if let config {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: config, isDirectory: &isDirectory), isDirectory.boolValue {
                throw ValidationError("--config \(config): is a directory; pass a TOML file (a run's config.toml, for example)")
            }
            guard FileManager.default.fileExists(atPath: config) else {
                throw ValidationError("--config \(config): no such file")
            }
            do {
                configuration = try TrainingConfig(contentsOf: URL(fileURLWithPath: config))
            } catch {
                throw ValidationError("\(config): \(error)")
            }
        } else if let resume {
            configuration = try Self.configuration(ofResumeFile: resume)
        }
        var overrides: [(key: String, value: String)] = []
        func add(_ key: String, _ value: CustomStringConvertible?) { if let value { overrides.append((key, "\(value)")) } }
        add("recipe", recipe); add("data", data); add("model", model); add("batch", batch); add("epochs", epochs)
        add("iterations", iterations); add("lr", lr); add("crop", crop); add("threads", threads)
        add("runs_dir", runsDir)
        add("backend", backend); add("precision", precision)
        add("backbone_weights", backboneWeights); add("backbone_weights_key", backboneWeightsKey); add("resume", resume)
        if iterations != nil && epochs == nil { add("epochs", 0) }
        for item in settings {
            guard let eq = item.firstIndex(of: "=") else {
                throw ValidationError("--set \(item): expected key=value, e.g. --set lr=0.01")
            }
            overrides.append((String(item[..<eq]), String(item[item.index(after: eq)...])))
        }
        do {
            configuration = try configuration.applying(overrides: overrides)
        } catch {
            throw ValidationError("\(error)")
        }
        configuration = configuration.resolvingPaths()
        let problems = configuration.problems()
        guard problems.isEmpty else {
            throw ValidationError(problems.map(\.description).joined(separator: "\n"))
        }
        let group = try distributed.join(environment: ProcessInfo.processInfo.environment)
        let status = HeadlessRun(config: configuration, printEvents: events == .jsonl, group: group,
                                 gradientDump: dumpGradients.map { URL(fileURLWithPath: $0) },
                                 startPaused: paused).run()
        if status != 0 { throw ExitCode(status) }
    }
}

extension Train {
    /// The configuration a resume file's run was trained with: the run directory's `config.toml`,
    /// else the configuration saved in the checkpoint's metadata.
    static func configuration(ofResumeFile path: String) throws -> TrainingConfig {
        let url = URL(fileURLWithPath: path)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw ValidationError("--resume \(path): no such file; pass a run's checkpoints/last.resume.safetensors")
        }
        let runConfig = RunLayout(RunDirectory.owning(checkpoint: url)).configURL
        do {
            if FileManager.default.fileExists(atPath: runConfig.path) {
                return try TrainingConfig(contentsOf: runConfig)
            }
            let file = try SafetensorsFile.read(from: url)
            guard let text = file.metadata[CheckpointKey.config] else {
                throw ValidationError("--resume \(path): neither \(runConfig.path) nor a configuration in the checkpoint; "
                                      + "pass --config with the run's settings")
            }
            return try TrainingConfig(toml: text, source: "\(path) (metadata)")
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("--resume \(path): \(error)")
        }
    }
}

/// Runs one training run on the engine and reports its events until it finishes.
final class HeadlessRun: @unchecked Sendable {
    let config: TrainingConfig
    let printEvents: Bool
    let engine: TrainingEngine
    /// The data-parallel group of a distributed run (nil: one process). Only rank 0 reports
    /// progress and events; the others report warnings and errors, prefixed with their rank.
    let group: DataParallel?
    let isTerminal: Bool
    private var isReporter: Bool { (group?.rank ?? 0) == 0 }
    private var rankPrefix: String { group.map { "rank \($0.rank): " } ?? "" }
    let startPaused: Bool
    /// Serves the run to viewers (`segscope attach`) on `RUN/engine.sock` (rank 0 only).
    let server: EngineServer
    private var signalSources: [DispatchSourceSignal] = []
    private var exitStatus: Int32 = 0
    private var lastBarLength = 0

    init(config: TrainingConfig, printEvents: Bool, group: DataParallel? = nil, gradientDump: URL? = nil,
         startPaused: Bool = false) {
        self.config = config
        self.printEvents = printEvents && (group?.rank ?? 0) == 0
        self.group = group
        self.startPaused = startPaused
        isTerminal = isatty(STDERR_FILENO) == 1 && (group?.rank ?? 0) == 0
        engine = TrainingEngine(writesRunDirectory: (group?.rank ?? 0) == 0) { config, context in
            let session = try ModelTrainingSession(config: config, context: context, distributed: group)
            session.gradientDump = gradientDump
            return session
        }
        // Rank 0 alone serves the run: the other ranks write nothing into its directory.
        server = EngineServer(commands: engine.commands, listensOnRunStart: (group?.rank ?? 0) == 0)
    }

    /// SIGINT / SIGTERM / SIGHUP: checkpoint, stop, and exit 130 / 143 / 129 once the engine has flushed.
    private func installSignalHandlers() {
        // SIGHUP: the ssh connection dropped; the run is saved the same way.
        for (sig, status) in [(SIGINT, Int32(130)), (SIGTERM, Int32(143)), (SIGHUP, Int32(129))] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                exitStatus = status
                eprint("\n\(rankPrefix)segscope: signal \(sig) — saving a checkpoint and stopping")
                engine.send(.saveCheckpoint)
                engine.send(.stop)
            }
            source.resume()
            signalSources.append(source)
        }
    }

    func run() -> Int32 {
        installSignalHandlers()
        let events = server.relay(from: engine.events)
        // Queued before the engine thread starts, so a paused start runs no iteration.
        engine.send(.start(config))
        // A distributed run pauses on rank 0's word (the ranks agree on it, D-167).
        if startPaused && isReporter { engine.send(.pause) }
        engine.launch()
        var failed = false
        var started = false
        loop: while true {
            guard let event = events.next(timeout: 1) else {
                if events.isClosed { break loop }
                continue
            }
            if printEvents, let line = try? MessageCoding.jsonLine(event) {
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
            }
            switch event {
            case .runStarted(let run):
                started = true
                guard isReporter else { continue }
                if let group { eprint("data-parallel over \(group.size) ranks (MPI): \(group.size) × batch \(config.batch) images per iteration") }
                eprint("run \(run.runDirectory): \(run.model.name), \(run.trainSamples) train / \(run.valSamples) val images, \(run.totalIterations) iterations")
                eprint("attach: segscope attach \(run.runDirectory)")
            case .step(let step):
                if isReporter { progress(step) }
            case .evaluation(let report):
                guard isReporter else { continue }
                endBar()
                let m = report.metrics
                eprint(String(format: "eval @ iteration %d (epoch %d): mIoU %.4f  aAcc %.4f  mAcc %.4f  [pixels pooled over the %@ split]",
                              report.iteration, report.epoch, m.mIoU, m.aAcc, m.mAcc, report.split))
                if let tta = report.tta, let ss = report.singleScale {
                    eprint(String(format: "  %@ mIoU %.4f vs ss %.4f", tta.rawValue, m.mIoU, ss.mIoU))
                }
            case .checkpointSaved(let saved):
                guard isReporter else { continue }
                endBar()
                eprint("checkpoint \(saved.kind)\(saved.isBest ? " (best)" : ""): \(saved.path)")
            case .warning(let text):
                endBar()
                eprint("\(rankPrefix)warning: \(text)")
            case .failed(let failure):
                endBar()
                eprint("\(rankPrefix)error: \(failure.message)")
                failed = true
                // A run that could not start (bad dataset, weights, …) leaves the engine idle
                // without a state change: nothing more will come.
                if !started { break loop }
            case .finished(let summary):
                endBar()
                let best = summary.bestMIoU.map { String(format: ", best val mIoU %.4f", $0) } ?? ""
                if isReporter { eprint("finished (\(summary.reason.rawValue)) after \(summary.iterations) iterations\(best)") }
                break loop
            case .state(let state):
                if state == .idle && failed { break loop }
            case .learningRateChanged(let change):
                guard isReporter else { continue }
                endBar()
                eprint(learningRateLine(change))
            case .samplePrediction:
                break
            }
        }
        engine.send(.shutdown)
        engine.join(timeout: 30)
        // The engine's last events (`state(idle)` after `finished`) pass through the relay on its
        // own thread: let it record and send them before the viewers are disconnected.
        while events.next(timeout: 5) != nil {}
        server.close()
        let status = exitStatus != 0 ? exitStatus : failed ? 1 : 0
        if let group {
            if failed {
                // The other ranks may wait in a collective for this one: stop the whole job (this
                // rank's logs and checkpoints are written; rank 0's last checkpoint stays intact).
                eprint("\(rankPrefix)stopping all \(group.size) ranks (MPI_Abort, exit status \(status))")
                group.communicator.abort(code: status)
            }
            // A stop (a viewer's, a signal's) is agreed by every rank at the same step (D-167):
            // all of them end here, rank 0 after its last checkpoint.
            do { try group.communicator.barrier() } catch { group.communicator.abort(code: status == 0 ? 1 : status) }
        }
        return status
    }

    private func progress(_ step: StepReport) {
        let eta = step.etaSeconds.map { formatDuration($0) } ?? "…"
        let text = String(format: "epoch %d  it %d/%d  loss %.4f  acc %.3f  %.1f img/s  lr %.2e  ETA %@",
                          step.epoch, step.iteration, step.totalIterations, step.loss, step.pixelAccuracy,
                          step.imagesPerSecond, step.learningRate, eta)
        if isTerminal {
            let width = 24
            let done = step.totalIterations > 0 ? min(width, width * step.iteration / step.totalIterations) : 0
            let bar = "[" + String(repeating: "█", count: done) + String(repeating: "·", count: width - done) + "] "
            let line = bar + text
            FileHandle.standardError.write(Data(("\r" + line + String(repeating: " ", count: max(0, lastBarLength - line.count))).utf8))
            lastBarLength = line.count
        } else if step.iteration == 1 || step.iteration % 10 == 0 || step.iteration == step.totalIterations {
            eprint(text)
        }
    }

    private func endBar() {
        if isTerminal && lastBarLength > 0 {
            FileHandle.standardError.write(Data("\n".utf8))
            lastBarLength = 0
        }
    }
}

/// `learning rate (base) 0.001 → 0.005 after iteration 12 (recorded in config.toml: lr_changes)`.
func learningRateLine(_ change: LearningRateChanged) -> String {
    "learning rate (base) \(change.from) → \(change.to) after iteration \(change.iteration)"
        + (change.replayed ? " (replayed from lr_changes)" : " (recorded in config.toml: lr_changes)")
}

func formatDuration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
}

func eprint(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }
