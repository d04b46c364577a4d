import Datasets
import Foundation
import TestSupport
import EngineProtocol
@testable import TUI
import XCTest

/// Scripted engine event streams: what an engine would post for a small run.
enum EngineScript {
    static let vocClasses = ["background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
                             "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"]

    static func config() -> TrainingConfig {
        var c = TrainingConfig()
        c.model = "xunet"
        c.data = Fixtures.voc.path
        c.format = .voc
        c.epochs = 4
        return c
    }

    static func started(classes: [String] = vocClasses) -> RunStarted {
        RunStarted(config: config(), model: ModelOverview(name: "xunet", trainableParameters: 2_054_563, nonTrainableParameters: 4_416),
                   runDirectory: "runs/20261121-170000-xunet", classNames: classes, trainSamples: 160, valSamples: 4,
                   totalIterations: 80, iterationsPerEpoch: 20)
    }

    /// A deterministic, noisy, falling loss.
    static func loss(_ it: Int) -> Double { 0.35 + 1.6 * exp(-Double(it) / 18) + 0.12 * sin(Double(it) * 1.7) }

    static func step(_ it: Int, total: Int = 80, perEpoch: Int = 20) -> EngineEvent {
        .step(StepReport(epoch: (it - 1) / perEpoch + 1, iteration: it, totalIterations: total, loss: loss(it),
                         epochLoss: loss(it) + 0.05, pixelAccuracy: min(0.95, 0.4 + Double(it) / 120),
                         learningRate: 1e-3 * pow(1 - Double(it) / Double(total), 0.9), imagesPerSecond: 21.5,
                         etaSeconds: Double(total - it) * 0.37, elapsedSeconds: Double(it) * 0.37))
    }

    /// A confusion matrix over the VOC classes: the classes of the fixture images mostly right.
    static func evaluation(_ it: Int, quality: Double, ids: [String] = ["2007_000032", "2007_000033", "2007_000039", "2007_000042"]) -> EngineEvent {
        let n = vocClasses.count
        var counts = [Int](repeating: 0, count: n * n)
        for (c, pixels) in [(0, 9000), (1, 2400), (15, 1300), (19, 1800), (20, 700)] {
            let right = Int(Double(pixels) * quality)
            counts[c * n + c] = right
            counts[c * n + (c == 0 ? 15 : 0)] += pixels - right
        }
        let matrix = ConfusionMatrix(classCount: n, counts: counts)!
        let scores = ids.enumerated().map { i, id in
            ImageScore(id: id, mIoU: quality - 0.1 * Double(i % 3) + 0.05 * Double(i), pixelAccuracy: quality + 0.02 * Double(i),
                       pixels: 40_000)
        }
        return .evaluation(EvaluationReport(epoch: (it - 1) / 20 + 1, iteration: it, split: "val", metrics: SegmentationMetrics(matrix),
                                            classNames: vocClasses, confusion: matrix, imageScores: scores,
                                            loss: loss(it) + 0.15, mode: .slide, seconds: 1.2, isBest: true))
    }

    /// Two epochs and a bit: steps, evaluations, a checkpoint and a warning.
    static func twoEpochs() -> [EngineEvent] {
        var events: [EngineEvent] = [.state(.idle), .runStarted(started()), .state(.running)]
        for it in 1...46 {
            events.append(step(it))
            if it == 12 { events.append(.warning("sample 2008_000123 skipped: PNG decode failed (CRC error)")) }
            if it % 20 == 0 {
                events.append(evaluation(it, quality: it == 20 ? 0.55 : 0.72))
                events.append(.checkpointSaved(CheckpointSaved(path: "runs/20261121-170000-xunet/checkpoints/last.safetensors",
                                                               kind: .last, iteration: it, isBest: false, mIoU: nil)))
            }
        }
        return events
    }
}

/// A performer that records engine commands through a real queue and reads samples from the
/// VOC fixtures.
enum CockpitHarness {
    static func make(columns: Int = 100, rows: Int = 30, depth: ColorDepth = .direct,
                     events: [EngineEvent] = [], launchBase: TrainingConfig? = nil,
                     runsRoot: String = "runs") throws -> (AppRuntime, HeadlessDriver, EngineLink) {
        let voc = try DatasetLoader.open(Fixtures.voc, format: .voc)
        let driver = HeadlessDriver(columns: columns, rows: rows, colorDepth: depth)
        var state = AppState(columns: columns, rows: rows, depth: depth, theme: try Theme.load(nil, depth: depth),
                             browser: BrowserState(dataset: voc))
        state.dashboard.glyphs = .braille
        state.launcher.base = launchBase
        state.runs.root = runsRoot
        let link = EngineLink(commands: CommandQueue(), events: EventQueue())
        let performer = CockpitPerformer(inner: DatasetPerformer(dataset: voc), link: link, open: { _, _ in voc })
        let runtime = AppRuntime(state: state, driver: driver, performer: performer)
        runtime.start()
        XCTAssertTrue(runtime.waitUntilIdle())
        for e in events { runtime.dispatch(.cockpit(.engine(e))) }
        runtime.send([.key(.char("t"))])
        return (runtime, driver, link)
    }

