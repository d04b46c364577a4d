import Foundation

/// A seeded random generator (xoshiro256**, seeded through SplitMix64) whose whole state can be
/// saved and restored, so a resumed run draws the same numbers (initializers, dropout, shuffles).
public final class Generator: @unchecked Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)
    private let lock = NSLock()

    public init(seed: UInt64) {
        var x = seed
        func splitmix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(), splitmix(), splitmix(), splitmix())
    }

    /// The shared generator used when none is given (dropout, initializers). Reseed it with
    /// `Generator.default.state = Generator(seed: n).state`.
    public static let `default` = Generator(seed: 0x5E65_C09E)

    /// The four state words; assign a saved value to resume the exact sequence.
    public var state: [UInt64] {
        get { lock.lock(); defer { lock.unlock() }; return [s.0, s.1, s.2, s.3] }
        set {
            require(newValue.count == 4 && newValue.contains { $0 != 0 },
                         "Generator.state needs 4 words, not all zero; got \(newValue)")
            lock.lock(); s = (newValue[0], newValue[1], newValue[2], newValue[3]); lock.unlock()
        }
    }

    @inline(__always)
    private func nextUnlocked() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// A uniformly random 64-bit word.
    public func next() -> UInt64 { lock.lock(); defer { lock.unlock() }; return nextUnlocked() }

    /// Uniform in [0, 1) with 53 random bits.
    public func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform integer in `0..<n`.
    public func int(below n: Int) -> Int {
        require(n > 0, "Generator.int(below:) needs a positive bound, got \(n)")
        return Int(next() % UInt64(n))
    }

    /// Fills `count` floats with uniform values in [low, high).
    public func fillUniform(_ p: UnsafeMutablePointer<Float>, count: Int, low: Float, high: Float) {
        lock.lock(); defer { lock.unlock() }
        let span = Double(high - low)
        for i in 0..<count { p[i] = low + Float(Double(nextUnlocked() >> 11) * 0x1.0p-53 * span) }
    }

    /// Fills `count` floats with normal values (Box–Muller); with `truncation` values farther than
    /// `truncation·std` from the mean are redrawn (Keras `TruncatedNormal`: 2 std).
    public func fillNormal(_ p: UnsafeMutablePointer<Float>, count: Int, mean: Float = 0, std: Float,
                           truncation: Double? = nil) {
        lock.lock(); defer { lock.unlock() }
        var i = 0
        while i < count {
            let u1 = max(Double(nextUnlocked() >> 11) * 0x1.0p-53, 0x1.0p-60)
            let u2 = Double(nextUnlocked() >> 11) * 0x1.0p-53
            let r = (-2 * Foundation.log(u1)).squareRoot()
            for z in [r * Foundation.cos(2 * Double.pi * u2), r * Foundation.sin(2 * Double.pi * u2)] where i < count {
                if let t = truncation, abs(z) > t { continue }
                p[i] = mean + std * Float(z)
                i += 1
            }
        }
    }
}
