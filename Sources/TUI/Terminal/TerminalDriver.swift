import Datasets

/// A key press, decoded.
public enum Key: Hashable, Sendable {
    case char(Unicode.Scalar)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, tab, backTab, escape, backspace, delete
    /// Ctrl + a letter (lowercase), e.g. `.ctrl("c")`.
    case ctrl(Unicode.Scalar)
    case function(Int)

    /// How the key is written in help and footers.
    public var label: String {
        switch self {
        case .char(" "): return "Space"
        case .char(let c): return String(c)
        case .up: return "↑"
        case .down: return "↓"
        case .left: return "←"
        case .right: return "→"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .home: return "Home"
        case .end: return "End"
        case .enter: return "Enter"
        case .tab: return "Tab"
        case .backTab: return "S-Tab"
        case .escape: return "Esc"
        case .backspace: return "Bksp"
        case .delete: return "Del"
        case .ctrl(let c): return "^" + String(c).uppercased()
        case .function(let n): return "F\(n)"
        }
    }
}

public enum MouseKind: Hashable, Sendable { case press, wheelUp, wheelDown, other }

/// A mouse event at a cell (0-based column, row).
public struct MouseEvent: Hashable, Sendable {
    public var x: Int, y: Int
    public var kind: MouseKind
    public init(x: Int, y: Int, kind: MouseKind) {
        self.x = x
        self.y = y
        self.kind = kind
    }
}

/// What a driver reads from the terminal.
public enum InputEvent: Hashable, Sendable {
    case key(Key)
    case mouse(MouseEvent)
    case resize(columns: Int, rows: Int)
}

/// Pixels to be shown as real graphics (sixel) over `rect` when the driver can; the cells under
/// it already hold the half-block rendering, which is what the user sees otherwise.
public struct GraphicPlacement: Equatable, Sendable {
    /// Identity of the content (e.g. "2007_000032/overlay/50"); equal keys mean equal pixels.
    public var key: String
    public var rect: Rect
    public var image: RGBImage
    /// Masks are scaled by nearest neighbour so only real class colours appear.
    public var isMask: Bool

    public init(key: String, rect: Rect, image: RGBImage, isMask: Bool) {
        self.key = key
        self.rect = rect
        self.image = image
        self.isMask = isMask
    }

    public static func == (a: GraphicPlacement, b: GraphicPlacement) -> Bool { a.key == b.key && a.rect == b.rect }
}

/// One rendered screen: the cells and any graphics drawn over them.
public struct Frame: Sendable {
    public var grid: CellGrid
    public var graphics: [GraphicPlacement]
    public init(grid: CellGrid, graphics: [GraphicPlacement] = []) {
        self.grid = grid
        self.graphics = graphics
    }
}

/// The only thing that talks to a terminal. The ncurses driver and the headless test driver
/// implement it; everything above draws into `CellGrid`s.
public protocol TerminalDriver: AnyObject {
    /// Current size in cells.
    var columns: Int { get }
    var rows: Int { get }
    var colorDepth: ColorDepth { get }
    /// Whether `present` draws graphics placements as sixel images.
    var showsGraphics: Bool { get }
    /// Size of one cell in pixels when known (sixel needs it).
    var cellPixelSize: (width: Int, height: Int)? { get }
    /// Shows `frame`: writes only the cells that changed since the previous frame, in one write.
    func present(_ frame: Frame)
    /// Waits up to `timeoutMilliseconds` for input (negative: forever); nil on timeout.
    func readInput(timeoutMilliseconds: Int) -> InputEvent?
    /// A termination signal (SIGINT, SIGTERM, SIGHUP) received since start, or nil.
    func pendingSignal() -> Int32?
    /// Restores the terminal. Idempotent.
    func shutdown()
}
