import Foundation
import XCTest
@testable import Training

final class SlidingWindowTests: XCTestCase {
    /// VOC 2007_000039 is 500×375; the default crop is 160 with stride 107 (two thirds). By
    /// MMSegmentation's formula: h_grids = (375 − 160 + 106) // 107 + 1 = 4, w_grids = 5; the last
    /// row starts at 375 − 160 = 215 and the last column at 500 − 160 = 340.
    func testWindowsFollowMMSegmentation() throws {
        let rects = try Inference.slidingWindows(height: 375, width: 500, window: PixelSize(square: 160), stride: PixelSize(square: 107))
        XCTAssertEqual(rects.count, 20)
        XCTAssertEqual(Array(Set(rects.map(\.y))).sorted(), [0, 107, 214, 215])
        XCTAssertEqual(Array(Set(rects.map(\.x))).sorted(), [0, 107, 214, 321, 340])
        XCTAssertTrue(rects.allSatisfy { $0.width == 160 && $0.height == 160 })
        XCTAssertEqual(rects.first, PixelRect(x: 0, y: 0, width: 160, height: 160))
        XCTAssertEqual(rects.last, PixelRect(x: 340, y: 215, width: 160, height: 160))
    }

    func testImageSmallerThanTheWindowGetsOneWindowOfItsOwnSize() throws {
        let rects = try Inference.slidingWindows(height: 90, width: 100, window: PixelSize(square: 160), stride: PixelSize(square: 107))
        XCTAssertEqual(rects, [PixelRect(x: 0, y: 0, width: 100, height: 90)])
        // Taller than the window but narrower.
        let tall = try Inference.slidingWindows(height: 300, width: 50, window: PixelSize(square: 160), stride: PixelSize(square: 107))
        XCTAssertEqual(tall, [PixelRect(x: 0, y: 0, width: 50, height: 160), PixelRect(x: 0, y: 107, width: 50, height: 160),
                              PixelRect(x: 0, y: 140, width: 50, height: 160)])
    }

    /// 1×10 image, window 6, stride 4: windows [0, 6) and [4, 10). Window 0 says 1, window 1 says
    /// 3: pixels 4 and 5 are covered twice and get the mean, 2.
    func testOverlapsAreAveraged() throws {
        var call = 0
        let out = try Inference.slidingWindowLogits(height: 1, width: 10, classes: 2, window: PixelSize(height: 1, width: 6),
                                                    stride: PixelSize(height: 1, width: 4)) { rect in
            call += 1
            let v: Float = call == 1 ? 1 : 3
            return [Float](repeating: v, count: rect.width) + [Float](repeating: -v, count: rect.width)
        }
        XCTAssertEqual(call, 2)
        XCTAssertEqual(Array(out[0..<10]), [1, 1, 1, 1, 2, 2, 3, 3, 3, 3])
        XCTAssertEqual(Array(out[10..<20]), [-1, -1, -1, -1, -2, -2, -3, -3, -3, -3])
    }

    /// A "model" whose logits depend only on the absolute pixel position gives back exactly that
    /// function, whatever the windows: every window is placed where it belongs.
    func testWindowsArePlacedAtTheirPositions() throws {
        let H = 37, W = 53, C = 3
        func f(_ k: Int, _ y: Int, _ x: Int) -> Float { Float(k * 10_000 + y * 100 + x) }
        let out = try Inference.slidingWindowLogits(height: H, width: W, classes: C, window: PixelSize(height: 16, width: 20),
                                                    stride: PixelSize(height: 7, width: 11)) { r in
            var v: [Float] = []
            for k in 0..<C { for y in r.y..<(r.y + r.height) { for x in r.x..<(r.x + r.width) { v.append(f(k, y, x)) } } }
            return v
        }
        for k in 0..<C { for y in 0..<H { for x in 0..<W { XCTAssertEqual(out[(k * H + y) * W + x], f(k, y, x)) } } }
        XCTAssertEqual(Inference.argmax(out, classes: C, height: H, width: W), [UInt8](repeating: 2, count: H * W))
    }

    func testBadLogitsAndGeometryAreErrors() {
        XCTAssertThrowsError(try Inference.slidingWindowLogits(height: 10, width: 10, classes: 2, window: PixelSize(square: 4),
                                                               stride: PixelSize(square: 4)) { _ in [0] }) {
            XCTAssertTrue("\($0)".contains("expected 2×4×4"), "\($0)")
        }
        XCTAssertThrowsError(try Inference.slidingWindows(height: 10, width: 10, window: PixelSize(square: 4), stride: PixelSize(square: 0)))
        XCTAssertThrowsError(try Inference.slidingWindows(height: 0, width: 10, window: PixelSize(square: 4), stride: PixelSize(square: 2)))
    }

    func testWholeImagePaddingCropAndArgmax() throws {
        // d2l's "not divisible by 32": 500×375 pads to 512×384 for FCN, back to 375×500 after.
        XCTAssertEqual(Inference.paddedSize(height: 375, width: 500, multiple: 32), PixelSize(height: 384, width: 512))
        XCTAssertEqual(Inference.paddedSize(height: 160, width: 160, multiple: 16), PixelSize(square: 160))
        let padded = PixelSize(height: 3, width: 4)
        let logits: [Float] = (0..<(2 * 12)).map(Float.init)
        XCTAssertEqual(try Inference.crop(logits, classes: 2, from: padded, toHeight: 2, width: 3), [0, 1, 2, 4, 5, 6, 12, 13, 14, 16, 17, 18])
        XCTAssertThrowsError(try Inference.crop(logits, classes: 2, from: padded, toHeight: 4, width: 3))
        // Ties go to the first class, as torch.argmax.
        XCTAssertEqual(Inference.argmax([1, 5, 2, 1, 3, 2], classes: 2, height: 1, width: 3), [0, 0, 0])
        XCTAssertEqual(Inference.argmax([1, 5, 2, 2, 3, 9], classes: 2, height: 1, width: 3), [1, 0, 1])
    }

    /// The validation loss: PyTorch's `F.cross_entropy(z, y, ignore_index=255)` on the same
    /// 3-class, 4-pixel logits gives 1.4204622507095337.
    func testCrossEntropySumMatchesPyTorchAndIgnoresVoid() {
        let logits: [Float] = [0.5, -1.0, 2.0, 3.0, 1.5, 0.0, -2.0, 0.25, -0.5, 4.0, 1.0, -1.0]
        let ce = Inference.crossEntropySum(logits, classes: 3, labels: [0, 2, 255, 1])
        XCTAssertEqual(ce.pixels, 3)
        XCTAssertEqual(ce.sum / Double(ce.pixels), 1.4204622507095337, accuracy: 1e-6)
        XCTAssertEqual(Inference.crossEntropySum(logits, classes: 3, labels: [255, 255, 255, 255]).pixels, 0)
    }
}
