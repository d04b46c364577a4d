@preconcurrency import CNcurses
import CTerm
import Datasets
import Foundation

/// The ncurses driver: the only code that writes to the real terminal.
///
/// Each frame is diffed against the previous one and only changed runs are handed to curses,
/// which then writes them in one `doupdate`. Colours become extended colour pairs, allocated on
/// demand and reset when the terminal's pair table fills. Sixel images are written after curses
/// has flushed, and erased by making curses rewrite the rows under them.
public final class CursesDriver: TerminalDriver {
    public private(set) var columns = 0
    public private(set) var rows = 0
    public let colorDepth: ColorDepth
    public let showsGraphics: Bool
    public let cellPixelSize: (width: Int, height: Int)?

    /// How cells reach the terminal: our own ANSI encoder (default) or curses' `mvadd_wchnstr` +
    /// `doupdate` (set `SEGSCOPE_CURSES_OUTPUT=1`; slower, but driven entirely by terminfo).
    public enum Output: Sendable { case ansi, curses }
    public let output: Output
    private var encoder: AnsiEncoder
    private let outputFD: Int32

    private var previous: CellGrid?
    private var pairs: [PairKey: Int32] = [:]
    private var nextPair: Int32 = 1
    private let maxPairs: Int32
    private let terminalColors: Int
    private var shownGraphics: [GraphicPlacement] = []
    private var running = false
    private var pairTableOverflowed = false
    // Reused buffers for cell runs.
    private var runChars: [UInt32] = []
    private var runAttrs: [UInt8] = []
    private var runPairs: [Int32] = []

    private struct PairKey: Hashable { var fg: Int32, bg: Int32 }

    /// Starts curses. `capabilities` come from `TerminalProbe.probe` (run before this: curses
    /// owns the terminal afterwards); sixel is used when DA1 listed it, the cell pixel size is
    /// known, and `allowGraphics` is set.
    public init(colorDepth: ColorDepth, capabilities: TerminalCapabilities?, allowGraphics: Bool = true) throws {
        guard TerminalProbe.isInteractive else { throw TUIError.notATerminal }
        guard cterm_start() == 0 else {
            throw TUIError.cannotStart("curses could not initialise TERM=\(ProcessInfo.processInfo.environment["TERM"] ?? "(unset)"); check that TERM names an installed terminfo entry")
        }
        running = true
        cterm_install_signal_handlers()
        cterm_capture_stderr()
        terminalColors = Int(cterm_colors())
        let hasColors = has_colors()
        self.colorDepth = hasColors ? colorDepth : .mono
        output = ProcessInfo.processInfo.environment["SEGSCOPE_CURSES_OUTPUT"] == "1" ? .curses : .ansi
        encoder = AnsiEncoder(depth: self.colorDepth, eightColors: terminalColors < 16)
        outputFD = STDOUT_FILENO
        // Let curses do its first full refresh (clearing the screen) before any frame is drawn.
        cterm_flush()
        maxPairs = Int32(max(0, min(Int(cterm_color_pairs()), 65_536)))
        var r: Int32 = 0, c: Int32 = 0
        cterm_size(&r, &c)
        rows = Int(r)
        columns = Int(c)
        if let caps = capabilities, caps.sixel, allowGraphics,
           let pw = caps.pixelWidth, let ph = caps.pixelHeight, caps.columns > 0, caps.rows > 0
        {
            cellPixelSize = (pw / caps.columns, ph / caps.rows)
            showsGraphics = pw / caps.columns > 0 && ph / caps.rows > 0
        } else {
            cellPixelSize = nil
            showsGraphics = false
        }
    }

    /// Curses writing to a file instead of the terminal, at a fixed size: measures the whole
    /// output path (diff, pairs, curses' own optimisation, escape sequences) in benchmarks.
    public init(writingTo path: String, term: String, columns: Int, rows: Int, colorDepth: ColorDepth,
                output: Output = .ansi) throws {
        guard cterm_start_file(term, path, Int32(rows), Int32(columns)) == 0 else {
            throw TUIError.cannotStart("curses could not start TERM=\(term) on \(path)")
        }
        running = true
        terminalColors = Int(cterm_colors())
        self.colorDepth = has_colors() ? colorDepth : .mono
        self.output = output
        encoder = AnsiEncoder(depth: self.colorDepth, eightColors: terminalColors < 16)
        outputFD = open(path, O_WRONLY)
        cterm_flush()
        maxPairs = Int32(max(0, min(Int(cterm_color_pairs()), 65_536)))
        var r: Int32 = 0, c: Int32 = 0
        cterm_size(&r, &c)
        self.rows = Int(r)
        self.columns = Int(c)
        cellPixelSize = nil
        showsGraphics = false
    }

