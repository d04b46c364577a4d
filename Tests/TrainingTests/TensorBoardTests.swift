import Foundation
import NN
import XCTest
@testable import Training

final class TensorBoardTests: XCTestCase {
    /// Reads a TFRecord file, checking both masked CRCs of every record.
    static func readRecords(_ url: URL) throws -> [Data] {
        let data = try Data(contentsOf: url)
        var records: [Data] = []
        var offset = 0
        func u32(_ at: Int) -> UInt32 { data.subdata(in: at..<(at + 4)).withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) } }
        while offset < data.count {
            guard offset + 12 <= data.count else { throw Failure(message: "truncated record header at \(offset)") }
            let lengthBytes = data.subdata(in: offset..<(offset + 8))
            let length = Int(lengthBytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
            guard u32(offset + 8) == TensorBoardWriter.maskedCRC32C(lengthBytes) else { throw Failure(message: "bad length crc at \(offset)") }
            let start = offset + 12
            guard start + length + 4 <= data.count else { throw Failure(message: "truncated record at \(offset)") }
            let payload = data.subdata(in: start..<(start + length))
            guard u32(start + length) == TensorBoardWriter.maskedCRC32C(payload) else { throw Failure(message: "bad data crc at \(offset)") }
            records.append(payload)
            offset = start + length + 4
        }
        return records
    }

    func testCRC32CKnownAnswers() {
        // RFC 3720 B.4 check value and the iSCSI test vector of 32 zero bytes.
        XCTAssertEqual(CRC32C.checksum(Data("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum(Data(count: 32)), 0x8A91_36AA)
    }

    func testEventEncodingByteForByte() {
        // Event{wall_time: 1.5, step: 300, summary{value{tag: "loss", simple_value: 0.25}}}
        let bytes = [UInt8](TensorBoardWriter.scalarEvent([("loss", 0.25)], step: 300, wallTime: 1.5))
        let expected: [UInt8] = [
            0x09, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F,        // field 1, fixed64: 1.5
            0x10, 0xAC, 0x02,                           // field 2, varint: 300
            0x2A, 0x0D,                                 // field 5, 13 bytes: Summary
            0x0A, 0x0B,                                 //   field 1, 11 bytes: Value
            0x0A, 0x04, 0x6C, 0x6F, 0x73, 0x73,         //     tag "loss"
            0x15, 0x00, 0x00, 0x80, 0x3E,               //     simple_value 0.25f
        ]
        XCTAssertEqual(bytes, expected)
        let version = [UInt8](TensorBoardWriter.fileVersionEvent(wallTime: 0))
        XCTAssertEqual(version, [0x09, 0, 0, 0, 0, 0, 0, 0, 0, 0x1A, 0x0D] + Array("brain.Event:2".utf8))
    }

    func testWriterProducesValidFramedRecords() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let writer = try TensorBoardWriter(directory: dir, wallTime: 1_700_000_000, hostname: "box")
        XCTAssertEqual(writer.url.lastPathComponent, "events.out.tfevents.1700000000.box")
        writer.add(scalars: [("train/loss", 0.5), ("train/nan", .nan)], step: 1, wallTime: 1_700_000_001)
        writer.add(scalars: [("val/mIoU", 0.75)], step: 2, wallTime: 1_700_000_002)
        // Not on disk until flushed.
        XCTAssertEqual(try TensorBoardTests.readRecords(writer.url).count, 1)
        try writer.flush()
        let records = try TensorBoardTests.readRecords(writer.url)
        XCTAssertEqual(records.count, 3)
        XCTAssertEqual(records[1], TensorBoardWriter.scalarEvent([("train/loss", 0.5)], step: 1, wallTime: 1_700_000_001),
                       "non-finite values are left out")
    }

    func testAppendFileOnAFullDeviceReportsTheFile() throws {
        try XCTSkipIf(!FileManager.default.fileExists(atPath: "/dev/full"))
        let file = try AppendFile(url: URL(fileURLWithPath: "/dev/full"))
        file.append(line: "{}")
        XCTAssertThrowsError(try file.flush()) { error in
            XCTAssertEqual((error as? FileIOError)?.code, ENOSPC)
            XCTAssertTrue("\(error)".contains("/dev/full: No space left on device"), "\(error)")
        }
        XCTAssertEqual(file.pendingBytes, 3, "kept for a retry")
    }

    func testRunDirectoryNamesAndClashes() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("runs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let date = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18 11:06:40 UTC
        XCTAssertEqual(RunDirectory.name(model: "fcn-resnet18", date: date), "20261118-110640-fcn-resnet18")
        let a = try RunDirectory.create(root: root, model: "xunet", date: date)
        let b = try RunDirectory.create(root: root, model: "xunet", date: date)
        XCTAssertEqual(a.url.lastPathComponent, "20261118-110640-xunet")
        XCTAssertEqual(b.url.lastPathComponent, "20261118-110640-xunet-2")
        for sub in ["checkpoints", "predictions", "metrics.jsonl"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: a.url.appendingPathComponent(sub).path), sub)
        }
        XCTAssertThrowsError(try RunDirectory.create(root: URL(fileURLWithPath: "/dev/null/runs"), model: "xunet")) { error in
            XCTAssertTrue("\(error)".contains("/dev/null/runs"), "\(error)")
        }
    }
}
