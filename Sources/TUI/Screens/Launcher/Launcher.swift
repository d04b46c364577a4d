import Datasets
import EngineProtocol
import Foundation

/// The run launcher: one text per configuration key, parsed and validated on every edit with
/// `TrainingConfig`'s own key table and `problems()`, so the form accepts exactly what
/// `segscope train --set key=value` and `config.toml` accept.
public struct LauncherState: Sendable {
    /// The keys the form shows, in order.
    public static let fieldKeys = ["model", "data", "format", "split", "val_split", "crop", "batch", "epochs", "iterations", "optimizer", "lr",
                                   "schedule", "threads", "eval_interval", "backend", "pets_border"]
    /// The configuration the form started from (its other keys are kept as they are).
    public var base: TrainingConfig
    /// Text of each field, by key.
    public var texts: [String: String]
    public var focus = 0

    public init(base: TrainingConfig = TrainingConfig()) {
        self.base = base
        var texts: [String: String] = [:]
        for name in Self.fieldKeys {
            guard let key = TrainingConfig.key(named: name) else { continue }
            texts[name] = Self.text(key.value(in: base))
        }
        self.texts = texts
    }

    /// A value as the form shows it (the command-line form).
    static func text(_ value: ConfigValue) -> String {
        switch value {
        case .string(let s): return s
        case .integer(let i): return String(i)
        case .float(let d): return String(format: "%g", d)
        case .size(let s): return s.height == s.width ? String(s.height) : "\(s.height)x\(s.width)"
        }
    }

    /// The configuration the texts describe, and every problem by key.
    public var parsed: (config: TrainingConfig, errors: [String: String]) {
        var config = base
        var errors: [String: String] = [:]
        for name in Self.fieldKeys {
            do throws(ConfigError) {
                try config.set(name, text: texts[name] ?? "")
            } catch {
                errors[name] = "\(error.message); allowed: \(error.allowed)"
            }
        }
        for problem in config.problems() where errors[problem.key] == nil {
            errors[problem.key] = "\(problem.message); allowed: \(problem.allowed)"
        }
        return (config, errors)
    }

    public var focusedKey: String { Self.fieldKeys[max(0, min(focus, Self.fieldKeys.count - 1))] }
}

/// State of the launcher screen: the form, once opened, and the configuration it starts from.
public struct LauncherScreenState: Sendable {
    public var form: LauncherState?
    /// The launcher's first configuration (the program sets the dataset it was opened on).
    public var base: TrainingConfig?

    public init() {}
}

extension App {
    /// `t` from the browser: the dashboard once a run has started (in progress or finished),
    /// else the launcher.
    static func openLauncherOrDashboard(_ state: inout AppState) -> [Command] {
        if state.cockpit.history.started != nil || state.cockpit.isReadOnly {
            state.screen = .cockpit
        } else {
            openLauncher(&state)
        }
        return []
    }

    /// The launcher, prefilled from the last run's configuration when there is one.
    static func openLauncher(_ state: inout AppState) {
        if state.launcher.form == nil {
            var base = state.launcher.base ?? TrainingConfig()
            if let previous = state.cockpit.history.started?.config {
                base = previous
                // A new run starts at the form's lr: the rate changes were the last run's (D-260).
                base.lrChanges = ""
            }
            state.launcher.form = LauncherState(base: base)
        }
        state.screen = .launcher
    }

    static let launcherHelp: [(key: String, text: String, disabled: String?)] = [
        ("↑↓ Tab", "Move between fields", nil),
        ("← →", "Previous / next choice (fields with a fixed set of values)", nil),
        ("type Bksp", "Edit the field; every edit is validated at once", nil),
        ("Enter", "Start training with this configuration (when it is valid)", nil),
        ("Esc", "Back without starting", nil),
    ]

    static func updateLauncher(_ state: inout AppState, _ msg: Msg) -> [Command] {
        guard case .key(let key) = msg, var form = state.launcher.form else { return [] }
        let name = form.focusedKey
        let choices = TrainingConfig.key(named: name)?.choices
        switch key {
        case .up, .backTab:
            form.focus = (form.focus + LauncherState.fieldKeys.count - 1) % LauncherState.fieldKeys.count
        case .down, .tab:
            form.focus = (form.focus + 1) % LauncherState.fieldKeys.count
        case .left, .right:
            guard let choices, !choices.isEmpty else { break }
            let i = choices.firstIndex(of: form.texts[name] ?? "") ?? -1
            let next = key == .right ? (i + 1) % choices.count : (i <= 0 ? choices.count - 1 : i - 1)
            form.texts[name] = choices[next]
        case .backspace:
            if var t = form.texts[name], !t.isEmpty {
                t.removeLast()
                form.texts[name] = t
            }
        case .ctrl("u"):
            form.texts[name] = ""
        case .char(let c):
            if name == "model", choices == nil, c == " " { break }
            form.texts[name, default: ""].unicodeScalars.append(c)
            // A run counts epochs or iterations: a positive value in one clears the other.
            let other = ["epochs": "iterations", "iterations": "epochs"][name]
            if let other, let n = Int(form.texts[name] ?? ""), n > 0 { form.texts[other] = "0" }
        case .escape:
            state.screen = .browser
        case .ctrl("c"):
            state.launcher.form = form
            return requestQuit(&state)
        case .enter:
            let (config, errors) = form.parsed
            if let first = LauncherState.fieldKeys.firstIndex(where: { errors[$0] != nil }) {
                form.focus = first
                state.cockpit.notice = "fix \(errors.count == 1 ? "1 field" : "\(errors.count) fields") before starting"
            } else {
                state.launcher.form = form
                state.cockpit.notice = nil
                if state.cockpit.isReadOnly {
                    // Leaving a past run: the dashboard now belongs to the new run.
                    state.cockpit.history = RunHistory()
                    state.cockpit.readOnlyName = nil
                    state.cockpit.overlay = nil
                    state.cockpit.overlayName = nil
                }
                state.screen = .cockpit
                return [.cockpit(.engine(.start(config)))]
            }
        default:
            break
        }
        state.launcher.form = form
        return []
    }

