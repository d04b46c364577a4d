import Foundation

/// Commands from a front to the engine: a bounded FIFO. Sending never blocks; when the queue is
/// full (the engine is not reading, e.g. it is stuck in a long evaluation) `send` returns false so
/// the front can say so instead of freezing.
public final class CommandQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [EngineCommand] = []
    private var closed = false
    public let capacity: Int

    public init(capacity: Int = 256) { self.capacity = max(1, capacity) }

    /// Enqueues a command; false when the queue is full or closed.
    @discardableResult
    public func send(_ command: EngineCommand) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !closed, items.count < capacity else { return false }
        items.append(command)
        condition.signal()
        return true
    }

    /// The oldest command, without waiting.
    public func poll() -> EngineCommand? {
        condition.lock()
        defer { condition.unlock() }
        return items.isEmpty ? nil : items.removeFirst()
    }

    /// The oldest command, waiting up to `timeout` seconds (forever when nil). Nil on timeout or
    /// when the queue is closed and empty.
    public func wait(timeout: TimeInterval? = nil) -> EngineCommand? {
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
        return items.isEmpty ? nil : items.removeFirst()
    }

    public var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return items.count
    }

    /// Refuses further commands and wakes a waiting engine.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }
}

/// Events from the engine to a front. Posting never blocks and never waits for the consumer:
///
/// - step events coalesce newest-wins: at most one is pending; a newer one replaces it (and moves
///   to the back, so a consumer sees `evaluation(at 100)` before the step after it);
/// - every other event (evaluation, checkpoint, warning, failure, state, …) is kept in order and
///   never dropped. These come a few per evaluation, so their number is bounded by the run's
///   evaluations; `pendingHighWater` reports the most that were ever waiting, and
///   `softCapacity` only marks when the consumer is considered stalled (`isBacklogged`).
public final class EventQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [EngineEvent] = []
    private var pendingStep: Int?  // index in `items`
    private var closed = false
    public let softCapacity: Int

    private var postedCount = 0
    private var coalescedCount = 0
    private var highWater = 0

    /// Events posted so far.
    public var posted: Int { locked { postedCount } }
    /// Step events replaced by a newer one before the consumer took them.
    public var coalesced: Int { locked { coalescedCount } }
    /// The largest number of events that were ever waiting at once.
    public var pendingHighWater: Int { locked { highWater } }

    private func locked<T>(_ body: () -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body()
    }

    public init(softCapacity: Int = 1024) { self.softCapacity = max(1, softCapacity) }

    /// Adds an event; O(pending) at worst, never blocks on the consumer.
    public func post(_ event: EngineEvent) {
        condition.lock()
        defer { condition.unlock() }
        guard !closed else { return }
        postedCount += 1
        if event.isCoalescible {
            if let index = pendingStep {
                items.remove(at: index)
                coalescedCount += 1
            }
            pendingStep = items.count
        }
        items.append(event)
        highWater = max(highWater, items.count)
        condition.signal()
    }

    private func popLocked() -> EngineEvent? {
        guard !items.isEmpty else { return nil }
        let event = items.removeFirst()
        if let index = pendingStep { pendingStep = index == 0 ? nil : index - 1 }
        return event
    }

    /// The next event, without waiting.
    public func poll() -> EngineEvent? {
        condition.lock()
        defer { condition.unlock() }
        return popLocked()
    }

    /// The next event, waiting up to `timeout` seconds (forever when nil); nil on timeout or once
    /// the queue is closed and drained.
    public func next(timeout: TimeInterval? = nil) -> EngineEvent? {
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
        return popLocked()
    }

    /// Everything pending, oldest first.
    public func drain() -> [EngineEvent] {
        condition.lock()
        defer { condition.unlock() }
        let all = items
        items.removeAll(keepingCapacity: true)
        pendingStep = nil
        return all
    }

    public var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return items.count
    }

    /// More events are waiting than `softCapacity`: the consumer is not keeping up.
    public var isBacklogged: Bool { count > softCapacity }

    /// The producer is done: consumers drain what is left, then `next` returns nil.
    public func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    public var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed
    }
}
