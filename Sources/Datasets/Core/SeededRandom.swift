/// A small, fast, seedable random generator (SplitMix64, Steele et al. 2014). Every random
/// choice in Datasets (demo images, transforms, shuffles) draws from one of these, seeded from
/// the user's seed and the item's position, so results do not depend on thread timing.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A generator for one item of a stream: the same (seed, keys…) always gives the same sequence.
    public init(seed: UInt64, _ keys: UInt64...) {
        var s = seed
        for key in keys { s = SeededRandom.mix(s ^ SeededRandom.mix(key &+ 0x9E37_79B9_7F4A_7C15)) }
        state = s
    }

    @inline(__always) static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always) public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    @inline(__always) public mutating func unit() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Uniform in [low, high).
    @inline(__always) public mutating func uniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * unit() }

    /// Uniform integer in `range`.
    @inline(__always) public mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }

    /// true with probability `p`.
    @inline(__always) public mutating func chance(_ p: Float) -> Bool { unit() < p }
}
