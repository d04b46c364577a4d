import Datasets
import Foundation
import TestSupport
import XCTest

final class ImageCodecTests: XCTestCase {
    let vocMask = Fixtures.voc.appendingPathComponent("SegmentationClass/2007_000032.png")
    let vocImage = Fixtures.voc.appendingPathComponent("JPEGImages/2007_000032.jpg")

    // MARK: JPEG

    func testDecodesVOCJPEGAtItsSize() throws {
        let image = try ImageCodec.readRGB(vocImage)
        XCTAssertEqual(image.width, 500)
        XCTAssertEqual(image.height, 281)
        let header = try ImageCodec.readHeader(vocImage)
        XCTAssertEqual(header, ImageHeader(format: .jpeg, width: 500, height: 281))
        // Not a blank buffer: a real photo has many distinct values.
        XCTAssertGreaterThan(Set(image.pixels).count, 200)
    }

    func testDecodesRGBGrayAndCMYKJPEGsToTheSamePattern() throws {
        let rgb = try ImageCodec.readRGB(Golden.url("rgb.jpg"))
        XCTAssertEqual(rgb.width, 16)
        XCTAssertEqual(rgb.height, 12)
        XCTAssertLessThan(meanDifferenceFromPattern(rgb), 4)

        let gray = try ImageCodec.readRGB(Golden.url("gray.jpg"))
        for y in 0..<12 {
            for x in 0..<16 {
                let p = gray[x, y]
                XCTAssertEqual(p.r, p.g)
                XCTAssertEqual(p.g, p.b)
                XCTAssertLessThanOrEqual(abs(Int(p.r) - 16 * x), 8, "gray at \(x),\(y)")
            }
        }
        let cmyk = try ImageCodec.readRGB(Golden.url("cmyk.jpg"))
        XCTAssertLessThan(meanDifferenceFromPattern(cmyk), 4, "CMYK (Adobe, inverted) converts back to the RGB pattern")
    }

    func testJPEGEncodeRoundTripAndQuality() throws {
        let source = try ImageCodec.readRGB(Golden.url("rgb.png"))
        let high = try ImageCodec.encodeJPEG(source, quality: 95)
        let low = try ImageCodec.encodeJPEG(source, quality: 20)
        XCTAssertLessThan(low.count, high.count)
        let decoded = try ImageCodec.decodeJPEG(high, path: "memory")
        XCTAssertLessThan(meanDifferenceFromPattern(decoded), 3)
    }

    func testDCTScaledDecode() throws {
        let half = try ImageCodec.decodeJPEG(try Data(contentsOf: vocImage), path: vocImage.path, scaleDenominator: 2)
        XCTAssertEqual(half.width, 250)
        XCTAssertEqual(half.height, 141)
    }

