import Datasets

/// The screens of the application. The browser is the first; more screens (training cockpit,
/// compare) are added as cases with their own state, update and view.
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
    /// The training screens' state (Cockpit/).
    public var cockpit = CockpitState()
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
