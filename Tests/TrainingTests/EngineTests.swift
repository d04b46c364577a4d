import Datasets
import Foundation
import NN
import XCTest
@testable import Training

/// A test double for the per-iteration work: a deterministic "model" whose loss and validation
/// scores follow scripted sequences, with state (a weight and an optimizer moment) that its
/// checkpoints carry, so resume can be checked exactly.
final class FakeSession: TrainingSession {
    struct Script: Sendable {
        var iterationsPerEpoch = 4
        /// Loss override for specific iterations (e.g. NaN).
        var lossAt: [Int: Double] = [:]
        /// mIoU of successive evaluations, as k/200 (see `evaluate`); repeats the last.
        var evaluationK: [Int] = [50, 60, 70]
        /// Seconds each step takes.
        var stepDelay: Double = 0
        /// Weights per checkpoint tensor.
        var weightCount = 4
        /// Run before `checkpoint()` returns, with the iteration (to inject faults).
        var beforeCheckpoint: (@Sendable (Int) -> Void)?
        /// Run at the start of each step, with the iteration (to hold the engine at a known point).
        var beforeStep: (@Sendable (Int) -> Void)?
    }

    /// What the test observes, shared with the engine thread.
    final class Probe: @unchecked Sendable {
        private let lock = NSLock()
        private var _steps: [(iteration: Int, lr: Double)] = []
        private var _evaluations = 0
        private var _restoredIteration: Int?
        var steps: [(iteration: Int, lr: Double)] { lock.withLock { _steps } }
        var evaluations: Int { lock.withLock { _evaluations } }
        var restoredIteration: Int? { lock.withLock { _restoredIteration } }
        func step(_ i: Int, _ lr: Double) { lock.withLock { _steps.append((i, lr)) } }
        func evaluated() { lock.withLock { _evaluations += 1 } }
        func restored(_ i: Int) { lock.withLock { _restoredIteration = i } }
    }

    let script: Script
    let probe: Probe
    var weight = 1.0
    var moment = 0.0
    var evaluations = 0
    var lastIteration = 0
    /// The ranks this session trains with (RankAgreementTests), nil: one process.
    var agreement: (any RankAgreement)?
    var rankAgreement: (any RankAgreement)? { agreement }

    init(script: Script, probe: Probe) {
        self.script = script
        self.probe = probe
    }

    var model: ModelOverview { ModelOverview(name: "fake", trainableParameters: script.weightCount) }
    var classNames: [String] { ["background", "object"] }
    var trainSamples: Int { script.iterationsPerEpoch * 2 }
    var valSamples: Int { 3 }
    var iterationsPerEpoch: Int { script.iterationsPerEpoch }

    func step(iteration: Int, learningRate: Double) throws -> StepResult {
        script.beforeStep?(iteration)
        if script.stepDelay > 0 { Thread.sleep(forTimeInterval: script.stepDelay) }
        probe.step(iteration, learningRate)
        lastIteration = iteration
        // A stateful update: the loss depends on everything before, so a resume that lost
        // state would change it.
        moment = 0.9 * moment + 0.1 * weight
        weight -= learningRate * moment
        let loss = script.lossAt[iteration] ?? weight * weight + 1 / Double(iteration)
        return StepResult(loss: loss, correctPixels: iteration % 10, labeledPixels: 10, images: 2)
    }

    /// Truth: 100 pixels of class 0; prediction: k pixels right, the rest class 1 →
    /// IoU(0) = k/100, IoU(1) = 0, mIoU = k/200.
    func evaluate() throws -> EvaluationResult {
        let k = script.evaluationK[min(evaluations, script.evaluationK.count - 1)]
        evaluations += 1
        probe.evaluated()
        var m = ConfusionMatrix(classCount: 2)
        m.add(truth: [UInt8](repeating: 0, count: 100), prediction: [UInt8](repeating: 0, count: k) + [UInt8](repeating: 1, count: 100 - k))
        return EvaluationResult(confusion: m, imageScores: [ImageScore(id: "a", mIoU: 0.9, pixelAccuracy: 1, pixels: 10),
                                                            ImageScore(id: "b", mIoU: 0.1, pixelAccuracy: 0.5, pixels: 10)], loss: 0.5)
    }

