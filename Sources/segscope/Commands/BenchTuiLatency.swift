import ArgumentParser
import Datasets
import Foundation
import Training
import TUI

/// `segscope bench tui --latency`: key-to-frame latency of the cockpit while a real training run
/// keeps both cores busy in the same process.
///
/// The interface runs its ordinary loop (`AppRuntime.step`, as `segscope tui` does) on a driver
/// whose input a second thread injects and whose frames go through the curses driver's ANSI
/// output to /dev/null. Each injected key is `x` (charts over iterations ⇄ epochs), which changes
/// every chart's axis label; a key's latency runs from its injection to the end of the first
/// `present` whose frame shows the axis it asked for.
struct TuiLatencyBench {
    var data: String?
    var model: String
    var crop: Int
    var batch: Int
    var threads: Int
    var backend: String
    var keys: Int
    var intervalMilliseconds: Int
    var columns: Int
    var rows: Int
    var json: Bool
    /// The run in a process of its own, over its socket (`DetachedEngine`, as the front runs it).
    var attach = false

    static let targetP95Milliseconds = 100.0

    func run() throws {
        guard keys > 0, intervalMilliseconds > 0, columns >= AppState.minimumColumns, rows >= AppState.minimumRows else {
            throw ValidationError("--keys > 0, --interval-ms > 0, --columns ≥ \(AppState.minimumColumns) and --rows ≥ \(AppState.minimumRows) are needed")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-latency-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let dataURL: URL
        if let data {
            dataURL = URL(fileURLWithPath: (data as NSString).expandingTildeInPath)
        } else {
            // A small demo set of its own: the run never ends before the measurement does.
            dataURL = scratch.appendingPathComponent("demo")
            do {
                try DemoDataset.generate(to: dataURL, options: DemoDataset.Options(train: 64, val: 8))
            } catch {
                throw ValidationError("cannot write a demo set to \(dataURL.path): \(error)")
            }
        }
        let dataset: any SegmentationDataset
        do { dataset = try DatasetLoader.open(dataURL) } catch { throw ValidationError("cannot open \(dataURL.path): \(error)") }

        var config = TrainingConfig()
        do {
            config = try config.applying(overrides: [
                ("data", dataURL.path), ("model", model), ("crop", String(crop)), ("batch", String(batch)),
                ("epochs", "0"), ("iterations", "100000"), ("eval_interval", "5"), ("threads", String(threads)),
                ("backend", backend), ("runs_dir", scratch.appendingPathComponent("runs").path), ("checkpoint", "none"),
            ])
        } catch {
            throw ValidationError("\(error)")
        }
        let problems = config.problems()
        guard problems.isEmpty else { throw ValidationError(problems.map(\.description).joined(separator: "\n")) }

        let output = try CursesDriver(writingTo: "/dev/null", term: "xterm-direct", columns: columns, rows: rows,
                                      colorDepth: .direct, output: .ansi)
        let driver = LatencyDriver(output: output)
        var state = AppState(columns: columns, rows: rows, depth: .direct, theme: try Theme.load(nil, depth: .direct),
                             browser: BrowserState(dataset: dataset))
        state.dashboard.glyphs = .braille
        state.launcher.base = config
        let detached = attach ? DetachedEngine(executable: Tui.executablePath) : nil
        let link = detached.map { EngineLink(host: $0) }
            ?? EngineLink.inProcess { config, context in try ModelTrainingSession(config: config, context: context) }
        state.cockpit.detachable = attach
        let runtime = AppRuntime(state: state, driver: driver, performer: CockpitPerformer(inner: DatasetPerformer(dataset: dataset), link: link))
        let poster = runtime.poster
        link.pump { poster(.cockpit(.engine($0))) }
        defer {
            if let detached {
                // The run's process is not ended by the front's exit: stop it first.
                if link.isLaunched { link.send(.stop) }
                _ = detached.waitForRunEnd(timeout: 600)
            }
            link.shutdown(timeout: 600)
            output.shutdown()
        }
        runtime.start()
        // The launcher (t) with the configuration above, started (Enter): the screen the user watches.
        driver.inject(.key(.char("t")))
        driver.inject(.key(.enter))
        let warmUp = Date().addingTimeInterval(600)
        while runtime.state.cockpit.history.stepsSeen < 3 {
            runtime.step(timeoutMilliseconds: 40)
            if let failure = runtime.state.cockpit.history.failure { throw ValidationError("training failed: \(failure.message)") }
            if Date() > warmUp { throw ValidationError("no training step within 10 minutes") }
        }
        guard runtime.state.screen == .cockpit else { throw ValidationError("the launcher did not start the run") }

        let interval = intervalMilliseconds
        let count = keys
        let injector = Thread {
            var rng = SystemRandomNumberGenerator()
            for k in 0..<count {
                // Jittered so keys do not lock onto the frame or step rhythm.
                let pause = Double(interval) * Double.random(in: 0.5...1.5, using: &rng) / 1000
                Thread.sleep(forTimeInterval: pause)
                driver.inject(.key(.char("x")), expectsEpochs: k % 2 == 0)
            }
        }
        injector.start()
        let deadline = Date().addingTimeInterval(Double(count) * Double(interval) / 1000 * 3 + 120)
        while driver.measuredCount < count && Date() < deadline {
            runtime.step(timeoutMilliseconds: 40)
        }
        let latencies = driver.latencies
        let h = runtime.state.cockpit.history
        guard !latencies.isEmpty else { throw ValidationError("no key was reflected in a frame") }
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> Double { sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)] }
        let p50 = percentile(0.5), p95 = percentile(0.95), worst = sorted.last ?? 0
        let mean = sorted.reduce(0, +) / Double(sorted.count)
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first.map(String.init) ?? "?"
        let imagesPerSecond = h.lastStep?.imagesPerSecond ?? .nan
        let iterations = h.lastStep?.iteration ?? 0
        if json {
            let fields = [
                "\"keys\": \(latencies.count)", "\"p50_ms\": \(String(format: "%.2f", p50))", "\"p95_ms\": \(String(format: "%.2f", p95))",
                "\"max_ms\": \(String(format: "%.2f", worst))", "\"mean_ms\": \(String(format: "%.2f", mean))",
                "\"target_p95_ms\": \(Self.targetP95Milliseconds)", "\"frames\": \(runtime.framesRendered)",
                "\"training_iterations\": \(iterations)", "\"training_images_per_second\": \(String(format: "%.2f", imagesPerSecond))",
                "\"evaluations\": \(h.evaluations.count)", "\"loadavg_1m\": \"\(load)\"",
                "\"columns\": \(columns)", "\"rows\": \(rows)", "\"model\": \"\(model)\"",
                "\"engine\": \"\(attach ? "own process, over its socket" : "this process")\"",
            ]
            print("{" + fields.joined(separator: ", ") + "}")
        } else {
            print("key-to-frame latency, cockpit \(columns)×\(rows) while training \(model) (crop \(crop), batch \(batch), threads \(threads == 0 ? "all" : String(threads)), \(backend) backend) \(attach ? "in a process of its own, over its socket" : "in the same process")")
            print("  keys measured            \(latencies.count) (one every ~\(interval) ms, jittered ±50%)")
            print(String(format: "  p50 / p95 / max / mean   %.1f / %.1f / %.1f / %.1f ms", p50, p95, worst, mean))
            print(String(format: "  training meanwhile       %d iterations, %.1f img/s, %d evaluations; load average %@",
                         iterations, imagesPerSecond, h.evaluations.count, load))
            let verdict = p95 < Self.targetP95Milliseconds ? "meets" : "misses"
            print(String(format: "  target p95 < %.0f ms: %@ it", Self.targetP95Milliseconds, verdict))
        }
    }
}