    deinit { shutdown() }

    public func shutdown() {
        guard running else { return }
        running = false
        cterm_stop()
        if outputFD != STDOUT_FILENO { close(outputFD) }
    }

    public func pendingSignal() -> Int32? {
        let s = cterm_pending_signal()
        return s == 0 ? nil : s
    }

    // MARK: Output

    public func present(_ frame: Frame) {
        guard running else { return }
        switch output {
        case .ansi: presentANSI(frame)
        case .curses: presentCurses(frame)
        }
    }

    /// One buffer of escape sequences for the changed runs, written with one `write`.
    private func presentANSI(_ frame: Frame) {
        let grid = frame.grid
        let fullRedraw = previous == nil
        encoder.reset()
        for run in grid.changedRuns(from: previous) { encoder.encode(run, of: grid) }
        // Sixel images that moved or went away are erased by rewriting the cells under them.
        let kept = showsGraphics ? frame.graphics : []
        if !fullRedraw {
            for old in shownGraphics where !kept.contains(old) {
                let r = SixelLayout.safeRect(old.rect, screenRows: rows)
                for y in max(0, r.y)..<min(grid.height, r.maxY) {
                    let x0 = max(0, r.x), x1 = min(grid.width, r.maxX)
                    if x1 > x0 { encoder.encode(CellRun(y: y, x: x0, count: x1 - x0), of: grid) }
                }
            }
        }
        encoder.finish()
        writeAll(encoder.bytes)
        previous = grid
        for placement in kept where fullRedraw || !shownGraphics.contains(placement) {
            drawSixel(placement)
        }
        shownGraphics = kept
    }