    static func sent(_ link: EngineLink) -> [EngineCommand] {
        var out: [EngineCommand] = []
        while let c = link.commands.poll() { out.append(c) }
        return out
    }
}

final class CockpitTests: XCTestCase {
    func testDashboardGolden100x30() throws {
        let (_, driver, _) = try CockpitHarness.make(events: EngineScript.twoEpochs())
        assertGolden(driver.screen.text, named: "cockpit-dashboard-100x30")
    }

    func testDashboardGolden160x48() throws {
        let (_, driver, _) = try CockpitHarness.make(columns: 160, rows: 48, events: EngineScript.twoEpochs())
        assertGolden(driver.screen.text, named: "cockpit-dashboard-160x48")
    }

    static let finishedRun: [EngineEvent] = [.runStarted(EngineScript.started()), EngineScript.step(1),
                                             .finished(RunSummary(reason: .stopped, iterations: 1, epochs: 1, bestMIoU: nil, bestIteration: nil,
                                                                  lastMIoU: nil, seconds: 1, runDirectory: "runs/x")),
                                             .state(.idle)]

    func testHeaderShowsProgressRateAndLearningRate() throws {
        let (_, driver, _) = try CockpitHarness.make(columns: 160, rows: 48, events: EngineScript.twoEpochs())
        let screen = driver.screen.text
        XCTAssertTrue(screen.contains("training · xunet (2.1M params) · running"), screen)
        XCTAssertTrue(screen.contains("epoch 3/4 · it 46/80"), screen)
        XCTAssertTrue(screen.contains("57.5%"), screen)
        XCTAssertTrue(screen.contains("21.5 img/s"), screen)
        XCTAssertTrue(screen.contains("ETA 13s"), screen)
        XCTAssertTrue(screen.contains("lr 4."), screen)
        XCTAssertTrue(screen.contains("IoU per class · it 40"), screen)
        XCTAssertTrue(screen.contains("✓ checkpoint last"), screen)
        XCTAssertTrue(screen.contains("! sample 2008_000123 skipped"), screen)
    }

    func testETAIsHeldBackForTheFirstSteps() throws {
        var h = RunHistory()
        h.apply(.runStarted(EngineScript.started()))
        for it in 1..<RunHistory.etaHoldBack {
            h.apply(EngineScript.step(it))
            XCTAssertNil(h.eta, "ETA shown after \(it) steps")
        }
        h.apply(EngineScript.step(RunHistory.etaHoldBack))
        XCTAssertNotNil(h.eta)
        let (runtime, driver, _) = try CockpitHarness.make(events: [.runStarted(EngineScript.started()), EngineScript.step(1)])
        XCTAssertTrue(driver.screen.text.contains("ETA estimating…"), driver.screen.text)
        _ = runtime
    }

    func testKeysSendEngineCommands() throws {
        let (runtime, driver, link) = try CockpitHarness.make(events: EngineScript.twoEpochs())
        runtime.send([.key(.char("p"))])
        XCTAssertEqual(CockpitHarness.sent(link), [.pause])
        runtime.dispatch(.cockpit(.engine(.state(.paused))))
        runtime.send([.key(.char("p"))])
        XCTAssertEqual(CockpitHarness.sent(link), [.resume], "p resumes a paused run")
        XCTAssertTrue(driver.screen.text.contains("· paused"), driver.screen.text)
        runtime.send([.key(.char("e")), .key(.char("c")), .key(.char("s"))])
        XCTAssertEqual(CockpitHarness.sent(link), [.evaluateNow, .saveCheckpoint, .stop])
    }

    func testLearningRatePromptValidatesAndSends() throws {
        let (runtime, driver, link) = try CockpitHarness.make(events: EngineScript.twoEpochs())
        runtime.send([.key(.char("L"))])
        XCTAssertTrue(driver.screen.line(driver.rows - 1).contains("learning rate:"), driver.screen.line(driver.rows - 1))
        runtime.send([.key(.ctrl("u"))] + "0".unicodeScalars.map { .key(.char($0)) } + [.key(.enter)])
        XCTAssertEqual(CockpitHarness.sent(link), [], "0 is not a learning rate")
        XCTAssertTrue(driver.screen.line(driver.rows - 1).contains("not a learning rate"), driver.screen.line(driver.rows - 1))
        runtime.send([.key(.backspace)] + "3e-4".unicodeScalars.map { .key(.char($0)) } + [.key(.enter)])
        XCTAssertEqual(CockpitHarness.sent(link), [.setLearningRate(3e-4)])
        XCTAssertNil(runtime.state.dashboard.prompt)
        runtime.send([.key(.char("L")), .key(.escape)])
        XCTAssertNil(runtime.state.dashboard.prompt)
        XCTAssertEqual(CockpitHarness.sent(link), [])
    }

