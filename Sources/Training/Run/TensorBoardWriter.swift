import Foundation
import NN

/// Writes a TensorBoard event file (`events.out.tfevents.<time>.<host>`) by hand: no TensorFlow,
/// no protobuf library. `tensorboard --logdir runs` reads it.
///
/// File format (tensorflow/core/lib/io/record_writer.cc), one record per event:
///
///     uint64 length (little-endian) | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)
///
/// with `masked(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8`. Each record's data is an
/// `Event` protobuf (tensorflow/core/util/event.proto):
///
///     message Event { double wall_time = 1; int64 step = 2;
///                     oneof what { string file_version = 3; Summary summary = 5; } }
///     message Summary { repeated Value value = 1; }
///     message Summary.Value { string tag = 1; float simple_value = 2; }
///
/// The first event carries `file_version = "brain.Event:2"`.
public final class TensorBoardWriter {
    public let url: URL
    private let file: AppendFile

    /// Creates the event file in `directory` and writes the file-version event.
    public init(directory: URL, wallTime: Double = Date().timeIntervalSince1970, hostname: String = ProcessInfo.processInfo.hostName) throws {
        let host = hostname.isEmpty ? "localhost" : hostname
        url = directory.appendingPathComponent("events.out.tfevents.\(Int(wallTime)).\(host)")
        file = try AppendFile(url: url)
        file.append(Self.record(Self.fileVersionEvent(wallTime: wallTime)))
        try flush()
    }

    /// Queues scalars for one step (one Event holding all values).
    public func add(scalars: [(tag: String, value: Double)], step: Int, wallTime: Double = Date().timeIntervalSince1970) {
        let values = scalars.filter { $0.value.isFinite }
        guard !values.isEmpty else { return }
        file.append(Self.record(Self.scalarEvent(values, step: step, wallTime: wallTime)))
    }

    /// Writes what is queued and syncs it to disk.
    public func flush() throws { try file.flush() }

    // MARK: Encoding

    static func fileVersionEvent(wallTime: Double) -> Data {
        var e = Protobuf()
        e.double(field: 1, wallTime)
        e.bytes(field: 3, Data("brain.Event:2".utf8))
        return e.data
    }

    static func scalarEvent(_ values: [(tag: String, value: Double)], step: Int, wallTime: Double) -> Data {
        var summary = Protobuf()
        for (tag, value) in values {
            var v = Protobuf()
            v.bytes(field: 1, Data(tag.utf8))
            v.float(field: 2, Float(value))
            summary.bytes(field: 1, v.data)
        }
        var e = Protobuf()
        e.double(field: 1, wallTime)
        e.varint(field: 2, UInt64(bitPattern: Int64(step)))
        e.bytes(field: 5, summary.data)
        return e.data
    }

    /// TFRecord framing of one record.
    static func record(_ data: Data) -> Data {
        var out = Data()
        var length = UInt64(data.count).littleEndian
        let lengthBytes = withUnsafeBytes(of: &length) { Data($0) }
        out.append(lengthBytes)
        appendLE(&out, maskedCRC32C(lengthBytes))
        out.append(data)
        appendLE(&out, maskedCRC32C(data))
        return out
    }

    static func appendLE(_ out: inout Data, _ value: UInt32) {
        var v = value.littleEndian
        withUnsafeBytes(of: &v) { out.append(contentsOf: $0) }
    }

    static func maskedCRC32C(_ data: Data) -> UInt32 {
        let crc = CRC32C.checksum(data)
        return ((crc >> 15) | (crc << 17)) &+ 0xa282_ead8
    }
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord uses.
enum CRC32C {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    static func checksum(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data { crc = table[Int((crc ^ UInt32(byte)) & 0xff)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

/// The few protobuf wire-format encodings an Event needs.
struct Protobuf {
    var data = Data()

    mutating func rawVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            data.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        data.append(UInt8(v))
    }

    mutating func tag(_ field: Int, _ wireType: UInt64) { rawVarint(UInt64(field) << 3 | wireType) }

    mutating func varint(field: Int, _ value: UInt64) {
        tag(field, 0)
        rawVarint(value)
    }

    mutating func double(field: Int, _ value: Double) {
        tag(field, 1)
        var v = value.bitPattern.littleEndian
        withUnsafeBytes(of: &v) { data.append(contentsOf: $0) }
    }

    mutating func bytes(field: Int, _ value: Data) {
        tag(field, 2)
        rawVarint(UInt64(value.count))
        data.append(value)
    }

    mutating func float(field: Int, _ value: Float) {
        tag(field, 5)
        var v = value.bitPattern.littleEndian
        withUnsafeBytes(of: &v) { data.append(contentsOf: $0) }
    }
}
