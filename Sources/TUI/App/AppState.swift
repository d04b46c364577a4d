import Datasets

/// The screens of the application, each with its own state, update and view under
/// Screens/<name>/ (the dashboard is `.cockpit`).
public enum Screen: Sendable, Equatable {
    case browser
    /// Training dashboard, prediction compare (Cockpit/, Compare/).
    case cockpit, compare, launcher
    /// The run directories under the runs root (Runs/).
    case runs
}

/// The whole interface state. `App.update` is the only thing that changes it.
public struct AppState: Sendable {
    public var columns: Int
    public var rows: Int
    public var depth: ColorDepth
    public var styles: Styles
    /// Whether previews are also attached as sixel graphics (the driver can show them).
    public var graphics: Bool
    public var screen: Screen = .browser
    public var browser: BrowserState
    /// The run the training screens show, from the engine link (Cockpit/).
    public var cockpit = CockpitState()
    /// Each screen's own state (Screens/<name>/, D-187).
    public var dashboard = DashboardState()
    public var compare = CompareState()
    public var launcher = LauncherScreenState()
    public var runs = RunsScreenState()
    public var showHelp = false
    public var quit = false
    /// Smallest usable terminal.
    public static let minimumColumns = 64
    public static let minimumRows = 18

    public init(columns: Int, rows: Int, depth: ColorDepth, theme: Theme, graphics: Bool = false, browser: BrowserState) {
        self.columns = columns
        self.rows = rows
        self.depth = depth
        styles = Styles(theme: theme, depth: depth)
        self.graphics = graphics
        self.browser = browser
        // Theme overrides first, then what the depth can show (distinct ANSI colours at 16).
        self.browser.palette = ClassDisplay.palette(styles.palette(browser.palette), depth: depth)
    }

    public var isTooSmall: Bool { columns < Self.minimumColumns || rows < Self.minimumRows }
}