    func testEngineKeysAreOffWithoutARunAndSaySo() throws {
        let (runtime, driver, link) = try CockpitHarness.make(events: Self.finishedRun)
        XCTAssertEqual(runtime.state.screen, .cockpit, "t shows a finished run's dashboard")
        runtime.send([.key(.char("p")), .key(.char("s"))])
        XCTAssertEqual(CockpitHarness.sent(link), [])
        XCTAssertTrue(driver.screen.line(driver.rows - 1).contains("s: no run is in progress"), driver.screen.line(driver.rows - 1))
        XCTAssertFalse(driver.screen.line(driver.rows - 1).contains("pause"), "unavailable keys stay out of the footer")
    }

    func testQuitDuringARunAsksAndStopsWithACheckpointBeforeQuitting() throws {
        let (runtime, driver, link) = try CockpitHarness.make(events: EngineScript.twoEpochs())
        runtime.send([.key(.char("q"))])
        XCTAssertFalse(runtime.state.quit, "quitting during a run asks first")
        XCTAssertTrue(driver.screen.text.contains("A run is in progress"), driver.screen.text)
        runtime.send([.key(.char("k"))])
        XCTAssertNil(runtime.state.cockpit.quitQuestion, "k keeps training")
        XCTAssertFalse(runtime.state.quit)
        // From the browser too.
        runtime.send([.key(.char("b")), .key(.char("q"))])
        XCTAssertEqual(runtime.state.screen, .cockpit)
        XCTAssertEqual(runtime.state.cockpit.quitQuestion, .asking)
        runtime.send([.key(.char("s"))])
        XCTAssertEqual(CockpitHarness.sent(link), [.stop])
        XCTAssertFalse(runtime.state.quit, "waits for the engine to write its checkpoint")
        runtime.dispatch(.cockpit(.engine(.state(.stopping))))
        XCTAssertFalse(runtime.state.quit)
        runtime.dispatch(.cockpit(.engine(.checkpointSaved(CheckpointSaved(path: "runs/x/checkpoints/last.safetensors", kind: .last,
                                                                           iteration: 46, isBest: false, mIoU: nil)))))
        runtime.dispatch(.cockpit(.engine(.finished(RunSummary(reason: .stopped, iterations: 46, epochs: 3, bestMIoU: 0.5,
                                                                bestIteration: 40, lastMIoU: 0.5, seconds: 17, runDirectory: "runs/x")))))
        runtime.dispatch(.cockpit(.engine(.state(.idle))))
        XCTAssertTrue(runtime.state.quit)
    }

    func testQuitWithoutARunQuitsAtOnce() throws {
        let (runtime, _, _) = try CockpitHarness.make(events: Self.finishedRun)
        XCTAssertEqual(App.update(runtime.state, .key(.char("q"))).1, [.quit])
    }

    func testAxisToggleShowsEpochs() throws {
        let (runtime, driver, _) = try CockpitHarness.make(events: EngineScript.twoEpochs())
        XCTAssertTrue(driver.screen.text.contains("iteration"))
        runtime.send([.key(.char("x"))])
        XCTAssertEqual(runtime.state.dashboard.axis, .epochs)
        XCTAssertTrue(driver.screen.text.contains("epoch"))
        XCTAssertFalse(driver.screen.text.contains("iteration"), driver.screen.text)
    }

    func testEventsThroughTheQueueReachTheScreen() throws {
        let (runtime, driver, link) = try CockpitHarness.make()
        let post = runtime.poster
        link.pump { post(.cockpit(.engine($0))) }
        for e in EngineScript.twoEpochs() { link.events.post(e) }
        let deadline = Date().addingTimeInterval(10)
        while runtime.state.cockpit.history.lastStep?.iteration != 46, Date() < deadline { runtime.step(timeoutMilliseconds: 10) }
        XCTAssertEqual(runtime.state.cockpit.history.evaluations.count, 2, "evaluations are never dropped")
        runtime.send([.key(.escape), .key(.char("t"))])
        XCTAssertTrue(driver.screen.text.contains("it 46/80"), driver.screen.text)
        link.events.close()
    }

    func testFailureIsShownInTheHeaderAndLog() throws {
        let (_, driver, _) = try CockpitHarness.make(events: [.runStarted(EngineScript.started()), EngineScript.step(1),
                                                              .failed(Failure(message: "loss is NaN at iteration 2", iteration: 2)),
                                                              .state(.idle)])
        XCTAssertTrue(driver.screen.text.contains("· failed"), driver.screen.text)
        XCTAssertTrue(driver.screen.text.contains("✗ failed: loss is NaN"), driver.screen.text)
    }
}
