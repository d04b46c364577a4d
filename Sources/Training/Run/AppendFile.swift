import Foundation
import NN
#if canImport(Glibc)
import Glibc
#endif

/// An append-only log file (`metrics.jsonl`, the TensorBoard event file). Appends are buffered
/// in memory and written + synced by `flush()` (at every evaluation and at the end of a run).
/// A crash or a full disk can lose or cut only the records after the last flush; everything
/// flushed before stays intact. (Rewriting a growing log through temp + rename at every flush
/// would cost O(n²); appending keeps the earlier bytes untouched, which is what matters.)
public final class AppendFile {
    public let url: URL
    private let sink: FileSink
    private var pending = Data()
    /// Bytes on disk after the last successful flush.
    public private(set) var flushedBytes = 0

    public init(url: URL) throws {
        self.url = url
        let fd = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileIOError(path: url.path, operation: "open for appending", code: errno) }
        sink = FileSink(descriptor: fd, path: url.path)
        var st = stat()
        if fstat(fd, &st) == 0 { flushedBytes = Int(st.st_size) }
    }

    public func append(_ data: Data) { pending.append(data) }

    public func append(line: String) { pending.append(Data((line + "\n").utf8)) }

    /// Bytes appended but not yet flushed.
    public var pendingBytes: Int { pending.count }

    /// Writes the pending bytes and syncs them. On failure the pending bytes are kept (a later
    /// flush retries) and the file is cut back to its last flushed length, so it never ends in a
    /// torn record.
    public func flush() throws {
        guard !pending.isEmpty else { return }
        do {
            try sink.write(pending)
            try sink.synchronize()
        } catch {
            _ = sink.truncate(to: flushedBytes)
            throw error
        }
        flushedBytes += pending.count
        pending.removeAll(keepingCapacity: true)
    }

    public func close() throws {
        try flush()
        try sink.close()
    }
}
