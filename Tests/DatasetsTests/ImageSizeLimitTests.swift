import Datasets
import Foundation
import TestSupport
import XCTest

/// Issue #16: the one input-size rule, tested with sizes (no big image is ever made).
final class ImageSizeLimitTests: XCTestCase {
    private let gigabyte = 1_000_000_000

    func testAnImageThatFitsOneForwardPassIsPredictedWhole() {
        let limit = ImageSizeLimit(memoryBytes: 8 * gigabyte)
        XCTAssertEqual(limit.plan(height: 375, width: 500, classes: 21, multiple: 32), .whole)
        XCTAssertEqual(limit.plan(height: 2048, width: 2048, classes: 21, multiple: 64), .whole)
    }

    func testLargeValidImagesAreTiledNotRunWhole() {
        // The two: an 8000×8000 PNG (a oneDNN segfault at 12.5 GB) and a 6000×4000 photo
        // (19 GB whole). Both are predicted in 2048² tiles overlapping by a third.
        let limit = ImageSizeLimit(memoryBytes: 8 * gigabyte)
        XCTAssertEqual(limit.tile(multiple: 64), 2048)
        XCTAssertEqual(ImageSizeLimit.tileStride(2048), 1366)
        XCTAssertEqual(limit.plan(height: 8000, width: 8000, classes: 21, multiple: 16), .tiled(tile: 2048, windows: 36))
        XCTAssertEqual(limit.plan(height: 4000, width: 6000, classes: 21, multiple: 32), .tiled(tile: 2048, windows: 12))
        // Padding to the network's stride counts: 2047 rows pad to 2048 for stride 64 (fits),
        // 2049 to 2112 (does not).
        XCTAssertEqual(limit.plan(height: 2047, width: 2048, classes: 3, multiple: 64), .whole)
        guard case .tiled = limit.plan(height: 2049, width: 2048, classes: 3, multiple: 64) else { return XCTFail("2049x2048 not tiled") }
    }

    func testTooLargeForThePredictionBuffersIsRefusedNamingSizeAndLimit() {
        // 8000×8000 × (3 + 21 + 1) floats = 6.4 GB of full-size buffers.
        XCTAssertEqual(ImageSizeLimit.predictionBytes(height: 8000, width: 8000, classes: 21), 6_400_000_000)
        let small = ImageSizeLimit(memoryBytes: 4 * gigabyte)
        guard case .refused(let reason) = small.plan(height: 8000, width: 8000, classes: 21, multiple: 16) else {
            return XCTFail("8000x8000 accepted with a 4 GB budget")
        }
        for text in ["8000x8000", "6.4 GB", "4.0 GB", "21 classes"] { XCTAssertTrue(reason.contains(text), reason) }
    }

    func testAboveTheDecodeLimitIsRefusedWhateverTheMemory() {
        let limit = ImageSizeLimit(memoryBytes: Int.max)
        guard case .refused(let reason) = limit.plan(height: 16384, width: 16385, classes: 2, multiple: 1) else {
            return XCTFail("above the decode limit accepted")
        }
        XCTAssertTrue(reason.contains("16385x16384") && reason.contains("268435456 pixels (16384x16384)"), reason)
        guard case .refused = limit.plan(height: Int.max / 2, width: 3, classes: 2, multiple: 1) else { return XCTFail("overflow accepted") }
        XCTAssertEqual(ImageSizeLimit.predictionBytes(height: Int.max / 2, width: 3, classes: 2), Int.max)
    }

    func testATrainingStepMustFitOneForwardPass() {
        let limit = ImageSizeLimit()
        XCTAssertNil(limit.trainingProblem(cropHeight: 160, cropWidth: 160, batch: 8))
        XCTAssertNil(limit.trainingProblem(cropHeight: 512, cropWidth: 512, batch: 16))
        let problem = limit.trainingProblem(cropHeight: 4096, cropWidth: 4096, batch: 8)
        XCTAssertEqual(problem, "crop 4096x4096 × batch 8 = 134217728 pixels in one forward pass, above max_whole_image_pixels (4194304)")
    }

    func testTheDecoderRefusesAnOversizedHeaderBeforeAllocating() throws {
        // A PNG whose header claims 20000×20000 (1.2 GB of RGB) with one row of data: refused
        // from the header, naming the file, the size and the limit.
        let work = try makeTemporaryDirectory("size-limit")
        defer { try? FileManager.default.removeItem(at: work) }
        let url = work.appendingPathComponent("huge.png")
        try PNGWriter.rgbHeaderOnly(width: 20000, height: 20000).write(to: url)
        XCTAssertEqual(try ImageCodec.readHeader(url).width, 20000)
        XCTAssertThrowsError(try ImageCodec.readRGB(url)) { error in
            let text = "\(error)"
            for part in [url.path, "20000x20000", "268435456 pixels"] { XCTAssertTrue(text.contains(part), text) }
        }
    }
}
