import Foundation
import NN
import XCTest
@testable import Training

/// A learning-rate change during a run is reported, logged in metrics.jsonl, recorded in the
/// run's config.toml, and replayed from it (D-260). The engine is held inside iteration 3 while
/// the change is sent, so it lands exactly after iteration 3 (no timing).
final class EngineLearningRateTests: XCTestCase {
    var runs: URL!

    override func setUpWithError() throws {
        runs = FileManager.default.temporaryDirectory.appendingPathComponent("engine-lr-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: runs) }

    func config() -> TrainingConfig {
        var config = TrainingConfig()
        config.epochs = 0
        config.iterations = 6
        config.evalInterval = 6
        config.schedule = .step
        config.stepSize = 2
        config.stepGamma = 0.5
        config.lr = 0.1
        config.runsDir = runs.path
        return config
    }

    func engine(_ script: FakeSession.Script = .init(), probe: FakeSession.Probe) -> TrainingEngine {
        let engine = TrainingEngine { _, _ in FakeSession(script: script, probe: probe) }
        engine.launch()
        return engine
    }

    func changes(_ events: [EngineEvent]) -> [LearningRateChanged] {
        events.compactMap { if case .learningRateChanged(let c) = $0 { return c } else { return nil } }
    }

    func logged(_ directory: URL) throws -> [EngineEvent] {
        let text = try String(contentsOf: directory.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { try MessageCoding.decode(EngineEvent.self, jsonLine: String($0)) }
    }

    func testAChangeIsRecordedInTheRunAndReplayedFromItsConfig() throws {
        let reached = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        var gated = FakeSession.Script()
        gated.beforeStep = { iteration in
            if iteration == 3 {
                reached.signal()
                release.wait()
            }
        }
        let probe = FakeSession.Probe()
        let first = engine(gated, probe: probe)
        first.send(.start(config()))
        reached.wait()
        first.send(.setLearningRate(0.4))
        first.send(.setLearningRate(0.4))
        release.signal()
        let events = first.events.drainUntilFinished(self)
        first.send(.shutdown)
        XCTAssertTrue(first.join(timeout: 20))

        // Reported once (the second, equal rate changes nothing and says so).
        XCTAssertEqual(changes(events), [LearningRateChanged(iteration: 3, from: 0.1, to: 0.4)])
        XCTAssertTrue(events.contains(.warning("setLearningRate ignored: the base learning rate is already 0.4")), "\(events)")
        // The base changes; the step schedule's factor (½ every 2 iterations) still applies.
        XCTAssertEqual(probe.steps.map(\.iteration), Array(1...6))
        XCTAssertEqual(probe.steps.map(\.lr), [0.1, 0.1, 0.05, 0.2, 0.1, 0.1])

        guard case .finished(let summary) = events.last else { return XCTFail() }
        let directory = URL(fileURLWithPath: summary.runDirectory)
        let saved = try TrainingConfig(contentsOf: directory.appendingPathComponent("config.toml"))
        XCTAssertEqual(saved.lrChanges, "3:0.4")
        XCTAssertEqual(saved.lr, 0.1, "lr stays the starting rate")
        let log = try logged(directory)
        XCTAssertEqual(log.map(\.name), ["step", "step", "step", "learningRateChanged", "step", "step", "step", "evaluation"])
        XCTAssertEqual(changes(log), changes(events))
        let checkpoint = try SafetensorsFile.read(from: directory.appendingPathComponent("checkpoints/last.safetensors"))
        XCTAssertEqual(try TrainingConfig(toml: checkpoint.metadata[CheckpointKey.config] ?? "").lrChanges, "3:0.4",
                       "the checkpoint's configuration holds the change too")

        // The run's config.toml reproduces its rates.
        let replayProbe = FakeSession.Probe()
        let second = engine(probe: replayProbe)
        second.send(.start(saved))
        let replayEvents = second.events.drainUntilFinished(self)
        second.send(.shutdown)
        XCTAssertTrue(second.join(timeout: 20))
        XCTAssertEqual(replayProbe.steps.map(\.lr), probe.steps.map(\.lr))
        XCTAssertEqual(changes(replayEvents), [LearningRateChanged(iteration: 3, from: 0.1, to: 0.4, replayed: true)])
        guard case .finished(let replay) = replayEvents.last else { return XCTFail() }
        func stepRates(_ events: [EngineEvent]) -> [Double] {
            events.compactMap { if case .step(let s) = $0 { return s.learningRate } else { return nil } }
        }
        let replayDirectory = URL(fileURLWithPath: replay.runDirectory)
        XCTAssertNotEqual(replayDirectory, directory)
        XCTAssertEqual(stepRates(try logged(replayDirectory)), stepRates(log))
        XCTAssertEqual(try TrainingConfig(contentsOf: replayDirectory.appendingPathComponent("config.toml")).lrChanges, "3:0.4")
    }
}
