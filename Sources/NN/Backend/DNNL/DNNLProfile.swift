import Foundation

/// Wall time spent in each oneDNN backend entry point (conv forward, batch-norm backward, layout
/// conversions requested by other ops, …), for `segscope bench` per-op breakdowns. Off unless
/// the backend was made with one (`DNNLBackend(options:profile:)`); nested calls (a conversion inside a conv) count once, in the
/// outer entry.
public final class DNNLProfile: @unchecked Sendable {
    public struct Entry: Sendable {
        public var calls: Int
        public var seconds: Double
    }

    private var table: [String: Entry] = [:]
    private let lock = NSLock()
    private var depth = 0

    public init() {}

    /// Entries by total time, largest first.
    public var entries: [(name: String, entry: Entry)] {
        lock.lock(); defer { lock.unlock() }
        return table.map { ($0.key, $0.value) }.sorted { $0.entry.seconds > $1.entry.seconds }
    }

    public var totalSeconds: Double { entries.reduce(0) { $0 + $1.entry.seconds } }

    public func reset() { lock.lock(); table = [:]; lock.unlock() }

    func measure<T>(_ name: @autoclosure () -> String, _ body: () -> T) -> T {
        lock.lock(); depth += 1; let outer = depth == 1; lock.unlock()
        let start = DispatchTime.now().uptimeNanoseconds
        let result = body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        lock.lock()
        depth -= 1
        if outer {
            let key = name()
            var e = table[key] ?? Entry(calls: 0, seconds: 0)
            e.calls += 1
            e.seconds += seconds
            table[key] = e
        }
        lock.unlock()
        return result
    }
}

extension DNNLBackend {
    /// Runs `body`, timed under `name` when profiling.
    @inline(__always)
    func measured<T>(_ name: @autoclosure () -> String, _ body: () -> T) -> T {
        guard let profile else { return body() }
        return profile.measure(name(), body)
    }
}
