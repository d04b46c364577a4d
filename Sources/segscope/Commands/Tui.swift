import ArgumentParser
import Datasets
import Foundation
import TUI

/// `segscope tui`: the terminal interface, opening on the dataset browser.
struct Tui: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Browse a dataset's samples, masks and class statistics in the terminal.",
        discussion: """
            Without --data, opens the demo dataset (created on first run in the user's cache \
            directory). Keys: arrows / j k move, PgUp / PgDn page, Enter zoom, Tab split, m view \
            mode, o overlay opacity, / filter, ? help, q quit.
            """)

    @Option(help: "Dataset directory (VOC, Oxford-IIIT Pet, images+masks folder, or a demo set).")
    var data: String?

    @Option(help: "Layout of --data: voc, pets, folder, demo or auto.")
    var format = "auto"

    @Option(help: "Split to open first (default: the dataset's first).")
    var split: String?

    @Option(help: "Read only the first N samples of each split.")
    var limit: Int?

    @Option(help: "Colour depth: auto, direct (truecolor), 256, 16 or mono. auto follows terminfo, COLORTERM and NO_COLOR.")
    var color = "auto"

    @Option(help: "Theme name (default, light, high-contrast, 16color) or path to a .theme file.")
    var theme: String?

    @Flag(help: "Never draw sixel images, even when the terminal supports them.")
    var noSixel = false

    @Option(help: "Seconds to wait for the terminal's answer to its capability queries.")
    var probeTimeout = 0.3

    func run() throws {
        // Everything that can fail with a message happens before curses owns the screen.
        let depthOption: ColorDepth?
        do { depthOption = try ColorDepth.parse(option: color) } catch { throw ValidationError("\(error)") }
        guard let datasetFormat = DatasetFormat(rawValue: format.lowercased()) else {
            throw ValidationError("--format \(format): expected one of \(DatasetFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let limit, limit <= 0 { throw ValidationError("--limit \(limit): must be a positive number of samples") }
        let dataset = try openDataset(format: datasetFormat)
        var browser = BrowserState(dataset: dataset)
        if let split {
            guard let index = browser.splits.firstIndex(of: split) else {
                throw ValidationError("--split \(split): \(dataset.name) has the splits \(browser.splits.joined(separator: ", "))")
            }
            browser.splitIndex = index
        }
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
        let state = AppState(columns: driver.columns, rows: driver.rows, depth: driver.colorDepth, theme: chosenTheme,
                             graphics: driver.showsGraphics, browser: browser)
        let runtime = AppRuntime(state: state, driver: driver, performer: DatasetPerformer(dataset: dataset))
        if let path = ProcessInfo.processInfo.environment["SEGSCOPE_IDLE_FILE"], !path.isEmpty {
            // Busy / idle for end-to-end tests: the number of the last frame drawn while idle.
            runtime.onIdle = { frame in try? "\(frame)\n".write(toFile: path, atomically: true, encoding: .utf8) }
        }
        let signal = runtime.run()
        driver.shutdown()
        if let signal { throw ExitCode(128 + signal) }
    }

    private func openDataset(format: DatasetFormat) throws -> any SegmentationDataset {
        let options = DatasetOptions(limit: limit)
        guard let data else {
            // The demo set lives in the user's cache directory; the first run generates it.
            let root: URL
            do {
                root = try DemoDataset.ensureDefault()
            } catch {
                throw ValidationError("cannot create the demo dataset in \(DemoDataset.defaultURL.path): \(error)")
            }
            return try DatasetLoader.open(root, format: .demo, options: options)
        }
        let url = URL(fileURLWithPath: (data as NSString).expandingTildeInPath)
        do {
            return try DatasetLoader.open(url, format: format, options: options)
        } catch {
            throw ValidationError("cannot open \(data): \(error)")
        }
    }
}