    private func writeAll(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let n = Glibc.write(outputFD, buffer.baseAddress! + done, buffer.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                done += n
            }
        }
    }

    private func presentCurses(_ frame: Frame) {
        let grid = frame.grid
        let fullRedraw = previous == nil
        pairTableOverflowed = false
        for run in grid.changedRuns(from: previous) { write(run, of: grid) }
        if pairTableOverflowed {
            // Pairs were reset part-way: cells written earlier refer to stale pair numbers, so
            // write the whole frame again with the fresh table and repaint the screen.
            for run in grid.changedRuns(from: nil) { write(run, of: grid) }
            cterm_clear_all()
        }
        // Graphics that moved or went away: make curses rewrite the rows they covered.
        let kept = showsGraphics ? frame.graphics : []
        for old in shownGraphics where !kept.contains(old) {
            cterm_redraw_rows(Int32(old.rect.y), Int32(old.rect.height))
        }
        cterm_flush()
        previous = grid
        let repainted = fullRedraw || pairTableOverflowed
        for placement in kept where repainted || !shownGraphics.contains(placement) {
            drawSixel(placement)
        }
        shownGraphics = kept
    }

    private func write(_ run: CellRun, of grid: CellGrid) {
        let n = run.count
        if runChars.count < n {
            runChars = [UInt32](repeating: 32, count: n)
            runAttrs = [UInt8](repeating: 0, count: n)
            runPairs = [Int32](repeating: 0, count: n)
        }
        for i in 0..<n {
            let cell = grid[run.x + i, run.y]
            var attrs = cell.style.attributes.rawValue
            runChars[i] = cell.char.value
            runPairs[i] = pair(for: cell.style, attributes: &attrs)
            runAttrs[i] = attrs
        }
        runChars.withUnsafeBufferPointer { chars in
            runAttrs.withUnsafeBufferPointer { attrs in
                runPairs.withUnsafeBufferPointer { pairs in
                    cterm_put_run(Int32(run.y), Int32(run.x), chars.baseAddress, attrs.baseAddress, pairs.baseAddress, Int32(n))
                }
            }
        }
    }

    /// The curses colour number for `color`, adding bold for bright colours on 8-colour terminals.
    private func colorNumber(_ color: TermColor, isForeground: Bool, attrs: inout UInt8) -> Int32 {
        switch (colorDepth, color) {
        case (_, .default): return -1
        case (.mono, _): return -1
        case (.direct, .rgb(let r, let g, let b)):
            // xterm-direct sends colour numbers 0–7 as ANSI colours: nudge them out of that range.
            let packed = Int32(r) << 16 | Int32(g) << 8 | Int32(b)
            return max(packed, 8)
        case (.direct, .ansi(let n)):
            let c = ColorMapping.ansi16[Int(n) & 15]
            return max(Int32(c.0) << 16 | Int32(c.1) << 8 | Int32(c.2), 8)
        case (.ansi256, .rgb(let r, let g, let b)): return Int32(ColorMapping.index256(r, g, b))
        case (.ansi256, .ansi(let n)): return Int32(n & 15)
        case (.ansi16, .rgb(let r, let g, let b)): return limit16(ColorMapping.index16(r, g, b), isForeground, &attrs)
        case (.ansi16, .ansi(let n)): return limit16(Int(n & 15), isForeground, &attrs)
        }
    }

    private func limit16(_ n: Int, _ isForeground: Bool, _ attrs: inout UInt8) -> Int32 {
        if terminalColors >= 16 || n < 8 { return Int32(n) }
        if isForeground { attrs |= CellAttributes.bold.rawValue }
        return Int32(n - 8)
    }

    private func pair(for style: Style, attributes: inout UInt8) -> Int32 {
        if colorDepth == .mono || maxPairs < 2 { return 0 }
        let key = PairKey(fg: colorNumber(style.fg, isForeground: true, attrs: &attributes),
                          bg: colorNumber(style.bg, isForeground: false, attrs: &attributes))
        if key.fg == -1 && key.bg == -1 { return 0 }
        if let p = pairs[key] { return p }
        if nextPair >= maxPairs {
            // The table is full: start over and repaint everything with fresh pairs.
            cterm_reset_pairs()
            pairs.removeAll(keepingCapacity: true)
            nextPair = 1
            pairTableOverflowed = true
        }
        let p = nextPair
        nextPair += 1
        _ = cterm_init_pair(p, key.fg, key.bg)
        pairs[key] = p
        return p
    }

    // MARK: Sixel

    private func drawSixel(_ placement: GraphicPlacement) {
        guard let cell = cellPixelSize else { return }
        // Never on the last row: a sixel touching the bottom line makes the terminal scroll.
        let rect = SixelLayout.safeRect(placement.rect, screenRows: rows)
        guard !rect.isEmpty,
              let bytes = SixelEncoder.encode(placement.image, fittingWidth: rect.width * cell.width,
                                              height: rect.height * cell.height, isMask: placement.isMask)
        else { return }
        let move = "\u{1B}7\u{1B}[\(rect.y + 1);\(rect.x + 1)H"
        var out = Array(move.utf8)
        out.append(contentsOf: bytes)
        out.append(contentsOf: Array("\u{1B}8".utf8))
        writeAll(out)
    }

    // MARK: Input

    public func readInput(timeoutMilliseconds: Int) -> InputEvent? {
        guard running else { return nil }
        var code: UInt32 = 0
        var mx: Int32 = 0, my: Int32 = 0, kind: Int32 = 0
        switch cterm_read(Int32(timeoutMilliseconds), &code, &mx, &my, &kind) {
        case 1: return KeyDecoder.character(code).map(InputEvent.key)
        case 2: return KeyDecoder.functionKey(code).map(InputEvent.key)
        case 3:
            let k: MouseKind = kind == 1 ? .press : kind == 2 ? .wheelUp : kind == 3 ? .wheelDown : .other
            return .mouse(MouseEvent(x: Int(mx), y: Int(my), kind: k))
        case 4:
            var r: Int32 = 0, c: Int32 = 0
            cterm_size(&r, &c)
            rows = Int(r)
            columns = Int(c)
            if output == .ansi { cterm_flush() }  // curses' own repaint of the resized (blank) screen first
            previous = nil
            shownGraphics = []
            return .resize(columns: columns, rows: rows)
        default: return nil
        }
    }
}

/// Turns curses key codes into `Key`s.
enum KeyDecoder {
    static func character(_ code: UInt32) -> Key? {
        switch code {
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        case 1...26: return Unicode.Scalar(code + 96).map { .ctrl($0) }
        default: return Unicode.Scalar(code).map { .char($0) }
        }
    }

    static func functionKey(_ code: UInt32) -> Key? {
        switch Int32(code) {
        case KEY_UP: return .up
        case KEY_DOWN: return .down
        case KEY_LEFT: return .left
        case KEY_RIGHT: return .right
        case KEY_NPAGE: return .pageDown
        case KEY_PPAGE: return .pageUp
        case KEY_HOME: return .home
        case KEY_END: return .end
        case KEY_ENTER: return .enter
        case KEY_BTAB: return .backTab
        case KEY_BACKSPACE: return .backspace
        case KEY_DC: return .delete
        case KEY_F0 + 1...KEY_F0 + 12: return .function(Int(Int32(code) - KEY_F0))
        default: return nil
        }
    }
}