    func predict(sampleID: String) throws -> PredictionResult {
        guard sampleID == "2007_000033" else { throw Failure(message: "no sample '\(sampleID)' in split val") }
        return PredictionResult(prediction: LabelMap(width: 2, height: 1, values: [0, 1]),
                                truth: LabelMap(width: 2, height: 1, values: [0, 0]))
    }

    func checkpoint() throws -> Checkpoint {
        script.beforeCheckpoint?(lastIteration)
        return Checkpoint(weights: [SafetensorsTensor(name: "w", shape: [script.weightCount],
                                                      values: [Float](repeating: Float(weight), count: script.weightCount)),
                                    SafetensorsTensor(name: "iteration", shape: [], values: [Float(lastIteration)])],
                          trainingState: [SafetensorsTensor(name: "optimizer.w.moment", shape: [], values: [Float(moment)])],
                          metadata: ["fake.weight": String(weight), "fake.moment": String(moment)])
    }

    func restore(from file: SafetensorsFile) throws {
        guard let w = file.metadata["fake.weight"].flatMap(Double.init), let m = file.metadata["fake.moment"].flatMap(Double.init) else {
            throw Failure(message: "\(file.file) has no fake state")
        }
        _ = try file.entry("optimizer.w.moment")
        weight = w
        moment = m
        probe.restored(Int(file.metadata[CheckpointKey.iteration] ?? "") ?? -1)
    }
}

extension XCTestCase {
    /// Reads `engine`'s events until `stop` holds for one (included) or `seconds` pass.
    @discardableResult
    func collect(_ engine: TrainingEngine, seconds: Double = 20, until stop: (EngineEvent) -> Bool) -> [EngineEvent] {
        var out: [EngineEvent] = []
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, let event = engine.events.next(timeout: seconds) {
            out.append(event)
            if stop(event) { return out }
        }
        XCTFail("timed out; got \(out.map(\.name))")
        return out
    }
}

final class EngineTests: XCTestCase {
    var runs: URL!

