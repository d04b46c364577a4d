import Foundation
import TestSupport
import XCTest

/// Issue #16: a JPEG that libjpeg decodes with a "Corrupt JPEG data" warning is reported by
/// `data check` as a warning naming the file, not as "no problems".
final class JPEGWarningTests: XCTestCase {
    func testCorruptDataWarningIsReported() throws {
        let work = try makeTemporaryDirectory("jpegwarn")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("voc")
        try FileManager.default.copyItem(at: Fixtures.voc, to: root)
        let jpeg = root.appendingPathComponent("JPEGImages/2007_000033.jpg")
        var bytes = [UInt8](try Data(contentsOf: jpeg))
        // Three stray bytes before the first Huffman table marker (FF C4): libjpeg skips them
        // with JWRN_EXTRANEOUS_DATA and decodes the image.
        let dht = try XCTUnwrap((2..<(bytes.count - 1)).first { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xC4 })
        bytes.insert(contentsOf: [0x01, 0x02, 0x03], at: dht)
        try Data(bytes).write(to: jpeg)

        let result = try CLI.run(["data", "check", root.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(result.stdout.contains("no problems"), result.stdout)
        XCTAssertTrue(result.stdout.contains("2007_000033.jpg: libjpeg warning: Corrupt JPEG data: 3 extraneous bytes"), result.stdout)
        XCTAssertNotEqual(try CLI.run(["data", "check", "--strict", root.path]).status, 0)
    }
}
