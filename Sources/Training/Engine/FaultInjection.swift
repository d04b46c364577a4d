import Foundation

/// Testing only (D-146): `SEGSCOPE_FAULT=engine-trap` makes the engine thread trap (a Swift
/// `fatalError`, SIGILL / SIGTRAP) at its first training iteration, so an end-to-end test can
/// check that the terminal front restores the terminal when the engine crashes. Read once; unset
/// (every normal run) it costs one comparison per iteration.
public enum FaultInjection {
    public enum Point: String, Sendable { case engineTrap = "engine-trap" }

    public static let requested: Point? = ProcessInfo.processInfo.environment["SEGSCOPE_FAULT"].flatMap(Point.init(rawValue:))

    /// Traps when `point` is the one requested.
    @inline(__always)
    public static func trigger(_ point: Point) {
        guard requested == point else { return }
        fatalError("SEGSCOPE_FAULT=\(point.rawValue): injected trap in the engine thread (testing only)")
    }
}
