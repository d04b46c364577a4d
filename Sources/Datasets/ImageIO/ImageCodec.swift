import CImageIO
import Foundation

/// The pixel layout a PNG stores.
public enum PNGKind: Sendable, Equatable {
    /// Colour type 3: one index per pixel into `palette`.
    case paletted(palette: [RGB])
    /// Colour types 0 and 4 (alpha dropped): one gray value per pixel.
    case gray
    /// Colour types 2 and 6 (alpha dropped): R G B per pixel.
    case rgb
}

/// A decoded PNG: indices, gray values or RGB triples as the file stores them (8 bits each;
/// 16-bit samples scaled, 1/2/4-bit samples unpacked to their raw values).
public struct DecodedPNG: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var kind: PNGKind
    /// Bit depth in the file (1, 2, 4, 8 or 16).
    public var bitDepth: Int
    /// A 16-bit gray PNG whose samples were all ≤ 255 (or 65535, read as 255) and were kept
    /// exactly; false when 16-bit samples were scaled to 8 bits.
    public var exact16Bit = false
    /// `width * height` bytes (paletted, gray) or `width * height * 3` (rgb).
    public var samples: [UInt8]

    /// The PNG colour type as written in the IHDR chunk's class: 3 paletted, 0 gray, 2 RGB.
    public var channels: Int { kind == .rgb ? 3 : 1 }

    /// The pixels as RGB (palette looked up; gray replicated; indices outside the palette black).
    public func rgbImage() -> RGBImage {
        let n = width * height
        var out = [UInt8](repeating: 0, count: n * 3)
        switch kind {
        case .rgb:
            out = samples
        case .gray:
            let scale = bitDepth < 8 ? 255 / ((1 << bitDepth) - 1) : 1
            for i in 0..<n {
                let v = UInt8(truncatingIfNeeded: Int(samples[i]) * scale)
                out[3 * i] = v
                out[3 * i + 1] = v
                out[3 * i + 2] = v
            }
        case .paletted(let palette):
            for i in 0..<n {
                let index = Int(samples[i])
                guard index < palette.count else { continue }
                let c = palette[index]
                out[3 * i] = c.r
                out[3 * i + 1] = c.g
                out[3 * i + 2] = c.b
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}

/// Size and kind of an image file, read from its header only.
public struct ImageHeader: Sendable, Equatable {
    public enum Format: String, Sendable { case jpeg, png }
    public var format: Format
    public var width: Int
    public var height: Int

    public init(format: Format, width: Int, height: Int) {
        self.format = format
        self.width = width
        self.height = height
    }
}

/// JPEG and PNG decoding and encoding through libjpeg-turbo and libpng (via `CImageIO`).
///
/// Every failure is an `ImageIOError` naming the file and carrying the decoder's message; a
/// truncated or corrupt file never yields a partial image.
public enum ImageCodec {
    // MARK: Decoding

    /// Decodes a JPEG or PNG file (sniffed from its first bytes) to RGB. `scaleDenominator`
    /// 2, 4 or 8 decodes a JPEG at that fraction of its size (cheap previews); PNGs ignore it.
    public static func readRGB(_ url: URL, scaleDenominator: Int = 1) throws -> RGBImage {
        let data = try readFile(url)
        if isJPEG(data) { return try decodeJPEG(data, path: url.path, scaleDenominator: scaleDenominator) }
        if isPNG(data) { return try decodePNG(data, path: url.path).rgbImage() }
        throw ImageIOError(path: url.path, operation: "decode image", message: "neither a JPEG nor a PNG file")
    }

    /// Decodes a PNG file as stored (indices + palette, gray, or RGB).
    public static func readPNG(_ url: URL) throws -> DecodedPNG {
        try decodePNG(try readFile(url), path: url.path)
    }

    /// Reads width, height and format from the file's header without decoding pixels.
    public static func readHeader(_ url: URL) throws -> ImageHeader {
        let data = try readFile(url)
        var image = cimg_image()
        var message = [CChar](repeating: 0, count: Int(CIMG_ERROR_SIZE))
        let format: ImageHeader.Format
        let status: Int32
        if isJPEG(data) {
            format = .jpeg
            status = data.withUnsafeBytes { cimg_jpeg_info(bytes($0), $0.count, &image, &message) }
        } else if isPNG(data) {
            format = .png
            status = data.withUnsafeBytes { cimg_png_info(bytes($0), $0.count, &image, &message) }
        } else {
            throw ImageIOError(path: url.path, operation: "read image header", message: "neither a JPEG nor a PNG file")
        }
        try check(status, message, path: url.path, operation: "read \(format.rawValue.uppercased()) header")
        return ImageHeader(format: format, width: Int(image.width), height: Int(image.height))
    }

    /// Decodes a JPEG or PNG file to RGB like `readRGB`, with the decoder's recoverable warnings
    /// (libjpeg's "Corrupt JPEG data: … extraneous bytes", counted), each naming the file.
    public static func readRGBReportingWarnings(_ url: URL) throws -> (image: RGBImage, warnings: [String]) {
        let data = try readFile(url)
        if isJPEG(data) {
            let (image, count, first) = try decodeJPEGWithWarnings(data, path: url.path, scaleDenominator: 1)
            guard count > 0 else { return (image, []) }
            let more = count > 1 ? " (and \(count - 1) more decoder warning\(count > 2 ? "s" : ""))" : ""
            return (image, ["\(url.path): libjpeg warning: \(first)\(more); the image decoded, but some pixels may be wrong "
                            + "(re-save or re-download the file)"])
        }
        if isPNG(data) { return (try decodePNG(data, path: url.path).rgbImage(), []) }
        throw ImageIOError(path: url.path, operation: "decode image", message: "neither a JPEG nor a PNG file")
    }

    /// Decodes JPEG bytes to RGB. `scaleDenominator` 2, 4 or 8 decodes at that fraction of the size.
    public static func decodeJPEG(_ data: Data, path: String, scaleDenominator: Int = 1) throws -> RGBImage {
        try decodeJPEGWithWarnings(data, path: path, scaleDenominator: scaleDenominator).image
    }

    static func decodeJPEGWithWarnings(_ data: Data, path: String, scaleDenominator: Int) throws
        -> (image: RGBImage, warnings: Int, first: String) {
        var image = cimg_image()
        var message = [CChar](repeating: 0, count: Int(CIMG_ERROR_SIZE))
        let status = data.withUnsafeBytes {
            cimg_jpeg_decode(bytes($0), $0.count, Int32(scaleDenominator), &image, &message)
        }
        try check(status, message, path: path, operation: "decode JPEG")
        defer { cimg_free(image.pixels) }
        let count = Int(image.width) * Int(image.height) * 3
        guard let pixels = image.pixels else {
            throw ImageIOError(path: path, operation: "decode JPEG", message: "the decoder returned no pixels")
        }
        let first = withUnsafeBytes(of: &image.first_warning) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return (RGBImage(width: Int(image.width), height: Int(image.height),
                         pixels: Array(UnsafeBufferPointer(start: pixels, count: count))), Int(image.warnings), first)
    }

    /// Decodes PNG bytes as stored.
    public static func decodePNG(_ data: Data, path: String) throws -> DecodedPNG {
        var image = cimg_image()
        var message = [CChar](repeating: 0, count: Int(CIMG_ERROR_SIZE))
        let status = data.withUnsafeBytes { cimg_png_decode(bytes($0), $0.count, &image, &message) }
        try check(status, message, path: path, operation: "decode PNG")
        defer { cimg_free(image.pixels) }
        let channels = Int(image.channels)
        let count = Int(image.width) * Int(image.height) * channels
        guard let pixels = image.pixels else {
            throw ImageIOError(path: path, operation: "decode PNG", message: "the decoder returned no pixels")
        }
        let kind: PNGKind
        switch Int(image.kind) {
        case CIMG_PNG_PALETTED: kind = .paletted(palette: palette(of: &image))
        case CIMG_PNG_GRAY: kind = .gray
        default: kind = .rgb
        }
        var decoded = DecodedPNG(width: Int(image.width), height: Int(image.height), kind: kind,
                                 bitDepth: Int(image.bit_depth),
                                 samples: Array(UnsafeBufferPointer(start: pixels, count: count)))
        decoded.exact16Bit = image.exact16 != 0
        return decoded
    }

    // MARK: Encoding

    /// Encodes RGB pixels as a baseline JPEG at `quality` (1…100).
    public static func encodeJPEG(_ image: RGBImage, quality: Int = 90) throws -> Data {
        try encode(path: "(memory)", operation: "encode JPEG") { out, size, message in
            image.pixels.withUnsafeBufferPointer {
                cimg_jpeg_encode($0.baseAddress, Int32(image.width), Int32(image.height), 3, Int32(quality),
                                 out, size, message)
            }
        }
    }

    /// Encodes class indices as an 8-bit paletted PNG (colour type 3) with `palette` as PLTE.
    public static func encodePalettedPNG(_ label: LabelMap, palette: [RGB], compressionLevel: Int = 6) throws -> Data {
        guard (1...256).contains(palette.count) else {
            throw ImageIOError(path: "(memory)", operation: "encode PNG",
                               message: "a palette needs 1 to 256 colours, got \(palette.count)")
        }
        let plte = palette.flatMap { [$0.r, $0.g, $0.b] }
        return try encode(path: "(memory)", operation: "encode PNG") { out, size, message in
            label.values.withUnsafeBufferPointer { v in
                plte.withUnsafeBufferPointer { p in
                    cimg_png_encode(v.baseAddress, Int32(label.width), Int32(label.height), Int32(CIMG_PNG_PALETTED),
                                    p.baseAddress, Int32(palette.count), Int32(compressionLevel), out, size, message)
                }
            }
        }
    }

    /// Encodes 8-bit gray values (e.g. a trimap) as a gray PNG.
    public static func encodeGrayPNG(_ label: LabelMap, compressionLevel: Int = 6) throws -> Data {
        try encode(path: "(memory)", operation: "encode PNG") { out, size, message in
            label.values.withUnsafeBufferPointer { v in
                cimg_png_encode(v.baseAddress, Int32(label.width), Int32(label.height), Int32(CIMG_PNG_GRAY),
                                nil, 0, Int32(compressionLevel), out, size, message)
            }
        }
    }

    /// Encodes RGB pixels as an 8-bit RGB PNG.
    public static func encodeRGBPNG(_ image: RGBImage, compressionLevel: Int = 6) throws -> Data {
        try encode(path: "(memory)", operation: "encode PNG") { out, size, message in
            image.pixels.withUnsafeBufferPointer { v in
                cimg_png_encode(v.baseAddress, Int32(image.width), Int32(image.height), Int32(CIMG_PNG_RGB),
                                nil, 0, Int32(compressionLevel), out, size, message)
            }
        }
    }

    // MARK: Files

    /// Writes `data` to `url` through a temporary file in the same directory and a rename.
    public static func writeAtomically(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        let temp = dir.appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).\(UInt32.random(in: 0...UInt32.max)).tmp")
        do {
            try data.write(to: temp)
            if rename(temp.path, url.path) != 0 {
                let reason = String(cString: strerror(errno))
                try? FileManager.default.removeItem(at: temp)
                throw ImageIOError(path: url.path, operation: "write", message: reason)
            }
        } catch let error as ImageIOError {
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw ImageIOError(path: url.path, operation: "write", message: error.localizedDescription)
        }
    }

    public static func writeJPEG(_ image: RGBImage, to url: URL, quality: Int = 90) throws {
        try writeAtomically(try relabel(encodeJPEG(image, quality: quality), url), to: url)
    }

    public static func writePalettedPNG(_ label: LabelMap, palette: [RGB], to url: URL) throws {
        try writeAtomically(try relabel(encodePalettedPNG(label, palette: palette), url), to: url)
    }

    public static func writeRGBPNG(_ image: RGBImage, to url: URL) throws {
        try writeAtomically(try relabel(encodeRGBPNG(image), url), to: url)
    }

    // MARK: Helpers

    static func isJPEG(_ data: Data) -> Bool { data.count >= 3 && data.starts(with: [0xFF, 0xD8, 0xFF]) }
    static func isPNG(_ data: Data) -> Bool { data.count >= 8 && data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) }

    static func readFile(_ url: URL) throws -> Data {
        do {
            return try Data(contentsOf: url)
        } catch {
            let reason = FileManager.default.fileExists(atPath: url.path) ? "unreadable" : "no such file"
            throw ImageIOError(path: url.path, operation: "read", message: reason)
        }
    }

    private static func bytes(_ raw: UnsafeRawBufferPointer) -> UnsafePointer<UInt8>? {
        raw.baseAddress?.assumingMemoryBound(to: UInt8.self)
    }

    /// Turns a C status code into an `ImageIOError` (the one place this happens).
    private static func check(_ status: Int32, _ message: [CChar], path: String, operation: String) throws {
        guard status != 0 else { return }
        let text = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        throw ImageIOError(path: path, operation: operation, message: text.isEmpty ? "unknown decoder error" : text)
    }

    private static func palette(of image: inout cimg_image) -> [RGB] {
        let count = Int(image.palette_count)
        return withUnsafeBytes(of: &image.palette) { raw in
            (0..<count).map { RGB(raw[3 * $0], raw[3 * $0 + 1], raw[3 * $0 + 2]) }
        }
    }

    private static func encode(path: String, operation: String,
                               _ body: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>, UnsafeMutablePointer<Int>,
                                        UnsafeMutablePointer<CChar>) -> Int32) throws -> Data {
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        var message = [CChar](repeating: 0, count: Int(CIMG_ERROR_SIZE))
        let status = message.withUnsafeMutableBufferPointer { body(&out, &size, $0.baseAddress!) }
        try check(status, message, path: path, operation: operation)
        defer { cimg_free(out) }
        guard let out else { throw ImageIOError(path: path, operation: operation, message: "the encoder returned no data") }
        return Data(bytes: out, count: size)
    }

    /// Re-labels an in-memory encoding error with the destination path.
    private static func relabel(_ make: @autoclosure () throws -> Data, _ url: URL) throws -> Data {
        do { return try make() } catch var error as ImageIOError {
            error.path = url.path
            throw error
        }
    }
}
