import CNcurses
import CSixel
import CTerm
import Foundation

/// What the terminal can do, learned before curses starts: terminfo, environment, and the
/// terminal's own answers to Primary Device Attributes (DA1, `ESC [ c`) and the XTWINOPS
/// text-area-size query (`ESC [ 14 t`).
public struct TerminalCapabilities: Codable, Sendable, Equatable {
    public var term: String?
    public var colorterm: String?
    /// `colors` from terminfo (-1 when TERM has no terminfo entry).
    public var colors: Int
    /// 24-bit colour: a `*-direct` terminfo (RGB flag) or `COLORTERM=truecolor|24bit`.
    public var directColor: Bool
    /// The DA1 reply's parameters, e.g. "?62;4;22"; nil when the terminal did not answer in time.
    public var deviceAttributes: String?
    /// DA1 lists attribute 4 (sixel graphics).
    public var sixel: Bool
    public var rows: Int
    public var columns: Int
    /// Text-area size in pixels when the terminal reports it (TIOCGWINSZ or `ESC [ 14 t`).
    public var pixelWidth: Int?
    public var pixelHeight: Int?

    /// Colour depth the renderer should use: 16,777,216 for direct colour, else terminfo's count.
    public var effectiveColors: Int { directColor ? 1 << 24 : max(colors, 0) }
}

public enum TerminalProbe {
    /// Whether both stdin and stdout are terminals (probes need to write and read the tty).
    public static var isInteractive: Bool { isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1 }

    /// Colour support from terminfo and the environment only (no terminal round trip).
    public static func colorSupport(environment: [String: String] = ProcessInfo.processInfo.environment)
        -> (term: String?, colors: Int, direct: Bool)
    {
        let term = environment["TERM"]
        var colors: Int32 = -1
        var rgb: Int32 = 0
        if let term, !term.isEmpty {
            _ = term.withCString { cterm_terminfo_probe($0, &colors, &rgb) }
        }
        let colorterm = (environment["COLORTERM"] ?? "").lowercased()
        let direct = rgb != 0 || (term?.hasSuffix("-direct") ?? false)
            || colorterm == "truecolor" || colorterm == "24bit"
        return (term, Int(colors), direct)
    }

    /// Probes the controlling terminal. Must run before curses starts: it switches the tty to
    /// raw mode, sends `ESC [ 14 t` then `ESC [ c`, and reads replies until the DA1 answer (which
    /// every terminal sends after any earlier reply) or `timeout` passes.
    public static func probe(timeout: TimeInterval = 0.5,
                             environment: [String: String] = ProcessInfo.processInfo.environment)
        -> TerminalCapabilities
    {
        let color = colorSupport(environment: environment)
        var caps = TerminalCapabilities(
            term: color.term, colorterm: environment["COLORTERM"], colors: color.colors,
            directColor: color.direct, deviceAttributes: nil, sixel: false, rows: 0, columns: 0,
            pixelWidth: nil, pixelHeight: nil)
        let fd = open("/dev/tty", O_RDWR | O_NOCTTY)
        guard fd >= 0 else { return caps }
        defer { close(fd) }

        var size = winsize()
        if ioctl(fd, UInt(TIOCGWINSZ), &size) == 0 {
            caps.rows = Int(size.ws_row)
            caps.columns = Int(size.ws_col)
            if size.ws_xpixel > 0 && size.ws_ypixel > 0 {
                caps.pixelWidth = Int(size.ws_xpixel)
                caps.pixelHeight = Int(size.ws_ypixel)
            }
        }

        var saved = termios()
        guard tcgetattr(fd, &saved) == 0 else { return caps }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 0
            cc[Int(VTIME)] = 0
        }
        tcsetattr(fd, TCSANOW, &raw)
        defer { tcsetattr(fd, TCSANOW, &saved) }

        let query = "\u{1B}[14t\u{1B}[c"
        _ = query.withCString { write(fd, $0, strlen($0)) }
        let reply = readReplies(fd: fd, timeout: timeout)
        let parsed = parseReplies(reply)
        caps.deviceAttributes = parsed.deviceAttributes
        caps.sixel = parsed.sixel
        if caps.pixelWidth == nil, let px = parsed.pixels {
            caps.pixelWidth = px.width
            caps.pixelHeight = px.height
        }
        return caps
    }

    /// Reads bytes until a DA1 reply (`ESC [ ? … c`) is complete or the deadline passes.
    private static func readReplies(fd: Int32, timeout: TimeInterval) -> [UInt8] {
        var bytes: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 256)
        while Date() < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let remaining = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            guard poll(&pfd, 1, remaining) > 0 else { break }
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else { break }
            bytes.append(contentsOf: buffer[0..<n])
            if parseReplies(bytes).deviceAttributes != nil { break }
        }
        return bytes
    }

    /// Parses the terminal's replies: DA1 `ESC [ ? Ps ; … c` and XTWINOPS `ESC [ 4 ; h ; w t`.
    public static func parseReplies(_ bytes: [UInt8]) -> (deviceAttributes: String?, sixel: Bool, pixels: (width: Int, height: Int)?) {
        let text = String(decoding: bytes, as: UTF8.self)
        var da1: String?
        var pixels: (Int, Int)?
        for part in text.components(separatedBy: "\u{1B}[").dropFirst() {
            guard let last = part.last else { continue }
            let body = String(part.dropLast())
            if last == "c", body.hasPrefix("?") {
                da1 = body
            } else if last == "t" {
                let f = body.split(separator: ";").compactMap { Int($0) }
                if f.count == 3, f[0] == 4, f[1] > 0, f[2] > 0 { pixels = (f[2], f[1]) }
            }
        }
        let attributes = da1.map { $0.dropFirst().split(separator: ";").map(String.init) } ?? []
        return (da1, attributes.contains("4"), pixels)
    }
}

/// Versions of the terminal libraries loaded at run time (`segscope doctor`).
public enum TerminalLibraries {
    public static var ncursesVersion: String { String(cString: cterm_curses_version()) }
    public static var sixelVersion: String { String(cString: cterm_sixel_version()) }
}
