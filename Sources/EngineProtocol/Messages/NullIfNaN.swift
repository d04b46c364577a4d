import Foundation

// JSON has no NaN or infinity. Figures that can be undefined (the mIoU of an image without
// labelled pixels, a loss that diverged) are written as `null` and read back as NaN; the wrappers
// below carry that rule, so message types keep synthesized `Codable` and `Equatable` (where NaN
// equals NaN: a message read back equals the one written).

/// A `Double` written as `null` when it is not finite, read as NaN from `null` or a missing key.
@propertyWrapper
public struct NullIfNaN: Sendable, Codable, Equatable {
    public var wrappedValue: Double

    public init(wrappedValue: Double) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        wrappedValue = c.decodeNil() ? .nan : try c.decode(Double.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if wrappedValue.isFinite { try c.encode(wrappedValue) } else { try c.encodeNil() }
    }

    public static func == (a: NullIfNaN, b: NullIfNaN) -> Bool { sameFigure(a.wrappedValue, b.wrappedValue) }
}

/// `[Double]` whose non-finite elements are written as `null` and read back as NaN.
@propertyWrapper
public struct NullIfNaNElements: Sendable, Codable, Equatable {
    public var wrappedValue: [Double]

    public init(wrappedValue: [Double]) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws {
        wrappedValue = try decoder.singleValueContainer().decode([Double?].self).map { $0 ?? .nan }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(wrappedValue.map { $0.isFinite ? $0 : nil })
    }

    public static func == (a: NullIfNaNElements, b: NullIfNaNElements) -> Bool {
        a.wrappedValue.count == b.wrappedValue.count && zip(a.wrappedValue, b.wrappedValue).allSatisfy(sameFigure)
    }
}

/// An optional `Double` whose key is left out when it is nil or not finite (read back as nil).
@propertyWrapper
public struct OmittedIfNotFinite: Sendable, Codable, Equatable {
    public var wrappedValue: Double?

    public init(wrappedValue: Double?) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        wrappedValue = c.decodeNil() ? nil : try c.decode(Double.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if let v = wrappedValue, v.isFinite { try c.encode(v) } else { try c.encodeNil() }
    }

    public static func == (a: OmittedIfNotFinite, b: OmittedIfNotFinite) -> Bool {
        switch (a.wrappedValue, b.wrappedValue) {
        case (nil, nil): return true
        case let (x?, y?): return sameFigure(x, y)
        default: return false
        }
    }
}

/// Equal, or both NaN.
func sameFigure(_ x: Double, _ y: Double) -> Bool { x == y || (x.isNaN && y.isNaN) }

// Synthesized `Codable` calls these for wrapped properties: a missing key reads as `null` does,
// and `OmittedIfNotFinite` writes no key at all instead of `null`.
extension KeyedDecodingContainer {
    public func decode(_ type: NullIfNaN.Type, forKey key: Key) throws -> NullIfNaN {
        try decodeIfPresent(type, forKey: key) ?? NullIfNaN(wrappedValue: .nan)
    }

    public func decode(_ type: OmittedIfNotFinite.Type, forKey key: Key) throws -> OmittedIfNotFinite {
        try decodeIfPresent(type, forKey: key) ?? OmittedIfNotFinite(wrappedValue: nil)
    }
}

extension KeyedEncodingContainer {
    public mutating func encode(_ value: OmittedIfNotFinite, forKey key: Key) throws {
        guard let v = value.wrappedValue, v.isFinite else { return }
        try encode(v, forKey: key)
    }
}
