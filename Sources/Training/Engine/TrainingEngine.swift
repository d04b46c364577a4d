import Datasets
import Foundation
import NN

/// The training engine: one background thread running the state machine
///
///     idle ──start──▶ running ⇄ paused      (pause / resume)
///                     running|paused ──stop / end / early stop / failure──▶ stopping ──▶ idle
///
/// driven only by `commands` and reporting only through `events`. A command that makes no sense
/// in the current state produces a `warning` event saying why, never a crash. The per-iteration
/// work is a `TrainingSession` made by the factory given at creation.
public final class TrainingEngine: @unchecked Sendable {
    public let commands: CommandQueue
    public let events: EventQueue
    private let makeSession: SessionFactory
    /// False on the ranks other than 0 of a distributed run: they train and evaluate, but write
    /// no run directory, logs or checkpoints (rank 0 writes them for the whole job).
    private let writesRunDirectory: Bool
    private let finished = DispatchSemaphore(value: 0)
    private let launchLock = NSLock()
    private var launched = false

    // Engine-thread state (touched only by the engine thread).
    private var state: EngineState = .idle
    private var run: ActiveRun?
    private var shutdownRequested = false
    /// Seconds on a monotonic clock; the elapsed time of a run is read from it (tests set a
    /// clock of their own before `launch`).
    var clock: @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime }

    public init(commands: CommandQueue = CommandQueue(), events: EventQueue = EventQueue(), writesRunDirectory: Bool = true,
                makeSession: @escaping SessionFactory) {
        self.commands = commands
        self.events = events
        self.writesRunDirectory = writesRunDirectory
        self.makeSession = makeSession
    }

    /// Starts the engine thread (once).
    public func launch() {
        launchLock.lock()
        defer { launchLock.unlock() }
        guard !launched else { return }
        launched = true
        let thread = Thread { [self] in
            self.loop()
            self.finished.signal()
        }
        thread.name = "segscope.engine"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Sends a command; false when the command queue is full or the engine has shut down.
    @discardableResult
    public func send(_ command: EngineCommand) -> Bool { commands.send(command) }

    /// Waits until the engine thread has ended (after `shutdown`); false on timeout.
    @discardableResult
    public func join(timeout: TimeInterval? = nil) -> Bool {
        let ok: Bool
        if let timeout {
            ok = finished.wait(timeout: .now() + timeout) == .success
        } else {
            finished.wait()
            ok = true
        }
        if ok { finished.signal() }  // later joins return at once
        return ok
    }

    // MARK: - The loop

    private func loop() {
        post(.state(.idle))
        while !(shutdownRequested && state == .idle) {
            switch state {
            case .idle:
                guard let command = commands.wait() else { shutdownRequested = true; continue }
                handle(command)
            case .paused:
                if let run, run.agreement != nil {
                    waitWhilePaused(run)
                    continue
                }
                guard let command = commands.wait() else { shutdownRequested = true; requestStop(.stopped); continue }
                handle(command)
            case .running:
                while state == .running, let command = commands.poll() { handle(command) }
                if state == .running, run?.agreement != nil { coordinate() }
                if state == .running { FaultInjection.trigger(.engineTrap); iterate() }
            case .stopping:
                finishRun()
            }
        }
        commands.close()
        events.close()
    }

    private func post(_ event: EngineEvent) { events.post(event) }

    private func setState(_ new: EngineState) {
        guard new != state else { return }
        // Time spent paused is not training time: the elapsed time goes on where it stopped.
        if new == .paused { run?.pausedSince = clock() }
        if state == .paused, let run, let since = run.pausedSince {
            run.pausedSeconds += clock() - since
            run.pausedSince = nil
        }
        state = new
        post(.state(new))
    }

    private func warn(_ text: String) { post(.warning(text)) }

    // MARK: - Commands

    private func handle(_ command: EngineCommand) {
        if let run, run.agreement != nil, state == .running || state == .paused, hold(command, in: run) { return }
        switch (command, state) {
        case (.start(let config), .idle):
            start(config)
        case (.start, _):
            warn("start ignored: a run is already \(state.rawValue) (\(run?.directory?.url.path ?? "")); stop it first")

        case (.pause, .running):
            setState(.paused)
        case (.pause, .paused):
            warn("pause ignored: the run is already paused; send resume to continue")
        case (.pause, _):
            warn("pause ignored: no run is in progress (state \(state.rawValue))")

        case (.resume, .paused):
            setState(.running)
        case (.resume, .running):
            warn("resume ignored: the run is already running")
        case (.resume, _):
            warn("resume ignored: no run is paused (state \(state.rawValue)); send start to begin a run")

        case (.stop, .running), (.stop, .paused):
            requestStop(.stopped)
        case (.stop, _):
            warn("stop ignored: no run is in progress (state \(state.rawValue))")

        case (.setLearningRate(let lr), .running), (.setLearningRate(let lr), .paused):
            guard LearningRateLimit.allows(lr), let run else {
                warn("setLearningRate ignored: \(lr) is not a learning rate (allowed: \(LearningRateLimit.allowed))")
                return
            }
            guard lr != run.baseLearningRate else {
                warn("setLearningRate ignored: the base learning rate is already \(lr)")
                return
            }
            record(run.changeLearningRate(to: lr), run)
        case (.setLearningRate, _):
            warn("setLearningRate ignored: no run is in progress; set lr in the configuration of the next start")

        case (.evaluateNow, .running), (.evaluateNow, .paused):
            evaluate()
        case (.evaluateNow, _):
            warn("evaluateNow ignored: no run is in progress (state \(state.rawValue))")

        case (.predict(let id), .running), (.predict(let id), .paused):
            predict(id)
        case (.predict(let id), _):
            warn("predict \(id) ignored: no model is loaded (state \(state.rawValue)); start a run first")

        case (.saveCheckpoint, .running), (.saveCheckpoint, .paused):
            saveLast()
        case (.saveCheckpoint, _):
            warn("saveCheckpoint ignored: no run is in progress (state \(state.rawValue))")

        case (.shutdown, .running), (.shutdown, .paused):
            shutdownRequested = true
            requestStop(.stopped)
        case (.shutdown, _):
            shutdownRequested = true
        }
    }

    // MARK: - Commands of a distributed run (D-167)

    /// What this rank was asked since the ranks last agreed.
    struct HeldControl {
        var stop = false
        var save = false
        var evaluate = false
        /// The paused state asked for (rank 0), nil: unchanged.
        var pause: Bool?
        var learningRate: Double?
        /// When a stop was first held (a rank waiting for a paused rank 0 gives up after a while).
        var stopSince: Double?
    }

    /// Seconds a rank other than 0 waits for a paused rank 0 after it was told to stop (a signal
    /// sent to it alone) before it gives up and the job is aborted.
    static let pausedStopGrace = 10.0

    /// Keeps a steering command of a distributed run for the next agreement instead of applying
    /// it on this rank alone (the ranks' collectives would no longer match); false when the
    /// command is not one of those (predict: rank 0 alone answers it).
    private func hold(_ command: EngineCommand, in run: ActiveRun) -> Bool {
        let leader = run.agreement?.isLeader ?? true
        let paused = run.held.pause ?? (state == .paused)
        func leaderOnly(_ what: String) -> Bool {
            guard !leader else { return false }
            warn("\(what) ignored on rank \(run.agreement?.rank ?? 0) of a distributed run: steer rank 0 (segscope attach RUN --control)")
            return true
        }
        switch command {
        case .stop, .shutdown:
            if case .shutdown = command { shutdownRequested = true }
            run.held.stop = true
            if run.held.stopSince == nil { run.held.stopSince = clock() }
        case .saveCheckpoint:
            run.held.save = true
        case .pause:
            if leaderOnly("pause") { return true }
            if paused { warn("pause ignored: the run is already paused; send resume to continue") } else { run.held.pause = true }
        case .resume:
            if leaderOnly("resume") { return true }
            if paused { run.held.pause = false } else { warn("resume ignored: the run is already running") }
        case .setLearningRate(let lr):
            if leaderOnly("setLearningRate") { return true }
            guard LearningRateLimit.allows(lr) else {
                warn("setLearningRate ignored: \(lr) is not a learning rate (allowed: \(LearningRateLimit.allowed))")
                return true
            }
            run.held.learningRate = lr
        case .evaluateNow:
            if leaderOnly("evaluateNow") { return true }
            run.held.evaluate = true
        case .start, .predict:
            return false
        }
        return true
    }

    /// Agrees with the other ranks on what was held, and applies the decision on every rank alike.
    private func coordinate(abandon: (() -> Bool)? = nil) {
        guard let run, let agreement = run.agreement else { return }
        let held = run.held
        run.held = HeldControl()
        let proposal = ControlDecision(stop: held.stop, saveCheckpoint: held.save, evaluateNow: held.evaluate,
                                       paused: held.pause ?? (state == .paused), baseLearningRate: held.learningRate)
        let decision: ControlDecision
        do {
            guard let agreed = try agreement.agree(proposal, abandon: abandon) else {
                fail("rank \(agreement.rank) was told to stop while rank 0 keeps the run paused; stopping every rank "
                     + "(resume or stop the run from rank 0's viewer, or send the signal to mpirun)")
                return
            }
            decision = agreed
        } catch {
            fail("rank \(agreement.rank) cannot agree with the other ranks after iteration \(run.iteration): \(error)")
            return
        }
        if let lr = decision.baseLearningRate { run.baseLearningRate = lr }
        if decision.saveCheckpoint { saveLast() }
        if decision.evaluateNow { evaluate() }
        guard state == .running || state == .paused else { return }
        if decision.stop {
            requestStop(.stopped)
        } else {
            setState(decision.paused ? .paused : .running)
        }
    }

    /// A paused distributed run: rank 0 waits for its viewers' commands and agrees after each
    /// one; the other ranks wait in the agreement (polling, not spinning), taking their own
    /// commands (a signal's stop) meanwhile.
    private func waitWhilePaused(_ run: ActiveRun) {
        if run.agreement?.isLeader ?? true {
            if let command = commands.wait() {
                handle(command)
            } else {
                shutdownRequested = true
                run.held.stop = true
            }
            coordinate()
        } else {
            coordinate(abandon: { [self] in
                while let command = commands.poll() { handle(command) }
                guard let since = run.held.stopSince else { return false }
                return clock() - since > Self.pausedStopGrace
            })
        }
    }

    // MARK: - A run

    final class ActiveRun {
        /// The run's configuration; learning-rate changes are recorded in it (`lr_changes`).
        var config: TrainingConfig
        let session: any TrainingSession
        /// nil on a distributed run's ranks other than 0.
        let directory: RunDirectory?
        let totalIterations: Int
        let iterationsPerEpoch: Int
        let evaluationEvery: Int
        let schedule: LRSchedule
        var baseLearningRate: Double
        var iteration = 0
        var startTime = 0.0
        /// Seconds spent paused so far, and since when the run is paused now.
        var pausedSeconds = 0.0
        var pausedSince: Double?
        var stopReason: RunSummary.Reason = .completed
        // Epoch accumulators.
        var epochLossSum = 0.0, epochSteps = 0, epochCorrect = 0, epochLabeled = 0, epochIndex = 0
        // Throughput over recent iterations.
        var recent: [(seconds: Double, images: Int)] = []
        var lastEvaluationSeconds = 0.0
        // Evaluations and checkpoints.
        var bestMIoU: Double?
        var bestIteration: Int?
        var lastMIoU: Double?
        var evaluationsSinceBest = 0
        var lastCheckpointIteration: Int?
        var lastEvaluationIteration: Int?
        var failed = false
        /// The ranks of a distributed run (nil: one process) and the commands held for their next agreement.
        let agreement: (any RankAgreement)?
        var held = HeldControl()

        init(config: TrainingConfig, session: any TrainingSession, directory: RunDirectory?) {
            self.config = config
            self.session = session
            agreement = session.rankAgreement
            self.directory = directory
            iterationsPerEpoch = max(1, session.iterationsPerEpoch)
            totalIterations = config.countsEpochs ? config.epochs * iterationsPerEpoch : config.iterations
            evaluationEvery = config.countsEpochs ? config.effectiveEvalInterval * iterationsPerEpoch : config.effectiveEvalInterval
            baseLearningRate = config.lr
            let mainIterations = max(1, totalIterations - config.warmupIterations)
            let kind: LRSchedule.Kind
            switch config.schedule {
            case .constant: kind = .constant
            case .step: kind = .step(every: max(1, config.stepSize), gamma: Float(config.stepGamma))
            case .poly: kind = .poly(totalIterations: mainIterations, power: Float(config.polyPower))
            case .cosine: kind = .cosine(totalIterations: mainIterations, minimum: 0)
            }
            schedule = LRSchedule(base: 1, kind: kind, warmupIterations: config.warmupIterations)
        }

        /// The rate for 1-based `iteration`: the base times the schedule's factor.
        func learningRate(iteration: Int) -> Double {
            baseLearningRate * Double(schedule.learningRate(at: iteration - 1))
        }

        func epoch(of iteration: Int) -> Int { (iteration - 1) / iterationsPerEpoch + 1 }

        /// Seconds of the run at `now`, pauses left out.
        func elapsed(at now: Double) -> Double {
            now - startTime - pausedSeconds - (pausedSince.map { now - $0 } ?? 0)
        }
    }

    private func start(_ config: TrainingConfig) {
        let problems = config.problems()
        guard problems.isEmpty else {
            post(.failed(Failure(message: "cannot start: " + problems.map(\.description).joined(separator: "; "))))
            return
        }
        let events = self.events
        let context = SessionContext(warn: { events.post(.warning($0)) })
        let session: any TrainingSession
        do {
            session = try makeSession(config, context)
        } catch {
            post(.failed(Failure(message: "cannot start: \(error)")))
            return
        }

        var resumeFile: SafetensorsFile?
        var directory: RunDirectory?
        do {
            if !config.resume.isEmpty {
                let url = URL(fileURLWithPath: config.resume)
                let file = try SafetensorsFile.read(from: url)
                guard file.metadata[CheckpointKey.iteration].flatMap(Int.init) != nil else {
                    throw Failure(message: "\(url.path) is not a resume checkpoint (no \(CheckpointKey.iteration) metadata); "
                                  + "resume from a run's checkpoints/last.resume.safetensors")
                }
                try session.restore(from: file)
                resumeFile = file
                if writesRunDirectory {
                    directory = try RunDirectory(existing: RunDirectory.owning(checkpoint: url),
                                                 resumingAt: file.metadata[CheckpointKey.iteration].flatMap(Int.init))
                }
            } else if writesRunDirectory {
                directory = try RunDirectory.create(root: URL(fileURLWithPath: config.runsDir), model: config.model)
            }
            try directory?.writeConfig(config)
        } catch {
            post(.failed(Failure(message: "cannot start: \(error)")))
            return
        }

        let run = ActiveRun(config: config, session: session, directory: directory)
        run.startTime = clock()
        if let meta = resumeFile?.metadata {
            run.iteration = meta[CheckpointKey.iteration].flatMap(Int.init) ?? 0
            run.bestMIoU = meta[CheckpointKey.bestMIoU].flatMap(Double.init)
            run.bestIteration = meta[CheckpointKey.bestIteration].flatMap(Int.init)
            run.evaluationsSinceBest = meta[CheckpointKey.evaluationsSinceBest].flatMap(Int.init) ?? 0
            run.baseLearningRate = meta[CheckpointKey.baseLearningRate].flatMap(Double.init) ?? config.lr
            run.lastCheckpointIteration = run.iteration
            run.epochIndex = run.iteration == 0 ? 0 : run.epoch(of: run.iteration)
        }
        self.run = run
        post(.runStarted(RunStarted(config: config, model: session.model, runDirectory: directory?.url.path ?? "",
                                    classNames: session.classNames, trainSamples: session.trainSamples,
                                    valSamples: session.valSamples, totalIterations: run.totalIterations,
                                    iterationsPerEpoch: run.iterationsPerEpoch,
                                    resumedFromIteration: resumeFile == nil ? nil : run.iteration)))
        setState(.running)
        if run.iteration >= run.totalIterations { requestStop(.completed) }
    }

    private func requestStop(_ reason: RunSummary.Reason) {
        guard let run else { return }
        if !(reason == .stopped && run.stopReason == .failed) { run.stopReason = reason }
        setState(.stopping)
    }

    private func fail(_ message: String) {
        guard let run else { return }
        run.failed = true
        run.stopReason = .failed
        post(.failed(Failure(message: message, iteration: run.iteration)))
        setState(.stopping)
    }

    private func iterate() {
        guard let run else { return }
        let it = run.iteration + 1
        let epoch = run.epoch(of: it)
        if epoch != run.epochIndex {
            run.epochIndex = epoch
            run.epochLossSum = 0; run.epochSteps = 0; run.epochCorrect = 0; run.epochLabeled = 0
        }
        if let change = run.replayLearningRateChange() { record(change, run) }
        let lr = run.learningRate(iteration: it)
        let began = ProcessInfo.processInfo.systemUptime
        let result: StepResult
        do {
            result = try run.session.step(iteration: it, learningRate: lr)
        } catch {
            fail("iteration \(it) failed: \(error)")
            return
        }
        let seconds = ProcessInfo.processInfo.systemUptime - began
        guard result.loss.isFinite else {
            let kept = run.lastCheckpointIteration.map { "the checkpoint of iteration \($0) is kept" } ?? "no checkpoint was written yet"
            fail("loss is \(result.loss) at iteration \(it) (epoch \(epoch)); training stopped and \(kept). "
                 + "Try a lower learning rate (lr = \(lr) now).")
            return
        }
        run.iteration = it
        run.epochLossSum += result.loss
        run.epochSteps += 1
        run.epochCorrect += result.correctPixels
        run.epochLabeled += result.labeledPixels
        run.recent.append((seconds, result.images))
        if run.recent.count > 20 { run.recent.removeFirst(run.recent.count - 20) }
        let recentSeconds = run.recent.reduce(0) { $0 + $1.seconds }
        let recentImages = run.recent.reduce(0) { $0 + $1.images }
        let imagesPerSecond = recentSeconds > 0 ? Double(recentImages) / recentSeconds : .nan
        let remaining = run.totalIterations - it
        var eta: Double?
        if run.recent.count >= 3 {
            let remainingEvaluations = run.evaluationEvery > 0 ? remaining / run.evaluationEvery : 0
            eta = Double(remaining) * recentSeconds / Double(run.recent.count) + Double(remainingEvaluations) * run.lastEvaluationSeconds
        }
        let report = StepReport(epoch: epoch, iteration: it, totalIterations: run.totalIterations, loss: result.loss,
                                epochLoss: run.epochLossSum / Double(run.epochSteps),
                                pixelAccuracy: run.epochLabeled > 0 ? Double(run.epochCorrect) / Double(run.epochLabeled) : .nan,
                                learningRate: lr, imagesPerSecond: imagesPerSecond, etaSeconds: eta, elapsedSeconds: run.elapsed(at: clock()))
        post(.step(report))
        do {
            try run.directory?.log(step: report)
        } catch {
            fail("cannot log iteration \(it): \(error)")
            return
        }

        if it % run.evaluationEvery == 0 || it == run.totalIterations {
            evaluate()
            guard state == .running || state == .paused else { return }
            if run.config.earlyStoppingPatience > 0 && run.evaluationsSinceBest >= run.config.earlyStoppingPatience {
                warn("early stopping: val mIoU has not improved for \(run.evaluationsSinceBest) evaluations "
                     + "(best \(MetricsTable.percent(run.bestMIoU ?? .nan)) at iteration \(run.bestIteration ?? 0))")
                requestStop(.earlyStopped)
                return
            }
        }
        if it >= run.totalIterations { requestStop(.completed) }
    }

    /// Reports a learning-rate change and records it in metrics.jsonl and, made by a command, in
    /// config.toml; a failed write is a warning (the run goes on at the new rate).
    private func record(_ change: LearningRateChanged, _ run: ActiveRun) {
        post(.learningRateChanged(change))
        do {
            try run.directory?.log(learningRateChange: change, config: change.replayed ? nil : run.config)
        } catch {
            warn("cannot record the learning-rate change after iteration \(change.iteration) in \(run.directory?.url.path ?? ""): "
                 + "\(error); the run goes on at \(change.to), but its config.toml does not reproduce it")
        }
    }

    private func evaluate() {
        guard let run else { return }
        let began = ProcessInfo.processInfo.systemUptime
        let result: EvaluationResult
        do {
            result = try run.session.evaluate()
        } catch {
            // The trained weights are not what failed: keep them resumable before stopping.
            if run.config.checkpoint != .none { saveLast() }
            fail("evaluation after iteration \(run.iteration) failed: \(error)")
            return
        }
        if let skipped = result.skippedSummary { warn(skipped) }
        run.lastEvaluationSeconds = ProcessInfo.processInfo.systemUptime - began
        run.lastEvaluationIteration = run.iteration
        let metrics = SegmentationMetrics(result.confusion)
        let isBest = metrics.mIoU.isFinite && (run.bestMIoU.map { metrics.mIoU > $0 } ?? true)
        if isBest {
            run.bestMIoU = metrics.mIoU
            run.bestIteration = run.iteration
            run.evaluationsSinceBest = 0
        } else {
            run.evaluationsSinceBest += 1
        }
        run.lastMIoU = metrics.mIoU.isFinite ? metrics.mIoU : nil
        let report = EvaluationReport(epoch: run.epoch(of: max(1, run.iteration)), iteration: run.iteration,
                                      split: run.config.valSplit, metrics: metrics, classNames: run.session.classNames,
                                      confusion: result.confusion, imageScores: ImageScore.rankedWorstFirst(result.imageScores),
                                      loss: result.loss, mode: run.config.evalMode,
                                      seconds: run.lastEvaluationSeconds, isBest: isBest)
        post(.evaluation(report))
        do {
            try run.directory?.log(evaluation: report)
        } catch {
            fail("cannot write the logs after iteration \(run.iteration): \(error)")
            return
        }
        if !result.samples.isEmpty, let directory = run.directory {
            do {
                try directory.writePredictions(result.samples, iteration: run.iteration, epoch: report.epoch,
                                                   split: run.config.valSplit, mIoU: metrics.mIoU, isBest: isBest,
                                                   keep: run.config.keepPredictions,
                                                   metrics: result.sampleMetrics.isEmpty ? nil
                                                       : SampleMetricsFile(iteration: run.iteration, epoch: report.epoch, split: run.config.valSplit,
                                                                           classNames: run.session.classNames, samples: result.sampleMetrics),
                                                   palette: run.session.palette)
            } catch {
                warn("cannot save the sample predictions of iteration \(run.iteration): \(error)")
            }
        }
        guard run.config.checkpoint != .none else { return }
        saveLast()
        if isBest && run.config.checkpoint == .bestAndLast && !run.failed {
            save(kind: .best, isBest: true)
        }
    }

    private func checkpointMetadata(_ run: ActiveRun) -> [String: String] {
        var meta: [String: String] = [
            CheckpointKey.iteration: String(run.iteration),
            CheckpointKey.epoch: String(run.epoch(of: max(1, run.iteration))),
            CheckpointKey.model: run.config.model,
            CheckpointKey.config: run.config.tomlText(),
            CheckpointKey.evaluationsSinceBest: String(run.evaluationsSinceBest),
            CheckpointKey.baseLearningRate: String(run.baseLearningRate),
        ]
        if let best = run.bestMIoU { meta[CheckpointKey.bestMIoU] = String(best) }
        if let bestIteration = run.bestIteration { meta[CheckpointKey.bestIteration] = String(bestIteration) }
        if run.lastEvaluationIteration == run.iteration, let m = run.lastMIoU { meta[CheckpointKey.mIoU] = String(m) }
        return meta
    }

    private func saveLast() {
        save(kind: .last, isBest: false)
    }

    private func save(kind: RunDirectory.CheckpointKind, isBest: Bool) {
        guard let run, !run.failed, let directory = run.directory else { return }
        do {
            let checkpoint = try run.session.checkpoint()
            let url = try directory.save(checkpoint, kind: kind, metadata: checkpointMetadata(run))
            if kind == .last { run.lastCheckpointIteration = run.iteration }
            let mIoU = run.lastEvaluationIteration == run.iteration ? run.lastMIoU : nil
            post(.checkpointSaved(CheckpointSaved(path: url.path, kind: kind, iteration: run.iteration,
                                                  isBest: isBest,
                                                  mIoU: mIoU)))
        } catch {
            fail("cannot save the \(kind.rawValue) checkpoint at iteration \(run.iteration): \(error)")
        }
    }

    private func predict(_ id: String) {
        guard let run else { return }
        do {
            let result = try run.session.predict(sampleID: id)
            let score: ImageScore
            if let truth = result.truth, truth.width == result.prediction.width, truth.height == result.prediction.height {
                score = ImageScore(id: id, truth: truth.values, prediction: result.prediction.values,
                                   classCount: run.session.classNames.count)
            } else {
                score = ImageScore(id: id, mIoU: .nan, pixelAccuracy: .nan, pixels: 0)
            }
            post(.samplePrediction(SamplePrediction(sampleID: id, iteration: run.iteration, prediction: result.prediction, score: score)))
        } catch {
            warn("predict \(id) failed: \(error)")
        }
    }

    /// The stopping state: final checkpoint (unless the run failed), logs flushed, summary.
    private func finishRun() {
        guard let run else {
            setState(.idle)
            return
        }
        if !run.failed && run.config.checkpoint != .none && run.lastCheckpointIteration != run.iteration && run.iteration > 0 {
            saveLast()
        }
        do {
            try run.directory?.flush()
        } catch {
            post(.failed(Failure(message: "cannot flush the logs of \(run.directory?.url.path ?? ""): \(error)", iteration: run.iteration)))
            run.stopReason = .failed
        }
        post(.finished(RunSummary(reason: run.stopReason, iterations: run.iteration, epochs: run.epoch(of: max(1, run.iteration)),
                                  bestMIoU: run.bestMIoU, bestIteration: run.bestIteration, lastMIoU: run.lastMIoU,
                                  seconds: run.elapsed(at: clock()), runDirectory: run.directory?.url.path ?? "")))
        self.run = nil
        setState(.idle)
    }
}
