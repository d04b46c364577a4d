import Foundation

/// An engine behind a pair of queues, as a front drives it: commands go into `commands`, events
/// come out of `events`. Training's `TrainingEngine` is one (in this process); a transport to an
/// engine elsewhere is another. The front starts it with `launch` (on its first command) and, at
/// exit, sends `shutdown` and waits with `join`.
public protocol EngineHost: AnyObject, Sendable {
    var commands: CommandQueue { get }
    var events: EventQueue { get }
    /// Starts the engine (idempotent).
    func launch()
    /// Waits up to `timeout` seconds (forever when nil) for the engine to end; false on timeout.
    func join(timeout: TimeInterval?) -> Bool
}
