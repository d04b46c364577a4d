import Foundation

/// Testing only (D-146): `SEGSCOPE_FAULT=engine-trap` makes the engine thread trap (a Swift
/// `fatalError`, SIGILL / SIGTRAP) at its first training iteration, so an end-to-end test can
/// check that the terminal front restores the terminal when the engine crashes;
/// `fuzz-crash` / `fuzz-hang` make the fuzzer's worker trap / hang at case 7, so its tests can
/// check that crashes and hangs are caught and named. Read once; unset (every normal run) it
/// costs one comparison.
public enum FaultInjection {
    public enum Point: String, Sendable {
        case engineTrap = "engine-trap"
        case fuzzCrash = "fuzz-crash"
        case fuzzHang = "fuzz-hang"
    }

    public static let requested: Point? = ProcessInfo.processInfo.environment["SEGSCOPE_FAULT"].flatMap(Point.init(rawValue:))

    /// Traps (or, for `fuzz-hang`, blocks forever) when `point` is the one requested.
    @inline(__always)
    public static func trigger(_ point: Point) {
        guard requested == point else { return }
        if point == .fuzzHang {
            while true { Thread.sleep(forTimeInterval: 3600) }
        }
        fatalError("SEGSCOPE_FAULT=\(point.rawValue): injected trap in the \(point == .engineTrap ? "engine thread" : "fuzz worker") (testing only)")
    }
}