/// A terminal for the latency benchmark: input injected from another thread (read with a real
/// timeout, as curses reads the keyboard), frames written by a curses driver, and each frame
/// checked for the chart axis the pending keys asked for.
final class LatencyDriver: TerminalDriver, @unchecked Sendable {
    let output: CursesDriver
    private let condition = NSCondition()
    private var queue: [(event: InputEvent, sent: UInt64, expectsEpochs: Bool?)] = []
    /// Keys read by the interface whose effect has not been presented yet.
    private var awaiting: [(sent: UInt64, expectsEpochs: Bool)] = []
    private var measured: [Double] = []

    init(output: CursesDriver) { self.output = output }

    var columns: Int { output.columns }
    var rows: Int { output.rows }
    var colorDepth: ColorDepth { output.colorDepth }
    var showsGraphics: Bool { false }
    var cellPixelSize: (width: Int, height: Int)? { nil }

    func inject(_ event: InputEvent, expectsEpochs: Bool? = nil) {
        condition.lock()
        queue.append((event, DispatchTime.now().uptimeNanoseconds, expectsEpochs))
        condition.broadcast()
        condition.unlock()
    }

    func readInput(timeoutMilliseconds: Int) -> InputEvent? {
        condition.lock()
        defer { condition.unlock() }
        if queue.isEmpty && timeoutMilliseconds != 0 {
            let deadline = Date().addingTimeInterval(timeoutMilliseconds < 0 ? 3600 : Double(timeoutMilliseconds) / 1000)
            while queue.isEmpty { if !condition.wait(until: deadline) { break } }
        }
        guard !queue.isEmpty else { return nil }
        let item = queue.removeFirst()
        if let expects = item.expectsEpochs { awaiting.append((item.sent, expects)) }
        return item.event
    }

    func present(_ frame: Frame) {
        output.present(frame)
        let now = DispatchTime.now().uptimeNanoseconds
        condition.lock()
        defer { condition.unlock() }
        guard let last = awaiting.last else { return }
        // Charts over epochs label their x axis "epoch"; over iterations, "iteration".
        let showsEpochs = !frame.grid.text.contains(" iteration ")
        guard showsEpochs == last.expectsEpochs else { return }
        for key in awaiting { measured.append(Double(now - key.sent) / 1e6) }
        awaiting.removeAll()
    }

    var latencies: [Double] {
        condition.lock()
        defer { condition.unlock() }
        return measured
    }

    var measuredCount: Int { latencies.count }

    func pendingSignal() -> Int32? { nil }
    func shutdown() {}
}