    override func setUpWithError() throws {
        runs = FileManager.default.temporaryDirectory.appendingPathComponent("engine-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: runs)
    }

    func makeEngine(_ script: FakeSession.Script = .init(), probe: FakeSession.Probe = .init()) -> TrainingEngine {
        let engine = TrainingEngine { _, _ in FakeSession(script: script, probe: probe) }
        engine.launch()
        return engine
    }

    func config(iterations: Int, evalInterval: Int = 5) -> TrainingConfig {
        var config = TrainingConfig()
        config.model = "xunet"
        config.epochs = 0
        config.iterations = iterations
        config.evalInterval = evalInterval
        config.schedule = .constant
        config.lr = 0.1
        config.runsDir = runs.path
        return config
    }


    func isFinished(_ e: EngineEvent) -> Bool { if case .finished = e { return true } else { return false } }
    func isState(_ s: EngineState) -> (EngineEvent) -> Bool { { $0 == .state(s) } }

    func shutdown(_ engine: TrainingEngine) {
        engine.send(.shutdown)
        XCTAssertTrue(engine.join(timeout: 20), "engine thread ends after shutdown")
    }

    func testACompleteRunWritesTheRunDirectoryAndReportsEverything() throws {
        let engine = makeEngine()
        engine.send(.start(config(iterations: 10)))
        let events = collect(engine, until: isFinished)
        shutdown(engine)

        let states: [EngineState] = events.compactMap { if case .state(let s) = $0 { return s } else { return nil } }
        XCTAssertEqual(states, [.idle, .running, .stopping])
        guard case .runStarted(let started) = events[1] else { return XCTFail("\(events[1].name)") }
        XCTAssertEqual(started.totalIterations, 10)
        XCTAssertEqual(started.model.name, "fake")
        let evaluations = events.compactMap { if case .evaluation(let e) = $0 { return e } else { return nil } }
        XCTAssertEqual(evaluations.map(\.iteration), [5, 10])
        XCTAssertEqual(evaluations.map(\.metrics.mIoU), [0.25, 0.3])
        XCTAssertEqual(evaluations.map(\.isBest), [true, true])
        XCTAssertEqual(evaluations[0].imageScores.map(\.id), ["b", "a"], "worst first")
        let saved = events.compactMap { if case .checkpointSaved(let c) = $0 { return c } else { return nil } }
        XCTAssertEqual(saved.map(\.kind.rawValue), ["last", "best", "last", "best"])
        XCTAssertEqual(saved.map(\.iteration), [5, 5, 10, 10])
        guard case .finished(let summary) = events.last else { return XCTFail() }
        XCTAssertEqual(summary.reason, .completed)
        XCTAssertEqual(summary.iterations, 10)
        XCTAssertEqual(summary.epochs, 3)
        XCTAssertEqual(summary.bestMIoU, 0.3)
        XCTAssertEqual(summary.bestIteration, 10)

        // The run directory.
        let dir = URL(fileURLWithPath: started.runDirectory)
        XCTAssertEqual(dir.deletingLastPathComponent().path, runs.path)
        XCTAssertTrue(dir.lastPathComponent.hasSuffix("-xunet"), dir.lastPathComponent)
        XCTAssertEqual(try TrainingConfig(contentsOf: dir.appendingPathComponent("config.toml")), config(iterations: 10))
        let lines = try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        let logged = try lines.map { try MessageCoding.decode(EngineEvent.self, jsonLine: String($0)) }
        XCTAssertEqual(logged.map(\.name), Array(repeating: "step", count: 5) + ["evaluation"] + Array(repeating: "step", count: 5) + ["evaluation"])
        XCTAssertEqual(logged.compactMap { if case .step(let s) = $0 { return s.iteration } else { return nil } }, Array(1...10))

        let last = try SafetensorsFile.read(from: dir.appendingPathComponent("checkpoints/last.safetensors"))
        XCTAssertEqual(last.metadata[CheckpointKey.iteration], "10")
        XCTAssertEqual(last.metadata[CheckpointKey.mIoU], "0.3")
        XCTAssertEqual(Set(last.names), ["w", "iteration"], "weights only: loads into a PyTorch state_dict")
        XCTAssertEqual(try TrainingConfig(toml: last.metadata[CheckpointKey.config] ?? ""), config(iterations: 10))
        let resume = try SafetensorsFile.read(from: dir.appendingPathComponent("checkpoints/last.resume.safetensors"))
        XCTAssertEqual(Set(resume.names), ["w", "iteration", "optimizer.w.moment"])
        let best = try SafetensorsFile.read(from: dir.appendingPathComponent("checkpoints/best.safetensors"))
        XCTAssertEqual(try best.entry("iteration").floats(), [10])

        let eventFiles = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("events.out.tfevents.") }
        XCTAssertEqual(eventFiles.count, 1)
        let records = try TensorBoardTests.readRecords(dir.appendingPathComponent(eventFiles[0]))
        XCTAssertEqual(records.count, 1 + 10 + 2, "file version, 10 steps, 2 evaluations")
    }

