import Datasets
import EngineProtocol
import Foundation

/// What dashboard keys do.
public enum CockpitAction: Sendable, Equatable {
    case pauseResume, stop, learningRate, evaluate, checkpoint, compare, axis, newRun, runs, browser, help, quit
    /// Chart controls: log y axis for loss and learning rate; the train-loss EMA weight.
    case logScale, smoothing
}

extension App {
    static func noRun(_ s: AppState) -> String? {
        if s.cockpit.isReadOnly { return "a past run is read-only" }
        return s.cockpit.history.engineState == .running || s.cockpit.history.engineState == .paused
            ? nil : "no run is in progress"
    }

    /// The dashboard's key table: footer and help come from it.
    public static let cockpitKeys = KeyTable<CockpitAction>([
        KeyBinding([.char("p")], footer: "pause", help: "Pause / resume training", action: .pauseResume,
                   disabledReason: { noRun($0) }),
        KeyBinding([.char("s")], footer: "stop", help: "Stop the run (writes the last checkpoint, then goes idle)", action: .stop,
                   disabledReason: { noRun($0) }),
        KeyBinding([.char("L")], footer: "lr", help: "Set the base learning rate (a prompt; Enter sends, Esc cancels; recorded in the run's config.toml)", action: .learningRate,
                   disabledReason: { noRun($0) }),
        KeyBinding([.char("e")], footer: "eval", help: "Evaluate on the validation split now", action: .evaluate,
                   disabledReason: { noRun($0) }),
        KeyBinding([.char("c")], footer: "ckpt", help: "Save a checkpoint now (checkpoints/last)", action: .checkpoint,
                   disabledReason: { noRun($0) }),
        KeyBinding([.tab], footer: "compare", help: "Compare predictions with the truth (worst images first)", action: .compare,
                   disabledReason: { $0.cockpit.history.latestEvaluation == nil ? "no evaluation yet" : nil }),
        KeyBinding([.char("x")], footer: "x axis", help: "Charts over iterations or epochs", action: .axis),
        KeyBinding([.char("l")], footer: "log", footerOptional: true, help: "Log scale for the loss and learning-rate charts (on / off)",
                   action: .logScale),
        KeyBinding([.char("w")], footer: "smooth", footerOptional: true,
                   help: "EMA smoothing of the train loss: off → 0.6 → 0.8 → 0.9 → 0.95 → 0.99 (the legend shows the weight)",
                   action: .smoothing),
        KeyBinding([.char("n")], footer: "new run", help: "Launch a new run (the form starts from this run's configuration)",
                   action: .newRun, disabledReason: { $0.cockpit.history.isActive ? "a run is in progress; stop it first" : nil }),
        KeyBinding([.char("r")], footer: "runs", help: "Past runs: open one read-only, overlay a second one's curves", action: .runs,
                   disabledReason: { runsUnavailable($0) }),
        KeyBinding([.char("b"), .escape], label: "b", footer: "browser", help: "Back to the dataset browser", action: .browser),
        KeyBinding([.char("?")], footer: "help", help: "Show / hide this help", action: .help),
        KeyBinding([.char("q"), .ctrl("c")], label: "q", footer: "quit",
                   help: "Quit (while a run is in progress: asks whether to stop it with a checkpoint or keep it going)", action: .quit),
    ])

    /// Help entries of the current screen.
    static func helpEntries(_ state: AppState) -> [(key: String, text: String, disabled: String?)] {
        switch state.screen {
        case .browser: return browserKeys.helpEntries(state)
        case .cockpit: return cockpitKeys.helpEntries(state)
        case .compare: return compareKeys.helpEntries(state)
        case .launcher: return launcherHelp
        case .runs: return runsKeys.helpEntries(state)
        }
    }

    /// `t` from the browser: the launcher, or the dashboard while a run is in progress.
    static func openTraining(_ state: inout AppState) -> [Command] { openLauncherOrDashboard(&state) }

    /// Engine events and cockpit results, whatever screen is shown.
    static func cockpitEvent(_ event: CockpitEvent, _ state: inout AppState) -> [Command] {
        switch event {
        case .engine(let e):
            let before = state.cockpit.history.evaluationCount
            state.cockpit.history.apply(e)
            var commands: [Command] = []
            if case .runStarted = e { state.compare.saved = nil }
            if state.cockpit.history.evaluationCount != before {
                commands += compareEvaluationArrived(&state)
            } else if state.screen == .compare, liveRunEnded(state), state.compare.saved == nil {
                // The engine no longer predicts: the compare view reads the run's saved predictions.
                commands += compareSelectionChanged(&state)
            }
            if state.cockpit.quitQuestion == .stoppingThenQuit, !state.cockpit.history.isActive {
                state.quit = true
                commands.append(.quit)
            }
            return commands
        case .runs, .runOpened, .attached:
            runsEvent(event, &state)
            return []
        case .saved(let directory, let result):
            return compareSavedArrived(directory, result, &state)
        case .sampleMetrics(let directory, let result):
            return sampleMetricsArrived(directory, result, &state)
        case .sample(let id, let result):
            switch result {
            case .success(let sample): state.compare.store(id, .loaded(sample))
            case .failure(let error): state.compare.store(id, .failed(error.description))
            }
            return []
        }
    }

