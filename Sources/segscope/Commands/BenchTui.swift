import ArgumentParser
import Datasets
import Foundation
import TUI

/// `segscope bench tui`: how long one full browser frame takes.
struct BenchTui: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tui",
        abstract: "Time full browser frames, or (--latency) key-to-frame latency of the cockpit under training load.",
        discussion: """
            With --latency: starts a real training run in this process (with --attach: in a segscope \
            train process of its own, its events over the run's socket; both cores by default), \
            shows its dashboard at --columns × --rows through the curses driver's output (to \
            /dev/null), injects --keys key presses about --interval-ms apart from another thread and \
            prints the p50 / p95 / max milliseconds from a key to the first frame showing its effect \
            (target: p95 < 100 ms). Without --data it writes a small demo set to a temporary directory.

            Without --latency: 
            Renders the dataset browser at --columns × --rows in image | mask mode, alternating \
            between two samples so every frame redraws both previews, and reports milliseconds \
            per frame for the view (layout, area-averaged photo, mode-pooled mask), the diff, and \
            curses writing the frame (to /dev/null as TERM=xterm-direct). Without --data it uses \
            two synthetic 500×375 samples (VOC's typical size).
            """)

    @Option(help: "Dataset directory; its first two samples are shown.")
    var data: String?

    @Option(help: "Screen width in cells.")
    var columns = 200

    @Option(help: "Screen height in cells.")
    var rows = 60

    @Option(help: "Frames to time.")
    var frames = 200

    @Option(help: "Colour depth for the curses pass: direct, 256, 16 or mono.")
    var color = "direct"

    @Flag(help: "Print one JSON object.")
    var json = false

    @Flag(help: "Measure key-to-frame latency of the training cockpit while a run trains in the same process.")
    var latency = false

    @Option(help: "With --latency: the model trained meanwhile.")
    var model = "xunet"

    @Option(help: "With --latency: the training crop (square).")
    var crop = 160

    @Option(help: "With --latency: the training batch.")
    var batch = 8

    @Option(help: "With --latency: training threads (0: every core).")
    var threads = 0

    @Option(help: "With --latency: the training backend, dnnl or reference.")
    var backend = "dnnl"

    @Option(help: "With --latency: key presses to measure.")
    var keys = 100

    @Option(name: .customLong("interval-ms"), help: "With --latency: mean milliseconds between key presses.")
    var intervalMilliseconds = 150

    @Flag(help: "With --latency: the run trains in a segscope train process of its own, watched over its socket (as the front's t starts runs).")
    var attach = false

    func run() throws {
        if latency {
            try TuiLatencyBench(data: data, model: model, crop: crop, batch: batch, threads: threads, backend: backend, keys: keys,
                                intervalMilliseconds: intervalMilliseconds, columns: columns, rows: rows, json: json, attach: attach).run()
            return
        }
        guard columns >= 64, rows >= 18, frames > 0 else {
            throw ValidationError("--columns ≥ 64, --rows ≥ 18 and --frames > 0 are needed for a browser frame")
        }
        let depth: ColorDepth
        do { depth = try ColorDepth.parse(option: color) ?? .direct } catch { throw ValidationError("\(error)") }
        let samples = try loadSamples()
        let names = Datasets.Palette.vocClassNames
        var browser = BrowserState(name: "bench", classNames: names, palette: Datasets.Palette.voc, splits: ["train"])
        browser.ids["train"] = .success(samples.map(\.id))
        let theme = try Theme.load(nil, depth: depth)
        var state = AppState(columns: columns, rows: rows, depth: depth, theme: theme, browser: browser)
        var commands: [Command] = []
        (state, commands) = App.start(state)
        for sample in samples {
            (state, _) = App.update(state, .dataset(.sample(id: sample.id, .success(sample))))
            (state, _) = App.update(state, .dataset(.scanned([SampleInfo(sample: sample)])))
        }
        _ = commands

        let headless = HeadlessDriver(columns: columns, rows: rows, colorDepth: depth)
        func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
        func mean(_ a: [Double]) -> Double { a.reduce(0, +) / Double(max(1, a.count)) }
        func p95(_ a: [Double]) -> Double { a.sorted()[min(a.count - 1, Int(Double(a.count) * 0.95))] }

        /// Times `frames` frames through `driver` (after 5 warm-up frames).
        func measure(_ driver: CursesDriver) -> (view: [Double], diff: [Double], output: [Double], cells: Int) {
            var view: [Double] = [], diff: [Double] = [], output: [Double] = []
            var cells = 0
            var s = state
            let clock = ContinuousClock()
            for i in 0..<(frames + 5) {
                // Alternate the selection so both previews change every frame.
                (s, _) = App.update(s, .key(i % 2 == 0 ? .down : .up))
                var frame = Frame(grid: CellGrid(width: 1, height: 1))
                let tView = clock.measure { frame = App.view(s) }
                let tDiff = clock.measure { headless.present(frame) }
                let tOut = clock.measure { driver.present(frame) }
                if i >= 5 {
                    view.append(ms(tView))
                    diff.append(ms(tDiff))
                    output.append(ms(tOut))
                    cells += headless.cellsWrittenLastFrame
                }
            }
            driver.shutdown()
            return (view, diff, output, cells / frames)
        }
        let ansi = measure(try CursesDriver(writingTo: "/dev/null", term: "xterm-direct", columns: columns, rows: rows,
                                            colorDepth: depth, output: .ansi))
        let viaCurses = measure(try CursesDriver(writingTo: "/dev/null", term: "xterm-direct", columns: columns, rows: rows,
                                                 colorDepth: depth, output: .curses))
        // The driver's present includes its own diff; the headless diff is reported on its own.
        let total = zip(ansi.view, ansi.output).map { $0 + $1 }
        let report: [(String, Double)] = [
            ("view_ms", mean(ansi.view)), ("diff_ms", mean(ansi.diff)), ("ansi_output_ms", mean(ansi.output)),
            ("frame_ms", mean(total)), ("frame_p95_ms", p95(total)),
            ("curses_output_ms", mean(viaCurses.output)),
            ("frame_via_curses_ms", mean(zip(viaCurses.view, viaCurses.output).map { $0 + $1 })),
        ]
        if json {
            var object = report.map { "\"\($0.0)\": \(String(format: "%.3f", $0.1))" }
            object += ["\"columns\": \(columns)", "\"rows\": \(rows)", "\"frames\": \(frames)",
                       "\"cells_changed_per_frame\": \(ansi.cells)", "\"color\": \"\(depth.rawValue)\"",
                       "\"target_ms\": 5"]
            print("{" + object.joined(separator: ", ") + "}")
        } else {
            print("browser frame \(columns)×\(rows), image | mask previews of \(samples[0].image.width)×\(samples[0].image.height) samples, \(depth.rawValue) colour, \(frames) frames")
            print("  cells changed per frame  \(ansi.cells)")
            for (name, value) in report { print("  \(name.padding(toLength: 24, withPad: " ", startingAt: 0)) \(String(format: "%.3f", value))") }
            let verdict = mean(total) < 5 ? "meets" : "misses"
            print("  target < 5 ms per frame (view + output): \(verdict) it (\(String(format: "%.1f", 5 / mean(total)))× headroom)")
        }
    }

    private func loadSamples() throws -> [Sample] {
        if let data {
            let dataset: any SegmentationDataset
            do { dataset = try DatasetLoader.open(URL(fileURLWithPath: data)) } catch { throw ValidationError("cannot open \(data): \(error)") }
            let ids = try dataset.allIDs().prefix(2)
            guard ids.count == 2 else { throw ValidationError("\(data) has fewer than two samples") }
            return try ids.map { try dataset.sample(id: $0) }
        }
        return [synthetic(id: "synthetic_a", seed: 1), synthetic(id: "synthetic_b", seed: 2)]
    }

    /// A 500×375 photo-like image (smooth gradients plus noise) and a mask with three objects.
    private func synthetic(id: String, seed: UInt64) -> Sample {
        let w = 500, h = 375
        var rng = seed &* 0x9E37_79B9_7F4A_7C15
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        var labels = [UInt8](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                rng = rng &* 6364136223846793005 &+ 1442695040888963407
                let noise = Int(rng >> 59)
                let i = 3 * (y * w + x)
                pixels[i] = UInt8((x * 255 / w + noise) & 255)
                pixels[i + 1] = UInt8((y * 255 / h + noise) & 255)
                pixels[i + 2] = UInt8(((x + y) * 128 / (w + h) + Int(seed) * 40) & 255)
                let dx = x - 150 - Int(seed) * 40, dy = y - 180
                if dx * dx + dy * dy < 90 * 90 { labels[y * w + x] = 15 }
                if x > 300 && x < 460 && y > 60 && y < 200 { labels[y * w + x] = 1 }
                if x > 320 && x < 480 && y > 250 { labels[y * w + x] = 12 }
            }
        }
        return Sample(id: id, image: RGBImage(width: w, height: h, pixels: pixels),
                      label: LabelMap(width: w, height: h, values: labels))
    }
}