    func testCommandsThatMakeNoSenseWhileIdleGetWarningsNotCrashes() {
        let engine = makeEngine()
        XCTAssertEqual(engine.events.next(timeout: 10), .state(.idle))
        let commands: [EngineCommand] = [.pause, .resume, .stop, .setLearningRate(0.1), .evaluateNow,
                                         .predict(sampleID: "x"), .saveCheckpoint]
        for command in commands { engine.send(command) }
        var warnings: [String] = []
        for _ in commands {
            guard case .warning(let text) = engine.events.next(timeout: 10) else { return XCTFail("expected a warning") }
            warnings.append(text)
        }
        XCTAssertTrue(warnings[0].hasPrefix("pause ignored: no run is in progress"), warnings[0])
        XCTAssertTrue(warnings[1].contains("send start"), warnings[1])
        XCTAssertTrue(warnings[3].contains("next start"), warnings[3])
        XCTAssertEqual(warnings.count, commands.count)

        var bad = config(iterations: 10)
        bad.optimizer = .sgd
        bad.batch = 0
        engine.send(.start(bad))
        guard case .failed(let failure) = engine.events.next(timeout: 10) else { return XCTFail("expected failed") }
        XCTAssertTrue(failure.message.contains("config key 'batch'"), failure.message)
        shutdown(engine)
        XCTAssertNil(engine.events.next(timeout: 1), "the event stream ends after shutdown")
        XCTAssertFalse(engine.send(.pause), "no commands after shutdown")
    }

    func testPauseResumeSetLearningRateEvaluatePredictAndStop() throws {
        let probe = FakeSession.Probe()
        var script = FakeSession.Script()
        script.stepDelay = 0.002
        let engine = makeEngine(script, probe: probe)
        engine.send(.start(config(iterations: 1_000_000, evalInterval: 1_000_000)))
        _ = collect(engine) { if case .step = $0 { return true } else { return false } }

        engine.send(.pause)
        _ = collect(engine, until: isState(.paused))
        let stepsWhenPaused = probe.steps.count
        engine.send(.pause)
        _ = collect(engine) { if case .warning(let w) = $0 { return w.contains("already paused") } else { return false } }
        XCTAssertEqual(probe.steps.count, stepsWhenPaused, "no iteration runs while paused")

        // Commands that work while paused.
        engine.send(.setLearningRate(0.5))
        engine.send(.setLearningRate(-1))
        _ = collect(engine) { if case .warning(let w) = $0 { return w.contains("-1.0 is not a learning rate") } else { return false } }
        engine.send(.evaluateNow)
        _ = collect(engine) { if case .evaluation = $0 { return true } else { return false } }
        engine.send(.predict(sampleID: "2007_000033"))
        let predicted = collect(engine) { if case .samplePrediction = $0 { return true } else { return false } }
        guard case .samplePrediction(let p) = predicted.last else { return XCTFail() }
        XCTAssertEqual(p.prediction.values, [0, 1])
        XCTAssertEqual(p.score.pixelAccuracy, 0.5)
        engine.send(.predict(sampleID: "nope"))
        _ = collect(engine) { if case .warning(let w) = $0 { return w.contains("no sample 'nope'") } else { return false } }
        engine.send(.saveCheckpoint)
        _ = collect(engine) { if case .checkpointSaved = $0 { return true } else { return false } }
        XCTAssertEqual(probe.steps.count, stepsWhenPaused)

        engine.send(.resume)
        _ = collect(engine, until: isState(.running))
        let resumedStep = collect(engine) { if case .step(let s) = $0 { return s.iteration > stepsWhenPaused } else { return false } }
        guard case .step(let s) = resumedStep.last else { return XCTFail() }
        XCTAssertEqual(s.learningRate, 0.5, "the new base rate applies (constant schedule)")
        XCTAssertEqual(probe.steps.last?.lr, 0.5)

        engine.send(.start(config(iterations: 5)))
        _ = collect(engine) { if case .warning(let w) = $0 { return w.hasPrefix("start ignored: a run is already running") } else { return false } }
        engine.send(.stop)
        let end = collect(engine, until: isFinished)
        XCTAssertTrue(end.contains(.state(.stopping)))
        guard case .finished(let summary) = end.last else { return XCTFail() }
        XCTAssertEqual(summary.reason, .stopped)
        let saved = end.compactMap { if case .checkpointSaved(let c) = $0 { return c } else { return nil } }
        XCTAssertEqual(saved.last?.iteration, summary.iterations, "stop writes the last checkpoint")
        XCTAssertEqual(collect(engine, until: isState(.idle)).last, .state(.idle))
        shutdown(engine)
    }

