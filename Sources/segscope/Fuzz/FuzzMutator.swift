import Foundation

/// SplitMix64 (Steele, Lea, Flood 2014): the fuzzer's only source of randomness, so a case is
/// reproduced from (target, seed, index) alone.
struct FuzzRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0 ..< n` (n > 0).
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }
}

/// Byte- and token-level mutations of a seed input (AFL's havoc stage in spirit: bit flips,
/// interesting values, block deletion / insertion / duplication, truncation, splicing; plus
/// number and punctuation replacements for text formats and chunk CRC repair for PNG).
enum FuzzMutator {
    static let interesting8: [UInt8] = [0, 1, 0x7F, 0x80, 0xFF, 0x10, 0x20, 0x40]
    static let interesting32: [UInt32] = [0, 1, 2, 0x7F, 0xFF, 0x100, 0xFFFF, 0x1_0000, 0x4000, 0x8000, 1 << 28, 1 << 30,
                                          0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFE, 0xFFFF_FFFF]
    static let numbers = ["-1", "0", "-0", "1", "2", "255", "256", "65535", "65536", "4096", "1e309", "-1e309", "1e-400", "NaN", "nan",
                          "inf", "-inf", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "18446744073709551616",
                          "0x10", "1_000", "3.", ".5", "1e5", "2147483648", "4294967296", "0.0000001", "99999999999999999999999"]
    static let tokens = ["\"", "'", "[", "]", "{", "}", "=", ",", ":", "\n", "#", "\\", "\\u0000", "\\ud800", "\u{FEFF}", "ü", "null",
                         "true", "false", "[[", "'''", "\"\"\"", " ", "\t", "\r\n", "x", "=\"\"", "[]", "{}", "0x", "-", "+", ".", "e"]
    static let strings = ["", "../../etc/passwd", "/", "/nonexistent/dir", String(repeating: "A", count: 5000), "\u{0}", "ü∂ł",
                          "x=y", "\"", "train", "val", "unet", "xunet", "fcn-resnet18", "sgd", "slide", "whole", "none", "160x160",
                          "0x0", "-1x-1", "99999x99999", "1x1", "64"]

    /// `seed` mutated 1…8 times (fewer more often); `others` feed splicing.
    static func mutate(_ seed: Data, others: [Data], text: Bool, png: Bool, random: inout FuzzRandom) -> Data {
        var bytes = [UInt8](seed)
        let rounds = 1 + min(random.below(8), random.below(8))
        for _ in 0..<rounds {
            if text && random.chance(0.5) {
                textMutation(&bytes, random: &random)
            } else {
                byteMutation(&bytes, others: others, random: &random)
            }
        }
        if png && random.chance(0.7) { repairPNGChecksums(&bytes) }
        return Data(bytes)
    }

    static func byteMutation(_ bytes: inout [UInt8], others: [Data], random: inout FuzzRandom) {
        if bytes.isEmpty {
            bytes = (0..<(1 + random.below(16))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            return
        }
        let n = bytes.count
        switch random.below(11) {
        case 0:
            bytes[random.below(n)] ^= UInt8(1 << random.below(8))
        case 1:
            bytes[random.below(n)] = random.pick(interesting8)
        case 2:
            bytes[random.below(n)] = UInt8(truncatingIfNeeded: random.next())
        case 3:
            // A 32-bit value, big-endian (PNG / JPEG fields) or little-endian.
            let v = random.chance(0.8) ? random.pick(interesting32) : UInt32(truncatingIfNeeded: random.next())
            let at = random.below(n)
            let le = random.chance(0.3)
            for k in 0..<4 where at + k < n {
                let shift = le ? 8 * k : 8 * (3 - k)
                bytes[at + k] = UInt8(truncatingIfNeeded: v >> UInt32(shift))
            }
        case 4:
            // A 64-bit little-endian value at the start (safetensors' header length) or anywhere.
            let values: [UInt64] = [0, 1, 2, UInt64(n), UInt64(max(n, 8) - 8), UInt64(n) + 1, 1 << 32, 1 << 62, UInt64.max, random.next()]
            let v = random.pick(values)
            let at = random.chance(0.5) ? 0 : random.below(n)
            for k in 0..<8 where at + k < n { bytes[at + k] = UInt8(truncatingIfNeeded: v >> UInt64(8 * k)) }
        case 5:
            let start = random.below(n), length = 1 + random.below(min(n - start, 64))
            bytes.removeSubrange(start..<(start + length))
        case 6:
            let at = random.below(n + 1)
            bytes.insert(contentsOf: (0..<(1 + random.below(32))).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: at)
        case 7:
            let start = random.below(n), length = 1 + random.below(min(n - start, 256))
            let block = Array(bytes[start..<(start + length)])
            bytes.insert(contentsOf: block, at: random.below(n + 1))
        case 8:
            bytes.removeSubrange(random.below(n)..<n)
        case 9:
            if let other = others.isEmpty ? nil : random.pick(others), !other.isEmpty {
                let cut = random.below(n), from = random.below(other.count)
                bytes = Array(bytes[..<cut]) + Array(other[other.index(other.startIndex, offsetBy: from)...])
            }
        default:
            // Repeat a byte run (long lines, long numbers).
            let at = random.below(n)
            bytes.insert(contentsOf: [UInt8](repeating: bytes[at], count: 1 + random.below(300)), at: at)
        }
    }

    static func textMutation(_ bytes: inout [UInt8], random: inout FuzzRandom) {
        var text = String(decoding: bytes, as: UTF8.self)
        let scalars = Array(text.unicodeScalars)
        switch random.below(4) {
        case 0:
            // Replace a number with an interesting one.
            let digits = scalars.indices.filter { CharacterSet.decimalDigits.contains(scalars[$0]) }
            guard let at = digits.isEmpty ? nil : random.pick(digits) else { fallthrough }
            var start = at, end = at
            while start > 0 && "0123456789.-+eE_".unicodeScalars.contains(scalars[start - 1]) { start -= 1 }
            while end + 1 < scalars.count && "0123456789.-+eE_".unicodeScalars.contains(scalars[end + 1]) { end += 1 }
            text = String(String.UnicodeScalarView(scalars[..<start])) + random.pick(numbers) + String(String.UnicodeScalarView(scalars[(end + 1)...]))
        case 1:
            let at = random.below(scalars.count + 1)
            text = String(String.UnicodeScalarView(scalars[..<at])) + random.pick(tokens) + String(String.UnicodeScalarView(scalars[at...]))
        case 2:
            // Replace the contents of a quoted string.
            let quotes = scalars.indices.filter { scalars[$0] == "\"" }
            guard quotes.count >= 2 else { fallthrough }
            let i = random.below(quotes.count - 1)
            let (a, b) = (quotes[i], quotes[i + 1])
            text = String(String.UnicodeScalarView(scalars[...a])) + random.pick(strings) + String(String.UnicodeScalarView(scalars[b...]))
        default:
            // Drop a line or duplicate one.
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            guard !lines.isEmpty else { return }
            let i = random.below(lines.count)
            if random.chance(0.5) { lines.remove(at: i) } else { lines.insert(lines[i], at: random.below(lines.count + 1)) }
            text = lines.joined(separator: "\n")
        }
        bytes = Array(text.utf8)
    }

    /// Recomputes the CRC of every PNG chunk whose length fits, so mutations reach the decoder
    /// behind libpng's checksum test.
    static func repairPNGChecksums(_ bytes: inout [UInt8]) {
        var at = 8
        while at + 12 <= bytes.count {
            let length = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            guard length >= 0, at + 12 + length <= bytes.count else { return }
            let crc = crc32(bytes[(at + 4)..<(at + 8 + length)])
            for k in 0..<4 { bytes[at + 8 + length + k] = UInt8(truncatingIfNeeded: crc >> UInt32(8 * (3 - k))) }
            at += 12 + length
        }
    }

    static let crcTable: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
