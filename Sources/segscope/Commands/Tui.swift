import ArgumentParser
import Datasets
import Foundation
import Models
import Training
import TUI

/// `segscope tui`: the terminal interface, opening on the dataset browser.
struct Tui: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Browse a dataset, train on it and watch the run, compare predictions, open past runs.",
        discussion: """
            Without --data, opens the demo dataset (created on first run in the user's cache \
            directory). ? lists every key of the screen it is on; the keys of every screen:

            """ + "\n" + App.keyReference)

    @Option(help: "Dataset directory (VOC, Oxford-IIIT Pet, images+masks folder, or a demo set).")
    var data: String?

    @Option(help: "Layout of --data: voc, pets, folder, demo or auto.")
    var format = "auto"

    @Option(help: "Split to open first (default: the dataset's first).")
    var split: String?

    @Option(help: "Read only the first N samples of each split.")
    var limit: Int?

    @Option(help: "Oxford-IIIT Pet trimap border: class (its own class 2, as the Keras example trains it) or void (ignored); also the launcher's pets_border.")
    var petsBorder = "class"

    @Option(help: "Class colours: auto (the dataset's classes.txt colours, else the built-in palette of its class names, else VOC's), voc, ade20k or cityscapes; also the launcher's palette key.")
    var palette = "auto"

    @Option(help: "Colour depth: auto, direct (truecolor), 256, 16 or mono. auto follows terminfo, COLORTERM and NO_COLOR.")
    var color = "auto"

    @Option(help: "Theme name (default, light, high-contrast, 16color) or path to a .theme file.")
    var theme: String?

    @Flag(help: "Never draw sixel images, even when the terminal supports them.")
    var noSixel = false

    @Option(help: "Seconds to wait for the terminal's answer to its capability queries.")
    var probeTimeout = 0.3

    @Option(name: .customLong("run"), help: "Open a past run directory (runs/<time>-<model>) read-only on the training dashboard.")
    var runDirectory: String?

    @Option(help: "With --run: a second run directory whose curves are drawn under the first one's.")
    var overlay: String?

    @Option(help: "The directory the runs browser (r) lists; the launcher's runs_dir.")
    var runsDir = "runs"

    func run() throws { try runFront(attachingTo: nil) }

    /// The terminal front; with `attachingTo`, watching (and with control steering) a live run in
    /// another process over its socket instead of owning an engine (`segscope attach`).
    func runFront(attachingTo attach: (engine: DetachedEngine, attachment: Attachment, target: String)?) throws {
        // Everything that can fail with a message happens before curses owns the screen.
        let depthOption: ColorDepth?
        do { depthOption = try ColorDepth.parse(option: color) } catch { throw ValidationError("\(error)") }
        guard let datasetFormat = DatasetFormat(rawValue: format.lowercased()) else {
            throw ValidationError("--format \(format): expected one of \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let limit, limit <= 0 { throw ValidationError("--limit \(limit): must be a positive number of samples") }
        guard let classPalette = ClassPalette(rawValue: palette.lowercased()) else {
            throw ValidationError("--palette \(palette): expected one of \(ClassPalette.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let border = DatasetOptions.PetsBorder(rawValue: petsBorder.lowercased()) else {
            throw ValidationError("--pets-border \(petsBorder): expected one of \(DatasetOptions.PetsBorder.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var options = DatasetOptions(limit: limit, petsBorder: border)
        options.palette = classPalette
        let (dataset, datasetURL) = try openDataset(format: datasetFormat, options: options)
        var browser = BrowserState(dataset: dataset)
        // Tags live under the runs folder, one file per dataset directory (D-241).
        let tagsFile = SampleTags.fileURL(runsRoot: URL(fileURLWithPath: runsDir), dataset: datasetURL)
        browser.tagsFile = tagsFile
        do {
            browser.tags = try SampleTags.read(tagsFile, dataset: datasetURL.absoluteURL.standardizedFileURL.path)
        } catch {
            browser.tagsProblem = "\(error)"
            FileHandle.standardError.write(Data("warning: \(error)\n".utf8))
        }
        if let split {
            guard let index = browser.splits.firstIndex(of: split) else {
                throw ValidationError("--split \(split): \(dataset.name) has the splits \(browser.splits.joined(separator: ", "))")
            }
            browser.splitIndex = index
        }
        if overlay != nil && runDirectory == nil { throw ValidationError("--overlay needs --run (the run drawn on top)") }
        let past = try readPastRuns()
        let depth = ColorDepth.resolve(option: depthOption)
        let chosenTheme: Theme
        do { chosenTheme = try Theme.load(theme, depth: depth) } catch { throw ValidationError("\(error)") }
        for warning in chosenTheme.warnings { FileHandle.standardError.write(Data("warning: \(warning)\n".utf8)) }
        guard TerminalProbe.isInteractive else { throw ValidationError(TUIError.notATerminal.description) }
        // Probed before curses starts: the replies must not reach curses as keys.
        let capabilities = TerminalProbe.probe(timeout: probeTimeout)

        let driver: CursesDriver
        do {
            driver = try CursesDriver(colorDepth: depth, capabilities: capabilities, allowGraphics: !noSixel)
        } catch {
            throw ValidationError("\(error)")
        }
        defer { driver.shutdown() }
        var state = AppState(columns: driver.columns, rows: driver.rows, depth: driver.colorDepth, theme: chosenTheme,
                             graphics: driver.showsGraphics, browser: browser)
        state.dashboard.glyphs = ChartGlyphs.detect()
        if let past { App.openPastRun(&state, name: past.name, history: past.history, overlay: past.overlay) }
        state.launcher.base = launchBase(format: datasetFormat, options: options)
        state.runs.root = runsDir
        // Every run is a process of its own (D-261): the launcher's start runs `segscope train`,
        // watched over its socket; quitting may leave it training. Attached, the engine is the
        // live run's process behind its socket.
        let detached: DetachedEngine
        if let attach {
            detached = attach.engine
            state.cockpit.attachment = attach.attachment
            state.screen = .cockpit
        } else {
            detached = DetachedEngine(executable: Self.executablePath)
            state.cockpit.detachable = true
        }
        let link = EngineLink(host: detached)
        let attachedFirst = detached.runDirectory
        let performer = CockpitPerformer(inner: DatasetPerformer(dataset: dataset), link: link, modelSummary: Tui.modelSummary)
        let runtime = AppRuntime(state: state, driver: driver, performer: performer)
        let poster = runtime.poster
        link.pump { poster(.cockpit(.engine($0))) }
        if attach != nil { link.launch() }
        if let path = ProcessInfo.processInfo.environment["SEGSCOPE_IDLE_FILE"], !path.isEmpty {
            // Busy / idle for end-to-end tests: the number of the last frame drawn while idle.
            runtime.onIdle = { frame in try? "\(frame)\n".write(toFile: path, atomically: true, encoding: .utf8) }
        }
        let signal = runtime.run()
        driver.shutdown()
        if let attach {
            // Quitting detaches (the client never sends shutdown); a stop asked for was sent.
            _ = link.shutdown(timeout: 5)
            if runtime.state.cockpit.history.isActive {
                // The run attached to first is named as it was reached (a forwarded socket, say).
                let run = detached.runDirectory.flatMap { $0 == attachedFirst ? nil : $0 } ?? attach.target
                FileHandle.standardError.write(Data("segscope: detached; the run goes on (segscope attach \(run))\n".utf8))
            }
        } else if link.isLaunched {
            let cockpit = runtime.state.cockpit
            let active = cockpit.history.isActive && !cockpit.isReadOnly
            // SIGTERM / SIGINT stop a run in progress with its last checkpoint, as before; a
            // hang-up (the terminal or ssh connection went) and the question's `d` detach.
            if active, let signal, signal != SIGHUP {
                FileHandle.standardError.write(Data("segscope: stopping the training run (writing checkpoints/last)…\n".utf8))
                link.send(.stop)
                if !detached.waitForRunEnd(timeout: 600) {
                    FileHandle.standardError.write(Data("segscope: the run did not stop within 10 minutes; it goes on in its own process\n".utf8))
                }
            }
            _ = link.shutdown(timeout: 5)
            if active, signal == nil || signal == SIGHUP, let directory = detached.runDirectory {
                let what = cockpit.quitQuestion == .stoppingThenQuit ? "the run is stopping in its own process" : "detached; the run goes on"
                FileHandle.standardError.write(Data("segscope: \(what) (segscope attach \(directory))\n".utf8))
            } else if let log = detached.abandonedStart {
                FileHandle.standardError.write(Data("segscope: a run was still starting; it goes on in its own process (segscope runs lists it; its log: \(log.path))\n".utf8))
            }
        }
        if let signal { throw ExitCode(128 + signal) }
    }

    /// This program, for the runs it starts (`segscope train`).
    static var executablePath: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// The launcher's starting configuration: this session's dataset (the demo set without --data),
    /// Pets border and palette.
    private func launchBase(format: DatasetFormat, options: DatasetOptions) -> TrainingConfig {
        var config = TrainingConfig()
        config.runsDir = runsDir
        config.palette = options.palette
        config.petsBorder = options.petsBorder
        if let data {
            config.data = URL(fileURLWithPath: (data as NSString).expandingTildeInPath).standardizedFileURL.path
            config.format = format
        }
        return config
    }

    /// Parameter counts of a past run's model, from the model registry (its log has no start
    /// record): the network is built for the run's class count and counted.
    static func modelSummary(name: String, classes: Int) -> ModelOverview? {
        guard classes > 0, let network = try? ModelRegistry.build(name, classes: classes) else { return nil }
        return ModelOverview(name: name, trainableParameters: network.trainableCount,
                                     nonTrainableParameters: network.batchNormStatisticsCount)
    }

    /// `--run` / `--overlay`, read before the terminal is taken over so errors print plainly.
    private func readPastRuns() throws -> (name: String, history: RunHistory, overlay: (name: String, history: RunHistory)?)? {
        guard let runDirectory else { return nil }
        func read(_ path: String) throws -> (String, RunHistory) {
            let url = URL(fileURLWithPath: (path as NSString).expandingTildeInPath)
            do {
                return (url.lastPathComponent, try RunLog.read(url, model: Tui.modelSummary))
            } catch {
                throw ValidationError("\(error)")
            }
        }
        let main = try read(runDirectory)
        let other = try overlay.map { try read($0) }
        return (main.0, main.1, other.map { (name: $0.0, history: $0.1) })
    }

    /// The dataset and its directory.
    private func openDataset(format: DatasetFormat, options: DatasetOptions) throws -> (any SegmentationDataset, URL) {
        guard let data else {
            // The demo set lives in the user's cache directory; the first run generates it.
            let root: URL
            do {
                root = try DemoDataset.ensureDefault()
            } catch {
                throw ValidationError("cannot create the demo dataset in \(DemoDataset.defaultURL.path): \(error)")
            }
            return (try DatasetLoader.open(root, format: .demo, options: options), root)
        }
        let url = URL(fileURLWithPath: (data as NSString).expandingTildeInPath)
        do {
            return (try DatasetLoader.open(url, format: format, options: options), url)
        } catch {
            throw ValidationError("cannot open \(data): \(error)")
        }
    }
}

