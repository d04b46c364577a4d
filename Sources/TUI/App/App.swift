import Datasets

/// The application as two pure functions: `update(state, msg) -> (state, commands)` and
/// `view(state) -> frame`. The runtime feeds messages in and performs the commands.
public enum App {
    /// Commands to start with: list the first split's samples.
    public static func start(_ state: AppState) -> (AppState, [Command]) {
        var s = state
        let commands = enterSplit(&s)
        return (s, commands)
    }

    public static func update(_ state: AppState, _ msg: Msg) -> (AppState, [Command]) {
        var s = state
        let commands = update(&s, msg)
        return (s, commands)
    }

    /// In-place form of `update`.
    public static func update(_ state: inout AppState, _ msg: Msg) -> [Command] {
        if case .resize(let columns, let rows) = msg {
            state.columns = columns
            state.rows = rows
        }
        // The help overlay takes keys first: any key closes it (q still quits).
        if state.showHelp, case .key(let key) = msg {
            if key == .char("q") || key == .ctrl("c") { return requestQuit(&state) }
            state.showHelp = false
            return []
        }
        if state.isTooSmall, case .key(let key) = msg {
            if key == .char("q") || key == .ctrl("c") || key == .escape { return requestQuit(&state) }
            return []
        }
        if case .cockpit(let event) = msg { return cockpitEvent(event, &state) }
        switch state.screen {
        case .browser: return updateBrowser(&state, msg)
        case .cockpit, .compare: return updateTraining(&state, msg)
        case .launcher: return updateLauncher(&state, msg)
        case .runs: return updateRuns(&state, msg)
        }
    }

    public static func view(_ state: AppState) -> Frame {
        let styles = state.styles
        var grid = CellGrid(width: state.columns, height: state.rows, fill: Cell(" ", styles.main))
        guard !state.isTooSmall else {
            drawTooSmall(&grid, state)
            return Frame(grid: grid)
        }
        var graphics: [GraphicPlacement]
        switch state.screen {
        case .browser: graphics = drawBrowser(&grid, state)
        case .cockpit: graphics = drawCockpit(&grid, state)
        case .compare: graphics = drawCompare(&grid, state)
        case .launcher: graphics = drawLauncher(&grid, state)
        case .runs: graphics = drawRuns(&grid, state)
        }
        if state.showHelp {
            grid.helpOverlay(title: "Keys — \(screenTitle(state))", entries: helpEntries(state),
                             notes: ["Mouse: click a sample to select it; the wheel scrolls.",
                                     "Any key closes this help."], styles: styles)
            graphics = []  // the overlay covers the previews
        }
        return Frame(grid: grid, graphics: state.graphics ? graphics : [])
    }

    static func screenTitle(_ state: AppState) -> String {
        switch state.screen {
        case .browser: return "dataset browser"
        case .cockpit: return "training"
        case .compare: return "compare predictions"
        case .launcher: return "new training run"
        case .runs: return "past runs"
        }
    }

    static func drawTooSmall(_ grid: inout CellGrid, _ state: AppState) {
        let lines = [
            "Segscope needs at least \(AppState.minimumColumns)×\(AppState.minimumRows)",
            "this terminal is \(state.columns)×\(state.rows)",
            "enlarge the window, or press q to quit",
        ]
        let top = max(0, (state.rows - lines.count) / 2)
        for (i, line) in lines.enumerated() where top + i < state.rows {
            grid.centered(line, in: grid.bounds, y: top + i, style: i == 0 ? state.styles.warning : state.styles.dim)
        }
    }
}
