import Foundation
import Queues

/// Commands from a front to the engine: a bounded FIFO. Sending never blocks; when the queue is
/// full (the engine is not reading, e.g. it is stuck in a long evaluation) `send` returns false so
/// the front can say so instead of freezing.
public final class CommandQueue: Sendable {
    private let queue: BlockingQueue<EngineCommand>
    public var capacity: Int { queue.capacity ?? .max }

    public init(capacity: Int = 256) { queue = BlockingQueue(capacity: capacity) }

    /// Enqueues a command; false when the queue is full or closed.
    @discardableResult
    public func send(_ command: EngineCommand) -> Bool { queue.push(command, whenFull: .refuse) }

    /// The oldest command, without waiting.
    public func poll() -> EngineCommand? { queue.poll() }

    /// The oldest command, waiting up to `timeout` seconds (forever when nil). Nil on timeout or
    /// when the queue is closed and empty.
    public func wait(timeout: TimeInterval? = nil) -> EngineCommand? { queue.pop(timeout: timeout) }

    public var count: Int { queue.count }

    /// Refuses further commands and wakes a waiting engine.
    public func close() { queue.close() }
}

/// Events from the engine to a front. Posting never blocks and never waits for the consumer:
///
/// - step events coalesce newest-wins: at most one is pending; a newer one replaces it (and moves
///   to the back, so a consumer sees `evaluation(at 100)` before the step after it);
/// - every other event (evaluation, checkpoint, warning, failure, state, …) is kept in order and
///   never dropped. These come a few per evaluation, so their number is bounded by the run's
///   evaluations; `pendingHighWater` reports the most that were ever waiting, and
///   `softCapacity` only marks when the consumer is considered stalled (`isBacklogged`).
public final class EventQueue: Sendable {
    private let queue = BlockingQueue<EngineEvent>()
    public let softCapacity: Int

    /// Events posted so far.
    public var posted: Int { queue.pushed }
    /// Step events replaced by a newer one before the consumer took them.
    public var coalesced: Int { queue.replaced }
    /// The largest number of events that were ever waiting at once.
    public var pendingHighWater: Int { queue.highWater }

    public init(softCapacity: Int = 1024) { self.softCapacity = max(1, softCapacity) }

    /// Adds an event (ignored once closed); O(pending) at worst, never blocks on the consumer.
    public func post(_ event: EngineEvent) {
        queue.push(event, replacing: event.isCoalescible ? { $0.isCoalescible } : nil)
    }

    /// The next event, without waiting.
    public func poll() -> EngineEvent? { queue.poll() }

    /// The next event, waiting up to `timeout` seconds (forever when nil); nil on timeout or once
    /// the queue is closed and drained.
    public func next(timeout: TimeInterval? = nil) -> EngineEvent? { queue.pop(timeout: timeout) }

    /// Everything pending, oldest first.
    public func drain() -> [EngineEvent] { queue.drain() }

    public var count: Int { queue.count }

    /// More events are waiting than `softCapacity`: the consumer is not keeping up.
    public var isBacklogged: Bool { count > softCapacity }

    /// The producer is done: consumers drain what is left, then `next` returns nil.
    public func close() { queue.close() }

    public var isClosed: Bool { queue.isClosed }
}