    /// A clock that moves only when told (the engine's elapsed time, without timing).
    final class ManualClock: @unchecked Sendable {
        private let lock = NSLock()
        private var seconds = 100.0
        var now: Double { lock.withLock { seconds } }
        func advance(_ s: Double) { lock.withLock { seconds += s } }
    }

    /// Elapsed time does not jump after a pause: a step after 1000 s paused reports the
    /// training time, not the wall time (issue #19).
    func testElapsedTimeLeavesOutPauses() throws {
        let clock = ManualClock()
        var script = FakeSession.Script()
        script.stepDelay = 0.002
        let fixed = script
        let engine = TrainingEngine { _, _ in FakeSession(script: fixed, probe: .init()) }
        engine.clock = { clock.now }
        engine.launch()
        engine.send(.start(config(iterations: 1_000_000, evalInterval: 1_000_000)))
        _ = collect(engine) { if case .step = $0 { return true } else { return false } }
        engine.send(.pause)
        let paused = collect(engine, until: isState(.paused))
        let before = paused.compactMap { if case .step(let s) = $0 { return s } else { return nil } }.last
        clock.advance(1000)
        engine.send(.resume)
        _ = collect(engine, until: isState(.running))
        clock.advance(2)
        // Steps already queued before the advance report 0 s; wait for one after it.
        let next = collect(engine) { if case .step(let s) = $0 { return s.elapsedSeconds >= 2 - 1e-9 } else { return false } }
        guard case .step(let s) = next.last else { return XCTFail() }
        XCTAssertEqual(s.elapsedSeconds, 2, accuracy: 1e-9, "1000 s paused are not counted (last step before: \(before?.elapsedSeconds ?? -1))")
        engine.send(.stop)
        let end = collect(engine, until: isFinished)
        guard case .finished(let summary) = end.last else { return XCTFail() }
        XCTAssertEqual(summary.seconds, 2, accuracy: 1e-9)
        shutdown(engine)
    }

    func testNaNLossFailsTheRunNamingTheIterationAndKeepsTheLastGoodCheckpoint() throws {
        var script = FakeSession.Script()
        script.lossAt = [7: .nan]
        let engine = makeEngine(script)
        engine.send(.start(config(iterations: 20)))
        let events = collect(engine, until: isFinished)
        shutdown(engine)
        let failures = events.compactMap { if case .failed(let f) = $0 { return f } else { return nil } }
        XCTAssertEqual(failures.count, 1)
        XCTAssertTrue(failures[0].message.contains("loss is nan at iteration 7"), failures[0].message)
        XCTAssertTrue(failures[0].message.contains("checkpoint of iteration 5 is kept"), failures[0].message)
        guard case .finished(let summary) = events.last else { return XCTFail() }
        XCTAssertEqual(summary.reason, .failed)
        XCTAssertEqual(summary.iterations, 6)
        guard case .runStarted(let started) = events.first(where: { $0.name == "runStarted" }) else { return XCTFail() }
        let last = try SafetensorsFile.read(from: URL(fileURLWithPath: started.runDirectory).appendingPathComponent("checkpoints/last.safetensors"))
        XCTAssertEqual(last.metadata[CheckpointKey.iteration], "5")
    }

