import Foundation

/// A minimal PNG encoder for tests (8-bit RGB, stored deflate blocks), so test targets can
/// write masks without depending on the module under test.
public enum PNGWriter {
    /// Encodes `width * height * 3` RGB bytes.
    public static func rgb(width: Int, height: Int, pixels: [UInt8]) -> Data {
        precondition(pixels.count == width * height * 3)
        var raw = [UInt8]()
        raw.reserveCapacity(height * (1 + width * 3))
        for y in 0..<height {
            raw.append(0)  // filter: none
            raw += pixels[(y * width * 3)..<((y + 1) * width * 3)]
        }
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var ihdr = [UInt8]()
        ihdr += bigEndian(UInt32(width)) + bigEndian(UInt32(height))
        ihdr += [8, 2, 0, 0, 0]  // depth 8, colour type 2 (RGB), deflate, filter 0, no interlace
        chunk(&png, "IHDR", ihdr)
        chunk(&png, "IDAT", zlibStored(raw))
        chunk(&png, "IEND", [])
        return png
    }

    /// Encodes `width * height` 16-bit gray samples (colour type 0, depth 16).
    public static func gray16(width: Int, height: Int, samples: [UInt16]) -> Data {
        precondition(samples.count == width * height)
        var raw = [UInt8]()
        for y in 0..<height {
            raw.append(0)
            for v in samples[(y * width)..<((y + 1) * width)] { raw += [UInt8(v >> 8), UInt8(v & 255)] }
        }
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        chunk(&png, "IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [16, 0, 0, 0, 0])
        chunk(&png, "IDAT", zlibStored(raw))
        chunk(&png, "IEND", [])
        return png
    }

    /// An RGB PNG whose header claims `width × height` but holds one row of pixels (a size the
    /// decoder must refuse from the header, without the test writing gigabytes).
    public static func rgbHeaderOnly(width: Int, height: Int) -> Data {
        var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        chunk(&png, "IHDR", bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, 2, 0, 0, 0])
        chunk(&png, "IDAT", zlibStored([0] + [UInt8](repeating: 0, count: width * 3)))
        chunk(&png, "IEND", [])
        return png
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 255), UInt8((v >> 8) & 255), UInt8(v & 255)] }

    static func chunk(_ png: inout Data, _ type: String, _ body: [UInt8]) {
        let typeBytes = Array(type.utf8)
        png.append(contentsOf: bigEndian(UInt32(body.count)))
        png.append(contentsOf: typeBytes)
        png.append(contentsOf: body)
        png.append(contentsOf: bigEndian(crc32(typeBytes + body)))
    }

    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65535, data.count - offset)
            let last: UInt8 = offset + n == data.count ? 1 : 0
            out += [last, UInt8(n & 255), UInt8(n >> 8), UInt8(~n & 255), UInt8((~n >> 8) & 255)]
            out += data[offset..<(offset + n)]
            offset += n
        } while offset < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return out + bigEndian(b << 16 | a)
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
