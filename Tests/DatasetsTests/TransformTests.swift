import Datasets
import Foundation
import XCTest

final class TransformTests: XCTestCase {
    /// A sample whose label encodes each pixel's position (label = red channel / 10) so any
    /// misalignment between image and label shows.
    func makeSample(width: Int, height: Int) -> Sample {
        var image = RGBImage(width: width, height: height)
        var label = LabelMap(width: width, height: height)
        for y in 0..<height {
            for x in 0..<width {
                let v = UInt8((x * 7 + y * 13) % 20)
                image[x, y] = (v * 10, UInt8(x % 256), UInt8(y % 256))
                label[x, y] = v
            }
        }
        return Sample(id: "s", image: image, label: label)
    }

    func assertAligned(_ s: Sample, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(s.image.width, s.label.width, file: file, line: line)
        XCTAssertEqual(s.image.height, s.label.height, file: file, line: line)
        for y in 0..<s.image.height {
            for x in 0..<s.image.width where s.label[x, y] != LabelMap.void {
                if s.image[x, y].r != s.label[x, y] * 10 {
                    return XCTFail("image and label disagree at \(x),\(y)", file: file, line: line)
                }
            }
        }
    }

    func testRandomCropAndFlipKeepImageAndLabelTogether() {
        let sample = makeSample(width: 60, height: 40)
        let config = TransformConfig(crop: Size2D(height: 24, width: 32), horizontalFlip: true)
        var rng = SeededRandom(seed: 3)
        var origins = Set<Int>()
        for _ in 0..<20 {
            guard let out = config.apply(sample, rng: &rng) else { return XCTFail("dropped") }
            XCTAssertEqual(out.image.width, 32)
            XCTAssertEqual(out.image.height, 24)
            assertAligned(out)
            origins.insert(Int(out.image[0, 0].g) * 1000 + Int(out.image[0, 0].b))
        }
        XCTAssertGreaterThan(origins.count, 5, "crops are random")
    }

    func testSameSeedSameResult() {
        let sample = makeSample(width: 50, height: 50)
        let config = TransformConfig(scaleRange: 0.5...1.5, crop: Size2D(height: 20, width: 20), horizontalFlip: true)
        var a = SeededRandom(seed: 9), b = SeededRandom(seed: 9)
        for _ in 0..<5 {
            XCTAssertEqual(config.apply(sample, rng: &a)?.image, config.apply(sample, rng: &b)?.image)
        }
    }

    func testSmallImagesAreDroppedOrPadded() throws {
        let small = makeSample(width: 10, height: 8)
        let crop = Size2D(height: 16, width: 16)
        var rng = SeededRandom(seed: 1)
        XCTAssertNil(TransformConfig(crop: crop, smallImages: .drop).apply(small, rng: &rng))
        let padded = try XCTUnwrap(TransformConfig(crop: crop, smallImages: .pad).apply(small, rng: &rng))
        XCTAssertEqual(padded.image.width, 16)
        XCTAssertEqual(padded.image.height, 16)
        assertAligned(padded)
        let originals = padded.label.values.filter { $0 != LabelMap.void }.count
        XCTAssertEqual(originals, 80 - small.label.values.filter { $0 == LabelMap.void }.count, "all 10x8 pixels kept")
        XCTAssertEqual(padded.label.values.filter { $0 == LabelMap.void }.count, 256 - 80, "padding is void")
        // Padding pixels carry the mean colour.
        let pad = Transforms.pad(small, to: crop)
        XCTAssertTrue(pad.image[15, 15] == Transforms.meanColor)
        XCTAssertEqual(pad.label[15, 15], 255)
        XCTAssertEqual(pad.label[0, 0], small.label[0, 0])
    }

    func testCentreCropWhenNotRandom() throws {
        let sample = makeSample(width: 30, height: 20)
        var rng = SeededRandom(seed: 1)
        let out = try XCTUnwrap(TransformConfig(crop: Size2D(height: 10, width: 10), horizontalFlip: true, random: false)
            .apply(sample, rng: &rng))
        XCTAssertEqual(out.image.pixels, Transforms.crop(sample, x: 10, y: 5, size: Size2D(height: 10, width: 10)).image.pixels)
    }

    func testFlip() {
        let sample = makeSample(width: 5, height: 3)
        let flipped = Transforms.flipHorizontally(sample)
        XCTAssertTrue(flipped.image[0, 1] == sample.image[4, 1])
        XCTAssertEqual(flipped.label[1, 2], sample.label[3, 2])
        XCTAssertEqual(Transforms.flipHorizontally(flipped).image, sample.image)
    }

    func testResizeBilinearImageNearestLabel() {
        // 2x1 image black | white upscaled to 4x1: half-pixel centres give 0, 64, 191, 255.
        let image = RGBImage(width: 2, height: 1, pixels: [0, 0, 0, 255, 255, 255])
        let label = LabelMap(width: 2, height: 1, values: [3, 7])
        let out = Transforms.resize(Sample(id: "r", image: image, label: label), to: Size2D(height: 1, width: 4))
        XCTAssertEqual(out.image.pixels.enumerated().filter { $0.offset % 3 == 0 }.map(\.element), [0, 64, 191, 255])
        XCTAssertEqual(out.label.values, [3, 3, 7, 7], "nearest keeps label values from the set")
        let big = makeSample(width: 37, height: 23)
        let down = Transforms.resize(big, to: Size2D(height: 11, width: 17))
        XCTAssertTrue(Set(down.label.values).isSubset(of: Set(big.label.values)))
    }

    func testNormalize() {
        let image = RGBImage(width: 2, height: 1, pixels: [0, 128, 255, 255, 0, 0])
        let unit = Transforms.normalized(image, .unit)
        // CHW: R plane, G plane, B plane.
        XCTAssertEqual(unit, [0, 1, 128 / 255, 0, 1, 0], accuracy: 1e-6)
        let net = Transforms.normalized(image, .imagenet)
        XCTAssertEqual(net[0], (0 - 0.485) / 0.229, accuracy: 1e-5)
        XCTAssertEqual(net[1], (1 - 0.485) / 0.229, accuracy: 1e-5)
        XCTAssertEqual(net[4], (1 - 0.406) / 0.225, accuracy: 1e-5)
    }

    func testSizeParsing() {
        XCTAssertEqual(Size2D(parsing: "480x320"), Size2D(height: 320, width: 480))
        XCTAssertEqual(Size2D(parsing: "128"), Size2D(height: 128, width: 128))
        XCTAssertNil(Size2D(parsing: "0x5"))
        XCTAssertNil(Size2D(parsing: "abc"))
    }
}

func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (i, (x, y)) in zip(a, b).enumerated() where abs(x - y) > accuracy {
        return XCTFail("element \(i): \(x) vs \(y)", file: file, line: line)
    }
}
