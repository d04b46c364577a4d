import Foundation

/// A FIFO between threads, guarded by one condition variable. Producers `push`; consumers `poll`
/// or `pop` (waiting, up to a timeout); `close` ends the stream: a closed queue takes nothing
/// more, and once it is drained `pop` returns nil without waiting.
///
/// With a `capacity`, a push into a full queue either waits for room (`whenFull: .wait`, the
/// loader's prefetch thread) or is refused (`.refuse`, a front that must never freeze). A push
/// may `replace` the newest element a predicate matches, which then moves to the back (steps
/// that coalesce newest-wins).
public final class BlockingQueue<Element>: @unchecked Sendable {
    public enum WhenFull: Sendable { case wait, refuse }

    /// Elements held at most; nil: unbounded.
    public let capacity: Int?
    private let condition = NSCondition()
    private var items: [Element] = []
    private var closed = false
    private var pushedCount = 0, replacedCount = 0, mostWaiting = 0

    public init(capacity: Int? = nil) { self.capacity = capacity.map { max(1, $0) } }

    /// Adds `element` at the back, after removing the newest element `replacing` matches (if
    /// given). False when the queue is closed, or full and `whenFull` is `.refuse`; with `.wait`
    /// it blocks while the queue is full and open.
    @discardableResult
    public func push(_ element: Element, whenFull: WhenFull = .refuse, replacing: ((Element) -> Bool)? = nil) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        if let capacity, whenFull == .wait {
            while items.count >= capacity && !closed { condition.wait() }
        }
        guard !closed else { return false }
        if let replacing, let index = items.lastIndex(where: replacing) {
            items.remove(at: index)
            replacedCount += 1
        }
        if let capacity, items.count >= capacity { return false }
        items.append(element)
        pushedCount += 1
        mostWaiting = max(mostWaiting, items.count)
        condition.broadcast()
        return true
    }

    /// The oldest element, without waiting.
    public func poll() -> Element? {
        condition.lock()
        defer { condition.unlock() }
        return takeFirst()
    }

    /// The oldest element, waiting up to `timeout` seconds (forever when nil) while the queue is
    /// empty and open. Nil on timeout, or once the queue is closed and drained.
    public func pop(timeout: TimeInterval? = nil) -> Element? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = timeout.map { Date().addingTimeInterval($0) }
        while items.isEmpty && !closed {
            if let deadline {
                if !condition.wait(until: deadline) { break }
            } else {
                condition.wait()
            }
        }
        return takeFirst()
    }

    /// Everything waiting, oldest first.
    public func drain() -> [Element] {
        condition.lock()
        defer { condition.unlock() }
        let all = items
        items.removeAll(keepingCapacity: true)
        if !all.isEmpty { condition.broadcast() }
        return all
    }

    /// Takes nothing more and wakes every waiting thread.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    public var isClosed: Bool { locked { closed } }
    /// Elements waiting.
    public var count: Int { locked { items.count } }
    /// Elements accepted so far.
    public var pushed: Int { locked { pushedCount } }
    /// Elements removed by a newer push's `replacing`.
    public var replaced: Int { locked { replacedCount } }
    /// The most elements that were ever waiting at once.
    public var highWater: Int { locked { mostWaiting } }

    /// Call with the lock held.
    private func takeFirst() -> Element? {
        guard !items.isEmpty else { return nil }
        let first = items.removeFirst()
        condition.broadcast()  // room for a producer waiting on a full queue
        return first
    }

    private func locked<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }
}
