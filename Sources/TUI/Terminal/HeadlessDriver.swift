/// A terminal in memory, for tests and benchmarks: `present` applies the frame's changed runs
/// to its own screen exactly as the curses driver does, and input comes from a script.
public final class HeadlessDriver: TerminalDriver {
    public private(set) var columns: Int
    public private(set) var rows: Int
    public let colorDepth: ColorDepth
    public var showsGraphics: Bool
    public var cellPixelSize: (width: Int, height: Int)?

    /// What the terminal shows now.
    public private(set) var screen: CellGrid
    public private(set) var framesPresented = 0
    /// Cells written by the last `present` (after diffing).
    public private(set) var cellsWrittenLastFrame = 0
    /// Graphics placements of the last frame (drawn when `showsGraphics`).
    public private(set) var graphics: [GraphicPlacement] = []
    /// Scripted input, consumed front to back.
    public var input: [InputEvent] = []
    public var signal: Int32?
    public private(set) var isShutDown = false
    private var previous: CellGrid?

    public init(columns: Int, rows: Int, colorDepth: ColorDepth = .direct, showsGraphics: Bool = false) {
        self.columns = columns
        self.rows = rows
        self.colorDepth = colorDepth
        self.showsGraphics = showsGraphics
        screen = CellGrid(width: columns, height: rows)
    }

    public func present(_ frame: Frame) {
        let grid = frame.grid
        if grid.width != screen.width || grid.height != screen.height {
            screen = CellGrid(width: grid.width, height: grid.height)
            previous = nil
        }
        var written = 0
        for run in grid.changedRuns(from: previous) {
            for x in run.x..<(run.x + run.count) { screen[x, run.y] = grid[x, run.y] }
            written += run.count
        }
        cellsWrittenLastFrame = written
        graphics = showsGraphics ? frame.graphics : []
        previous = grid
        framesPresented += 1
    }

    public func readInput(timeoutMilliseconds: Int) -> InputEvent? {
        guard !input.isEmpty else { return nil }
        let event = input.removeFirst()
        if case .resize(let c, let r) = event {
            columns = c
            rows = r
        }
        return event
    }

    /// Changes the size as a SIGWINCH would, and queues the resize event.
    public func resize(columns: Int, rows: Int) { input.append(.resize(columns: columns, rows: rows)) }

    public func pendingSignal() -> Int32? { signal }

    public func shutdown() { isShutDown = true }
}