    func testEarlyStoppingAfterPatienceEvaluationsWithoutImprovement() throws {
        var script = FakeSession.Script()
        script.evaluationK = [40, 60, 50, 60, 30]
        let engine = makeEngine(script)
        var config = config(iterations: 100, evalInterval: 2)
        config.earlyStoppingPatience = 2
        engine.send(.start(config))
        let events = collect(engine, until: isFinished)
        shutdown(engine)
        let evaluations = events.compactMap { if case .evaluation(let e) = $0 { return e } else { return nil } }
        XCTAssertEqual(evaluations.map(\.iteration), [2, 4, 6, 8])
        XCTAssertEqual(evaluations.map(\.isBest), [true, true, false, false], "equal is not better")
        XCTAssertTrue(events.contains { if case .warning(let w) = $0 { return w.hasPrefix("early stopping") } else { return false } })
        guard case .finished(let summary) = events.last else { return XCTFail() }
        XCTAssertEqual(summary.reason, .earlyStopped)
        XCTAssertEqual(summary.bestIteration, 4)
        XCTAssertEqual(summary.iterations, 8)
        let best = try SafetensorsFile.read(from: URL(fileURLWithPath: summary.runDirectory).appendingPathComponent("checkpoints/best.safetensors"))
        XCTAssertEqual(try best.entry("iteration").floats(), [4])
    }

    /// Nobody reads events during a whole run: training still completes (the engine never waits
    /// for the consumer), steps coalesce, and every evaluation and checkpoint is still there.
    func testAStalledConsumerNeverSlowsOrLosesImportantEvents() {
        let probe = FakeSession.Probe()
        let engine = makeEngine(probe: probe)
        engine.send(.start(config(iterations: 3000, evalInterval: 500)))
        let deadline = Date().addingTimeInterval(60)
        while probe.evaluations < 6 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertEqual(probe.steps.count, 3000, "the run went on with nobody reading")
        shutdown(engine)
        let events = engine.events.drain()
        XCTAssertEqual(events.filter { $0.name == "evaluation" }.count, 6)
        XCTAssertEqual(events.filter { $0.name == "checkpointSaved" }.count, 6 + 3, "last at every evaluation, best at the 3 improvements")
        XCTAssertEqual(events.filter { $0.name == "finished" }.count, 1)
        XCTAssertLessThanOrEqual(events.filter { $0.name == "step" }.count, 1, "at most one step is ever pending")
        XCTAssertGreaterThan(engine.events.coalesced, 2900)
    }