    /// Quit, unless a run is in progress: then ask first (a run is never lost silently).
    static func requestQuit(_ state: inout AppState) -> [Command] {
        if let attachment = state.cockpit.attachment, !(attachment.control && state.cockpit.history.isActive) {
            // A viewer without control (or of a run that ended) only detaches.
            state.quit = true
            return [.quit]
        }
        if state.cockpit.history.isActive && !state.cockpit.isReadOnly && state.cockpit.quitQuestion == nil {
            state.cockpit.quitQuestion = .asking
            state.showHelp = false
            if state.screen == .browser { state.screen = .cockpit }
            return []
        }
        state.quit = true
        return [.quit]
    }

    /// Keys of the training screens (dashboard and compare), after the prompts.
    static func updateTraining(_ state: inout AppState, _ msg: Msg) -> [Command] {
        guard case .key(let key) = msg else { return [] }
        if state.cockpit.quitQuestion != nil { return answerQuit(&state, key) }
        if state.dashboard.prompt != nil { return editLearningRate(&state, key) }
        if state.screen == .compare { return updateCompare(&state, key) }
        guard let binding = cockpitKeys.binding(for: key), let action = binding.action(for: key) else { return [] }
        if let reason = binding.disabledReason(state) {
            state.cockpit.notice = "\(binding.label): \(reason)"
            return []
        }
        state.cockpit.notice = nil
        return perform(action, &state)
    }

    static func perform(_ action: CockpitAction, _ state: inout AppState) -> [Command] {
        switch action {
        case .pauseResume:
            return [.cockpit(.engine(state.cockpit.history.engineState == .paused ? .resume : .pause))]
        case .stop:
            return [.cockpit(.engine(.stop))]
        case .learningRate:
            let h = state.cockpit.history
            let base = h.baseLearningRate ?? h.started?.config.lr ?? 1e-3
            state.dashboard.prompt = LearningRatePrompt(text: formatLR(base), error: nil, base: base)
            return []
        case .evaluate:
            return [.cockpit(.engine(.evaluateNow))]
        case .checkpoint:
            return [.cockpit(.engine(.saveCheckpoint))]
        case .compare:
            state.screen = .compare
            return compareSelectionChanged(&state)
        case .axis:
            state.dashboard.axis = state.dashboard.axis == .iterations ? .epochs : .iterations
            return []
        case .logScale:
            state.dashboard.logScale.toggle()
            return []
        case .smoothing:
            state.dashboard.smoothing = DashboardState.nextSmoothing(after: state.dashboard.smoothing)
            return []
        case .newRun:
            state.launcher.form = nil
            openLauncher(&state)
            return []
        case .runs:
            return openRuns(&state)
        case .browser:
            state.screen = .browser
            return []
        case .help:
            state.showHelp = true
            return []
        case .quit:
            return requestQuit(&state)
        }
    }

    static func formatLR(_ lr: Double) -> String { RunHistory.formatRate(lr) }

    /// The learning-rate prompt: digits, '.', 'e', '-' edit; Enter sends when valid.
    static func editLearningRate(_ state: inout AppState, _ key: Key) -> [Command] {
        guard var prompt = state.dashboard.prompt else { return [] }
        switch key {
        case .escape:
            state.dashboard.prompt = nil
            return []
        case .enter:
            let text = prompt.text.trimmingCharacters(in: .whitespaces)
            guard let lr = Double(text), LearningRateLimit.allows(lr) else {
                prompt.error = "'\(text)' is not a learning rate: \(LearningRateLimit.allowed), e.g. 3e-4"
                state.dashboard.prompt = prompt
                return []
            }
            state.dashboard.prompt = nil
            guard lr != prompt.base else {
                state.cockpit.notice = "base learning rate unchanged (\(formatLR(lr)))"
                return []
            }
            state.cockpit.notice = "base learning rate \(prompt.base.map(formatLR) ?? "?") → \(formatLR(lr))"
            return [.cockpit(.engine(.setLearningRate(lr)))]
        case .backspace:
            if !prompt.text.isEmpty { prompt.text.removeLast() }
        case .char(let c) where "0123456789.eE-+".unicodeScalars.contains(c):
            prompt.text.unicodeScalars.append(c)
        case .ctrl("u"):
            prompt.text = ""
        default:
            return []
        }
        prompt.error = nil
        state.dashboard.prompt = prompt
        return []
    }

    /// The quit question: `s` stops with a checkpoint then quits, `k` / Esc keeps training.
    static func answerQuit(_ state: inout AppState, _ key: Key) -> [Command] {
        guard state.cockpit.quitQuestion == .asking else {
            // Waiting for the engine to finish; a second ^C quits at once (the stop is on its way).
            if key == .ctrl("c") {
                state.quit = true
                return [.quit]
            }
            return []
        }
        switch key {
        case .char("d") where state.cockpit.attachment != nil || state.cockpit.detachable:
            // Detach: the run's own process keeps training.
            state.quit = true
            return [.quit]
        case .char("s"), .char("y"):
            state.cockpit.quitQuestion = .stoppingThenQuit
            return [.cockpit(.engine(.stop))]
        case .char("k"), .char("n"), .escape:
            state.cockpit.quitQuestion = nil
            return []
        default:
            return []
        }
    }
}
