import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A socket error naming the path and the call that failed.
public struct SocketError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var code: Int32

    public init(path: String, operation: String, code: Int32) {
        self.path = path
        self.operation = operation
        self.code = code
    }

    public var description: String { "\(path): cannot \(operation): \(String(cString: strerror(code)))" }
}

/// Unix-domain stream sockets: listen, accept, connect, and a line reader. Blocking calls on
/// threads of their own (a run has a handful of viewers); writes never raise SIGPIPE.
public enum UnixSocket {
    /// `sun_path` holds 108 bytes; a longer path (deep temporary directories) is reached through
    /// `/proc/self/fd/<directory fd>/<name>`, which Linux resolves like the path itself. The
    /// closure gets the address; the directory stays open while it runs.
    static func withAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) throws -> T {
        var target = path
        var dirFD: Int32 = -1
        defer { if dirFD >= 0 { close(dirFD) } }
        let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        if target.utf8.count >= capacity {
            let directory = (path as NSString).deletingLastPathComponent
            dirFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard dirFD >= 0 else { throw SocketError(path: path, operation: "open its directory", code: errno) }
            target = "/proc/self/fd/\(dirFD)/\((path as NSString).lastPathComponent)"
            guard target.utf8.count < capacity else { throw SocketError(path: path, operation: "use a name this long", code: ENAMETOOLONG) }
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.initializeMemory(as: UInt8.self, repeating: 0)
            for (i, byte) in target.utf8.enumerated() { raw[i] = byte }
        }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// A listening socket at `path`, readable and writable by the owner only (`mode`): the file's
    /// permissions are who may connect (D-202). A socket file left by a dead process is replaced;
    /// one a live process answers on is an error.
    public static func listen(at path: String, mode: mode_t = 0o600) throws -> Int32 {
        if FileManager.default.fileExists(atPath: path) {
            if let probe = try? connect(to: path) {
                close(probe)
                throw SocketError(path: path, operation: "listen (another process serves this run)", code: EADDRINUSE)
            }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(path: path, operation: "create a socket", code: errno) }
        // The file is created with the process umask; narrow it before anyone can connect.
        let oldMask = umask(0o777 & ~mode)
        let bound = try withAddress(path) { bind(fd, $0, $1) }
        let bindErrno = errno
        umask(oldMask)
        guard bound == 0 else {
            close(fd)
            throw SocketError(path: path, operation: "bind", code: bindErrno)
        }
        chmod(path, mode)
        guard Glibc.listen(fd, 16) == 0 else {
            let code = errno
            close(fd)
            unlink(path)
            throw SocketError(path: path, operation: "listen", code: code)
        }
        return fd
    }

    /// A connected socket to the server at `path`.
    public static func connect(to path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SocketError(path: path, operation: "create a socket", code: errno) }
        let result = try withAddress(path) { Glibc.connect(fd, $0, $1) }
        guard result == 0 else {
            let code = errno
            close(fd)
            throw SocketError(path: path, operation: "connect", code: code)
        }
        return fd
    }

    /// Writes all of `text` + "\n"; false when the peer is gone.
    @discardableResult
    public static func writeLine(_ fd: Int32, _ text: String) -> Bool {
        var data = Array(text.utf8)
        data.append(UInt8(ascii: "\n"))
        var offset = 0
        while offset < data.count {
            let n = data.withUnsafeBytes { send(fd, $0.baseAddress! + offset, data.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }
}

/// Reads newline-terminated lines from a file descriptor. A line longer than `limit` bytes is
/// returned cut at the limit with `truncated` set (the rest, up to its newline, is skipped), so a
/// peer cannot make the reader hold unbounded memory. One thread reads it at a time.
public final class LineReader: @unchecked Sendable {
    public let fd: Int32
    public let limit: Int
    private var buffer: [UInt8] = []
    /// Bytes of `buffer` already searched for a newline.
    private var scanned = 0
    private var skipping = false

    public init(fd: Int32, limit: Int = 1 << 20) {
        self.fd = fd
        self.limit = limit
    }

    public struct Line: Sendable {
        public var text: String
        public var truncated: Bool
    }

    /// The next line (without its newline), or nil at end of stream or on an error. A last line
    /// without a newline at end of stream is returned.
    public func next() -> Line? {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let newline = buffer[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
                let bytes = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                scanned = 0
                if skipping {
                    skipping = false
                    continue
                }
                if bytes.count > limit {
                    return Line(text: String(decoding: bytes.prefix(limit), as: UTF8.self), truncated: true)
                }
                return Line(text: String(decoding: bytes, as: UTF8.self), truncated: false)
            }
            scanned = buffer.count
            if buffer.count > limit {
                let bytes = Array(buffer.prefix(limit))
                buffer.removeAll()
                scanned = 0
                let wasSkipping = skipping
                skipping = true
                if !wasSkipping { return Line(text: String(decoding: bytes, as: UTF8.self), truncated: true) }
                continue
            }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                guard !buffer.isEmpty, !skipping else { return nil }
                let bytes = buffer
                buffer.removeAll()
                scanned = 0
                return Line(text: String(decoding: bytes, as: UTF8.self), truncated: false)
            }
            buffer.append(contentsOf: chunk[..<n])
        }
    }
}
