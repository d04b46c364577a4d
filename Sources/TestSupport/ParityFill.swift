import Foundation
import NN

/// The name-seeded weight formula of `scripts/golden/models_golden.py`, bit for bit:
///
///     h = FNV-1a-32(name);  x = lowbias32(h + (i + 1)·0x9E3779B1);  u = (x >> 8) / 2^24 · 2 − 1
///     value = offset + scale · u      (Float32 arithmetic)
public enum ParityFill {
    public static func fnv1a32(_ text: String) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for b in text.utf8 {
            h ^= UInt32(b)
            h = h &* 16_777_619
        }
        return h
    }

    @inline(__always)
    public static func unit(_ h: UInt32, _ i: Int) -> Float {
        var x = UInt32(truncatingIfNeeded: UInt64(i + 1) &* 0x9E37_79B1) &+ h
        x ^= x >> 16
        x = x &* 0x7FEB_352D
        x ^= x >> 15
        x = x &* 0x846C_A68B
        x ^= x >> 16
        return Float(x >> 8) / 16_777_216 * 2 - 1
    }

    public static func fill(_ p: UnsafeMutablePointer<Float>, count: Int, name: String, offset: Float, scale: Float) {
        let h = fnv1a32(name)
        for i in 0..<count { p[i] = offset + scale * unit(h, i) }
    }

    public static func values(_ name: String, count: Int, offset: Float = 0, scale: Float = 1) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buf, n in
            fill(buf.baseAddress!, count: count, name: name, offset: offset, scale: scale)
            n = count
        }
    }

    /// One state-dict entry of a generator's JSON: `[name, shape, offset, scale]`, offset and
    /// scale null for entries left at zero (`num_batches_tracked`).
    public struct Spec: Decodable, Sendable {
        public var name: String
        public var shape: [Int]
        public var offset: Double?
        public var scale: Double?

        public init(from decoder: Decoder) throws {
            var c = try decoder.unkeyedContainer()
            name = try c.decode(String.self)
            shape = try c.decode([Int].self)
            offset = try c.decodeIfPresent(Double.self)
            scale = try c.decodeIfPresent(Double.self)
        }
    }

    /// Writes the filled state dict as a safetensors file (F32, the specs' order): the weights
    /// a generator's model had, without committing them.
    public static func writeWeights(_ specs: [Spec], to url: URL) throws {
        let tensors = specs.map { spec in
            let count = spec.shape.reduce(1, *)
            let filled = spec.offset.map { values(spec.name, count: count, offset: Float($0), scale: Float(spec.scale ?? 0)) }
                ?? [Float](repeating: 0, count: count)
            return SafetensorsTensor(name: spec.name, shape: spec.shape, values: filled)
        }
        try Safetensors.write(tensors, metadata: ["format": "pt"], to: url)
    }
}
