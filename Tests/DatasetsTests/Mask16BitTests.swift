import Datasets
import Foundation
import TestSupport
import XCTest

/// Issue #16: a 16-bit gray mask of class indices keeps its indices (it was scaled to 0: all
/// background); one with larger values is still scaled, with a warning naming the file.
final class Mask16BitTests: XCTestCase {
    func testSixteenBitIndexMaskKeepsItsClasses() throws {
        let work = try makeTemporaryDirectory("mask16")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("voc")
        try FileManager.default.copyItem(at: Fixtures.voc, to: root)
        let id = "2007_000032"
        let mask = root.appendingPathComponent("SegmentationClass/\(id).png")
        let header = try ImageCodec.readPNG(mask)
        let (w, h) = (header.width, header.height)
        var samples = [UInt16](repeating: 0, count: w * h)
        for i in 0..<(w * h) { samples[i] = i % 7 == 0 ? 15 : (i % 11 == 0 ? 65535 : (i % 3 == 0 ? 1 : 0)) }
        try PNGWriter.gray16(width: w, height: h, samples: samples).write(to: mask)

        let png = try ImageCodec.readPNG(mask)
        XCTAssertEqual(png.bitDepth, 16)
        XCTAssertTrue(png.exact16Bit)
        let sample = try DatasetLoader.open(root).sample(id: id)
        XCTAssertEqual(sample.label.values, samples.map { $0 == 65535 ? 255 : UInt8($0) })
        XCTAssertEqual(sample.warnings, [])

        // Values above 255 cannot be class indices: scaled, and said so.
        samples[0] = 40000
        try PNGWriter.gray16(width: w, height: h, samples: samples).write(to: mask)
        XCTAssertFalse(try ImageCodec.readPNG(mask).exact16Bit)
        let scaled = try DatasetLoader.open(root).sample(id: id)
        XCTAssertTrue(scaled.warnings.contains { $0.contains("\(id).png") && $0.contains("16-bit") }, "\(scaled.warnings)")
    }
}
