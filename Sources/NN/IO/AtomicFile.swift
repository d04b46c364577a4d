import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An error from a file-system call, naming the file, the operation and the system's reason.
public struct FileIOError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let operation: String
    /// `errno` of the failed call (0 when the failure is not a system error).
    public let code: Int32
    public let reason: String

    public init(path: String, operation: String, code: Int32, reason: String? = nil) {
        self.path = path
        self.operation = operation
        self.code = code
        self.reason = reason ?? String(cString: strerror(code))
    }

    public var description: String {
        var text = "cannot \(operation) \(path): \(reason)"
        switch code {
        case ENOSPC, EDQUOT: text += " (free some disk space, or point the output elsewhere; earlier files are intact)"
        case EFBIG: text += " (the file-size limit was reached; earlier files are intact)"
        case EACCES, EPERM, EROFS: text += " (choose a writable directory)"
        default: break
        }
        return text
    }
}

/// Writes a file so that readers see either the old content or the complete new content, never
/// a mixture: the bytes go to a temporary file in the same directory, which is flushed to disk
/// (`fsync`) and then renamed over the target; the directory is synced so the rename survives a
/// crash. On any failure the temporary file is removed and the previous file is left untouched.
public enum AtomicFile {
    /// Writes `data` to `url` atomically.
    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { sink in
            try data.withUnsafeBytes { try sink.write($0) }
        }
    }

    /// Streams content into a temporary file through `body`, then renames it to `url`.
    public static func write(to url: URL, _ body: (FileSink) throws -> Void) throws {
        let target = url.path
        let directory = url.deletingLastPathComponent().path
        let template = directory + "/." + url.lastPathComponent + ".tmp-XXXXXX"
        var templateBytes = Array(template.utf8CString)
        let fd = templateBytes.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            throw FileIOError(path: target, operation: "create a temporary file beside", code: errno)
        }
        let temporary = templateBytes.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let sink = FileSink(descriptor: fd, path: target)
        var renamed = false
        defer {
            sink.closeIfOpen()
            if !renamed { unlink(temporary) }
        }
        try body(sink)
        try sink.synchronize()
        // Owner read/write, group/other read (mkstemp creates 0600).
        fchmod(fd, 0o644)
        try sink.close()
        guard rename(temporary, target) == 0 else {
            throw FileIOError(path: target, operation: "rename the finished temporary file to", code: errno)
        }
        renamed = true
        let dirfd = open(directory, O_RDONLY)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }
}

/// A file descriptor that reports every failed write as a `FileIOError` naming `path`.
public final class FileSink {
    private var descriptor: Int32
    /// The path named in errors (the final target, not the temporary file).
    public let path: String
    /// Bytes written so far.
    public private(set) var bytesWritten = 0

    /// Takes ownership of an open descriptor.
    public init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    deinit { closeIfOpen() }

    /// Writes all of `bytes`, retrying short writes and `EINTR`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard var base = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let n = Glibc.write(descriptor, base, remaining)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileIOError(path: path, operation: "write", code: errno)
            }
            if n == 0 { throw FileIOError(path: path, operation: "write", code: EIO, reason: "the device accepted no bytes") }
            remaining -= n
            base += n
            bytesWritten += n
        }
    }

    public func write(_ data: Data) throws {
        try data.withUnsafeBytes { try write($0) }
    }

    public func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    /// Flushes the file's data to the disk.
    public func synchronize() throws {
        while fsync(descriptor) != 0 {
            if errno == EINTR { continue }
            // Character devices and pipes cannot be synced; that is not a write failure.
            if errno == EINVAL || errno == EROFS { return }
            throw FileIOError(path: path, operation: "flush to disk", code: errno)
        }
    }

    /// Cuts the file back to `length` bytes (undoing a partial append); false on failure.
    @discardableResult
    public func truncate(to length: Int) -> Bool {
        guard descriptor >= 0 else { return false }
        return ftruncate(descriptor, off_t(length)) == 0
    }

    public func close() throws {
        guard descriptor >= 0 else { return }
        let fd = descriptor
        descriptor = -1
        if Glibc.close(fd) != 0 && errno != EINTR {
            throw FileIOError(path: path, operation: "close", code: errno)
        }
    }

    func closeIfOpen() {
        if descriptor >= 0 {
            _ = Glibc.close(descriptor)
            descriptor = -1
        }
    }
}