    static func drawLauncher(_ grid: inout CellGrid, _ state: AppState) -> [GraphicPlacement] {
        let s = state.styles
        guard let form = state.launcher.form else { return [] }
        let header = Rect(x: 0, y: 0, width: state.columns, height: 1)
        grid.fill(header, with: Cell(" ", s.header))
        var x = grid.put(" Segscope ", x: 0, y: 0, style: s.header)
        x = grid.put("│ ", x: x, y: 0, style: s.header.with(fg: s.dim.fg))
        grid.put("new training run", x: x, y: 0, style: s.header)
        let body = Rect(x: 0, y: 1, width: state.columns, height: state.rows - 2)
        let inner = grid.box(body, title: "Configuration · validated as you type", border: s.focus, titleStyle: s.title)
        let (config, errors) = form.parsed
        let labelWidth = 14, valueWidth = min(34, max(12, inner.width / 3))
        for (row, name) in LauncherState.fieldKeys.enumerated() {
            let y = inner.y + row
            guard y < inner.maxY - 3 else { break }
            let focused = row == form.focus
            let key = TrainingConfig.key(named: name)
            grid.put(TextWidth.pad(name, to: labelWidth), x: inner.x + 1, y: y, style: focused ? s.accent : s.main)
            let valueStyle = focused ? s.selected : s.overlay
            let text = form.texts[name] ?? ""
            let shown = key?.choices != nil ? "‹ \(text) ›" : text
            grid.put(TextWidth.pad(shown, to: valueWidth), x: inner.x + 1 + labelWidth, y: y, style: valueStyle)
            if focused && key?.choices == nil {
                grid.set(inner.x + 1 + labelWidth + min(valueWidth - 1, TextWidth.width(text)), y, Cell("▏", s.selected))
            }
            let noteX = inner.x + 2 + labelWidth + valueWidth
            if let error = errors[name] {
                grid.put("✗ " + error, x: noteX, y: y, style: s.error, maxWidth: inner.maxX - noteX)
            } else {
                let hint = name == "data" && text.isEmpty ? "the demo set (made on first use)" : (key?.help ?? "")
                grid.put(hint, x: noteX, y: y, style: s.dim, maxWidth: inner.maxX - noteX)
            }
        }
        let summaryY = inner.maxY - 2
        // The first problem in full (a field's note is cut at the box edge), word-wrapped into
        // the rows between the fields and the summary.
        if let name = LauncherState.fieldKeys.first(where: { errors[$0] != nil }), let error = errors[name] {
            let top = inner.y + LauncherState.fieldKeys.count + 1
            for (i, line) in wrapWords("✗ \(name): \(error)", width: inner.width - 2).enumerated() where top + i < summaryY - 1 {
                grid.put(line, x: inner.x + 1, y: top + i, style: s.error, maxWidth: inner.width - 2)
            }
        }
        if errors.isEmpty {
            let runs = config.countsEpochs ? "\(config.epochs) epochs" : "\(config.iterations) iterations"
            grid.put("ready: \(config.model) on \(config.data.isEmpty ? "the demo set" : config.data) (\(config.split) → \(config.valSplit)), crop \(config.crop), batch \(config.batch), \(runs), \(config.optimizer.rawValue) lr \(String(format: "%g", config.lr)) \(config.schedule.rawValue) — Enter starts",
                     x: inner.x + 1, y: summaryY, style: s.key, maxWidth: inner.width - 2)
        } else {
            grid.put("\(errors.count) field\(errors.count == 1 ? "" : "s") to fix before starting", x: inner.x + 1, y: summaryY,
                     style: s.error, maxWidth: inner.width - 2)
        }
        let footer = Rect(x: 0, y: state.rows - 1, width: state.columns, height: 1)
        drawCockpitFooter(&grid, state, footer, keys: [("↑↓", "field"), ("← →", "choice"), ("Enter", "start"), ("Esc", "back"), ("^C", "quit")])
        return []
    }
}

/// `text` broken at spaces into lines of at most `width` columns (a longer word is cut).
func wrapWords(_ text: String, width: Int) -> [String] {
    guard width > 0 else { return [] }
    var lines: [String] = [], line = ""
    for word in text.split(separator: " ", omittingEmptySubsequences: false).map(String.init) {
        let candidate = line.isEmpty ? word : line + " " + word
        if TextWidth.width(candidate) <= width || line.isEmpty {
            line = candidate
        } else {
            lines.append(line)
            line = word
        }
    }
    if !line.isEmpty { lines.append(line) }
    return lines
}