    func testTruncatedJPEGIsAnErrorNamingTheFile() throws {
        let dir = try TemporaryDirectory()
        let data = try Data(contentsOf: vocImage)
        for fraction in [0.5, 0.9, 0.99] {
            let url = dir.url.appendingPathComponent("cut-\(fraction).jpg")
            try data.prefix(Int(Double(data.count) * fraction)).write(to: url)
            XCTAssertThrowsError(try ImageCodec.readRGB(url), "truncated at \(fraction)") { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains(url.path), text)
                XCTAssertTrue(text.contains("Premature end of JPEG file"), text)
            }
        }
        // Only a header left.
        let url = dir.url.appendingPathComponent("header.jpg")
        try data.prefix(300).write(to: url)
        XCTAssertThrowsError(try ImageCodec.readRGB(url))
    }

    func testCorruptJPEGEntropyDataIsAnError() throws {
        let dir = try TemporaryDirectory()
        var data = try Data(contentsOf: vocImage)
        // Overwrite a stretch of the entropy-coded data with 0xFF 0xD9 markers (premature EOI).
        let start = data.count / 2
        for i in stride(from: start, to: start + 64, by: 2) {
            data[i] = 0xFF
            data[i + 1] = 0xD9
        }
        let url = dir.url.appendingPathComponent("corrupt.jpg")
        try data.write(to: url)
        XCTAssertThrowsError(try ImageCodec.readRGB(url)) { error in
            XCTAssertTrue("\(error)".contains(url.path), "\(error)")
        }
    }

    func testNotAnImage() throws {
        let dir = try TemporaryDirectory()
        let url = dir.url.appendingPathComponent("text.jpg")
        try Data("hello".utf8).write(to: url)
        XCTAssertThrowsError(try ImageCodec.readRGB(url)) { error in
            XCTAssertTrue("\(error)".contains("neither a JPEG nor a PNG"), "\(error)")
        }
        XCTAssertThrowsError(try ImageCodec.readRGB(dir.url.appendingPathComponent("missing.jpg"))) { error in
            XCTAssertTrue("\(error)".contains("no such file"), "\(error)")
        }
    }

    // MARK: PNG

    func testVOCMaskIsPalettedWithExactValues() throws {
        let png = try ImageCodec.readPNG(vocMask)
        XCTAssertEqual(png.width, 500)
        XCTAssertEqual(png.height, 281)
        guard case .paletted(let palette) = png.kind else { return XCTFail("expected a paletted PNG, got \(png.kind)") }
        XCTAssertEqual(Array(palette.prefix(21)), Array(Palette.voc.prefix(21)))
        let label = LabelMap(width: png.width, height: png.height, values: png.samples)
        XCTAssertEqual(label.presentValues, [0, 1, 15, 255])
    }

    func testRGBDecodedMaskMapsBackToIdenticalIndices() throws {
        let png = try ImageCodec.readPNG(vocMask)
        let rgb = png.rgbImage()
        XCTAssertEqual(rgb[0, 0].r, 0)
        let mapped = ColorToLabel(colors: Array(Palette.voc.prefix(21))).labels(for: rgb)
        XCTAssertEqual(mapped.unknownPixels, 0)
        XCTAssertEqual(mapped.label.values, png.samples)
    }

    func testVOCColormap() {
        XCTAssertEqual(Palette.voc[0], RGB(0, 0, 0))
        XCTAssertEqual(Palette.voc[1], RGB(128, 0, 0))
        XCTAssertEqual(Palette.voc[15], RGB(192, 128, 128))
        XCTAssertEqual(Palette.voc[20], RGB(0, 64, 128))
        XCTAssertEqual(Palette.voc[255], RGB(224, 224, 192))
    }

    func testGrayRGBAAnd16BitPNGs() throws {
        let gray = try ImageCodec.readPNG(Golden.url("gray.png"))
        XCTAssertEqual(gray.kind, .gray)
        XCTAssertEqual(gray.samples[5 * 16 + 3], 100)
        let gray16 = try ImageCodec.readPNG(Golden.url("gray16.png"))
        XCTAssertEqual(gray16.kind, .gray)
        XCTAssertEqual(gray16.bitDepth, 16)
        XCTAssertEqual(gray16.samples, gray.samples, "16-bit v*257 scales back to v")
        let grayAlpha = try ImageCodec.readPNG(Golden.url("gray_alpha.png"))
        XCTAssertEqual(grayAlpha.samples, gray.samples)
        let rgb = try ImageCodec.readPNG(Golden.url("rgb.png"))
        XCTAssertEqual(rgb.kind, .rgb)
        XCTAssertEqual(meanDifferenceFromPattern(rgb.rgbImage()), 0)
        let rgba = try ImageCodec.readPNG(Golden.url("rgba.png"))
        XCTAssertEqual(rgba.samples, rgb.samples, "alpha dropped")
    }

    func testSubBytePalettedPNGGivesRawIndices() throws {
        let png = try ImageCodec.readPNG(Golden.url("paletted2bit.png"))
        XCTAssertEqual(png.bitDepth, 2)
        guard case .paletted(let palette) = png.kind else { return XCTFail("not paletted") }
        XCTAssertEqual(palette[1], RGB(255, 0, 0))
        for y in 0..<12 {
            for x in 0..<16 { XCTAssertEqual(Int(png.samples[y * 16 + x]), ((x / 4) + (y / 4)) % 4) }
        }
    }

    func testPalettedPNGEncodeRoundTripWritesColourType3() throws {
        var label = LabelMap(width: 37, height: 23, fill: 0)
        for y in 0..<23 { for x in 0..<37 { label[x, y] = UInt8((x * 7 + y * 3) % 21) } }
        label[0, 0] = 255
        let data = try ImageCodec.encodePalettedPNG(label, palette: Palette.voc)
        XCTAssertEqual(data[25], 3, "IHDR colour type")
        XCTAssertEqual(data[24], 8, "IHDR bit depth")
        let png = try ImageCodec.decodePNG(data, path: "memory")
        XCTAssertEqual(png.samples, label.values)
        XCTAssertEqual(png.kind, .paletted(palette: Palette.voc))
    }

    func testRGBPNGEncodeRoundTrip() throws {
        let image = try ImageCodec.readRGB(vocImage)
        let dir = try TemporaryDirectory()
        let url = dir.url.appendingPathComponent("out.png")
        try ImageCodec.writeRGBPNG(image, to: url)
        XCTAssertEqual(try ImageCodec.readRGB(url), image)
        XCTAssertEqual(try DatasetsTestFiles.names(in: dir.url), ["out.png"], "no temporary file left behind")
    }

    func testCorruptPNGsAreErrors() throws {
        let dir = try TemporaryDirectory()
        let data = try Data(contentsOf: vocMask)
        // Flipped bytes in the middle of IDAT: CRC mismatch (or zlib error).
        var flipped = data
        for i in (data.count / 2)..<(data.count / 2 + 16) { flipped[i] ^= 0xFF }
        let flippedURL = dir.url.appendingPathComponent("flipped.png")
        try flipped.write(to: flippedURL)
        XCTAssertThrowsError(try ImageCodec.readPNG(flippedURL)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(flippedURL.path) && text.contains("decode PNG"), text)
        }
        // Truncated anywhere, including just before IEND.
        for cut in [data.count / 3, data.count - 20, data.count - 4] {
            let url = dir.url.appendingPathComponent("cut-\(cut).png")
            try data.prefix(cut).write(to: url)
            XCTAssertThrowsError(try ImageCodec.readPNG(url), "cut at \(cut) of \(data.count)") { error in
                XCTAssertTrue("\(error)".contains(url.path), "\(error)")
            }
        }
    }
}

enum DatasetsTestFiles {
    static func names(in dir: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
    }
}