    /// A run stopped part-way and resumed from its resume file continues exactly where it
    /// stopped: the same iterations, the same losses as an uninterrupted run, in the same run
    /// directory.
    func testResumeContinuesExactly() throws {
        func losses(_ events: [EngineEvent]) -> [Int: Double] {
            Dictionary(uniqueKeysWithValues: events.compactMap { if case .step(let s) = $0 { return (s.iteration, s.loss) } else { return nil } })
        }
        // Uninterrupted.
        let reference = makeEngine()
        var whole = config(iterations: 12, evalInterval: 3)
        whole.schedule = .poly
        reference.send(.start(whole))
        let referenceEvents = reference.events.drainUntilFinished(self)
        shutdown(reference)

        // The same 12-iteration run, stopped during iteration 7 (held there until the stop is sent).
        let reached = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        var gated = FakeSession.Script()
        gated.beforeStep = { iteration in
            if iteration == 7 {
                reached.signal()
                release.wait()
            }
        }
        let first = makeEngine(gated)
        first.send(.start(whole))
        reached.wait()
        first.send(.stop)
        release.signal()
        let firstEvents = first.events.drainUntilFinished(self)
        shutdown(first)
        guard case .finished(let stopped) = firstEvents.last else { return XCTFail() }
        XCTAssertEqual(stopped.reason, .stopped)
        XCTAssertEqual(stopped.iterations, 7)

        let resumeProbe = FakeSession.Probe()
        let second = makeEngine(probe: resumeProbe)
        var resumed = whole
        resumed.resume = URL(fileURLWithPath: stopped.runDirectory).appendingPathComponent("checkpoints/last.resume.safetensors").path
        second.send(.start(resumed))
        let secondEvents = second.events.drainUntilFinished(self)
        shutdown(second)
        guard case .runStarted(let started) = secondEvents.first(where: { $0.name == "runStarted" }) else { return XCTFail() }
        XCTAssertEqual(started.resumedFromIteration, stopped.iterations)
        XCTAssertEqual(started.runDirectory, stopped.runDirectory)
        XCTAssertEqual(resumeProbe.restoredIteration, stopped.iterations)
        XCTAssertEqual(resumeProbe.steps.first?.iteration, stopped.iterations + 1)

        // Coalescing may hide some steps from the event stream; metrics.jsonl has every one.
        func logged(_ runDirectory: String) throws -> [Int: Double] {
            let log = try String(contentsOf: URL(fileURLWithPath: runDirectory).appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            return losses(try log.split(separator: "\n").map { try MessageCoding.decode(EngineEvent.self, jsonLine: String($0)) })
        }
        guard case .finished(let referenceSummary) = referenceEvents.last else { return XCTFail() }
        let expected = try logged(referenceSummary.runDirectory)
        XCTAssertEqual(expected.keys.sorted(), Array(1...12))
        var got = losses(firstEvents)
        for (k, v) in losses(secondEvents) { got[k] = v }
        let loggedLosses = try logged(stopped.runDirectory)
        XCTAssertEqual(loggedLosses.keys.sorted(), Array(1...12))
        for i in 1...12 {
            XCTAssertEqual(loggedLosses[i], expected[i], "iteration \(i)")
        }
        for (k, v) in got { XCTAssertEqual(v, expected[k], "iteration \(k)") }
    }

    /// The disk "fills up" (a file-size limit) while the second checkpoint is written: the run
    /// fails with an error naming the file, and the first checkpoint and the logs stay intact.
    func testCheckpointWriteFailureKeepsEarlierFiles() throws {
        var old = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &old)
        let oldHandler = signal(SIGXFSZ, SIG_IGN)
        defer {
            setrlimit(Int32(RLIMIT_FSIZE.rawValue), &old)
            signal(SIGXFSZ, oldHandler)
        }
        var script = FakeSession.Script()
        script.weightCount = 50_000  // 200 kB per weights file
        let hardLimit = old.rlim_max
        script.beforeCheckpoint = { iteration in
            guard iteration == 10 else { return }
            var limit = rlimit(rlim_cur: 100_000, rlim_max: hardLimit)
            setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
        }
        let engine = makeEngine(script)
        engine.send(.start(config(iterations: 20)))
        let events = collect(engine, until: isFinished)
        shutdown(engine)
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &old)

        let failures = events.compactMap { if case .failed(let f) = $0 { return f.message } else { return nil } }
        XCTAssertEqual(failures.count, 1, "\(failures)")
        XCTAssertTrue(failures.first?.contains("cannot save the last checkpoint at iteration 10") ?? false, "\(failures)")
        XCTAssertTrue(failures.first?.contains("last.resume.safetensors") ?? false, "\(failures)")
        XCTAssertTrue(failures.first?.contains("earlier files are intact") ?? false, "\(failures)")
        guard case .finished(let summary) = events.last else { return XCTFail() }
        XCTAssertEqual(summary.reason, .failed)
        let dir = URL(fileURLWithPath: summary.runDirectory)
        let last = try SafetensorsFile.read(from: dir.appendingPathComponent("checkpoints/last.safetensors"))
        XCTAssertEqual(last.metadata[CheckpointKey.iteration], "5")
        XCTAssertEqual(try SafetensorsFile.read(from: dir.appendingPathComponent("checkpoints/last.resume.safetensors")).metadata[CheckpointKey.iteration], "5")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("checkpoints").path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "no temporary files left behind")
        let lines = try String(contentsOf: dir.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 12, "10 steps and 2 evaluations, all complete lines")
        for line in lines { XCTAssertNoThrow(try MessageCoding.decode(EngineEvent.self, jsonLine: String(line))) }
    }
}

extension EventQueue {
    /// Test helper: every event until (and with) `finished`.
    func drainUntilFinished(_ test: XCTestCase) -> [EngineEvent] {
        var out: [EngineEvent] = []
        while let event = next(timeout: 20) {
            out.append(event)
            if case .finished = event { return out }
        }
        XCTFail("no finished event")
        return out
    }
}
