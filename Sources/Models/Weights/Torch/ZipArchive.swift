import Foundation

/// The entries of a zip archive whose members are stored uncompressed, as `torch.save` writes
/// them (PKWARE APPNOTE 4.3: end of central directory, zip64 records, central and local headers).
struct ZipArchive {
    struct Entry {
        let name: String
        let method: UInt16
        let size: Int
        let localHeaderOffset: Int
    }

    let data: Data
    let file: String
    let entries: [String: Entry]
    let names: [String]

    static func isZip(_ data: Data) -> Bool {
        data.count >= 4 && data.prefix(4).elementsEqual([0x50, 0x4b, 0x03, 0x04])
    }

    init(data: Data, file: String) throws {
        self.data = data
        self.file = file
        func malformed(_ detail: String) -> TorchCheckpointError { .malformed(file: file, detail: "zip archive: \(detail)") }
        func u16(_ at: Int) -> Int { Int(data[data.startIndex + at]) | Int(data[data.startIndex + at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        func u64(_ at: Int) -> Int { u32(at) | u32(at + 4) << 32 }
        func has(_ at: Int, _ count: Int) -> Bool { at >= 0 && count >= 0 && at <= data.count - count }

        // End of central directory: the last "PK\5\6" within 64 KiB + 22 bytes of the end.
        var eocd = -1
        var at = data.count - 22
        let lowest = max(0, data.count - 22 - 65_535)
        while at >= lowest {
            if u32(at) == 0x0605_4b50 { eocd = at; break }
            at -= 1
        }
        guard eocd >= 0 else { throw malformed("no end-of-central-directory record (truncated download?)") }
        var count = u16(eocd + 10)
        var directory = u32(eocd + 16)
        if count == 0xffff || directory == 0xffff_ffff {
            // Zip64: the locator sits just before the end record and points to the zip64 record.
            let locator = eocd - 20
            guard has(locator, 20), u32(locator) == 0x0706_4b50 else { throw malformed("zip64 locator missing") }
            let record = u64(locator + 8)
            guard has(record, 56), u32(record) == 0x0606_4b50 else { throw malformed("zip64 end record missing") }
            count = u64(record + 32)
            directory = u64(record + 48)
        }
        var entries: [String: Entry] = [:]
        var names: [String] = []
        var cursor = directory
        for _ in 0..<count {
            guard has(cursor, 46), u32(cursor) == 0x0201_4b50 else {
                throw malformed("central directory entry \(names.count) at byte \(cursor) is damaged")
            }
            let method = UInt16(u16(cursor + 10))
            var size = u32(cursor + 24)
            let compressed = u32(cursor + 20)
            let nameLength = u16(cursor + 28), extraLength = u16(cursor + 30), commentLength = u16(cursor + 32)
            var offset = u32(cursor + 42)
            guard has(cursor + 46, nameLength + extraLength + commentLength) else { throw malformed("central directory truncated") }
            let start = data.startIndex + cursor + 46
            let name = String(decoding: data[start..<(start + nameLength)], as: UTF8.self)
            // Zip64 extended information: the 64-bit values of the fields that hold 0xffffffff.
            var extra = cursor + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd {
                let id = u16(extra), length = u16(extra + 2)
                if id == 0x0001 {
                    var field = extra + 4
                    if size == 0xffff_ffff { size = u64(field); field += 8 }
                    if compressed == 0xffff_ffff { field += 8 }
                    if offset == 0xffff_ffff { offset = u64(field) }
                }
                extra += 4 + length
            }
            entries[name] = Entry(name: name, method: method, size: size, localHeaderOffset: offset)
            names.append(name)
            cursor = extraEnd + commentLength
        }
        self.entries = entries
        self.names = names
    }

    /// The bytes of an entry (a copy-free slice of the archive's data when possible).
    func contents(_ name: String) throws -> Data {
        guard let entry = entries[name] else {
            throw TorchCheckpointError.malformed(file: file, detail: "zip archive: no member '\(name)'")
        }
        guard entry.method == 0 else {
            throw TorchCheckpointError.unsupported(file: file,
                detail: "zip member '\(name)' is compressed (method \(entry.method)); torch.save stores members uncompressed — "
                    + "was the file re-zipped? Re-save it with torch.save")
        }
        let at = entry.localHeaderOffset
        guard at >= 0, at <= data.count - 30 else {
            throw TorchCheckpointError.malformed(file: file, detail: "zip member '\(name)': its header lies beyond the end of the file")
        }
        let base = data.startIndex + at
        let nameLength = Int(data[base + 26]) | Int(data[base + 27]) << 8
        let extraLength = Int(data[base + 28]) | Int(data[base + 29]) << 8
        let start = at + 30 + nameLength + extraLength
        guard start <= data.count, entry.size <= data.count - start else {
            throw TorchCheckpointError.malformed(file: file,
                detail: "zip member '\(name)' needs \(entry.size) bytes at byte \(start) but the file has \(data.count) (truncated?)")
        }
        return data.subdata(in: (data.startIndex + start)..<(data.startIndex + start + entry.size))
    }
}

/// The members of a tar archive (POSIX ustar / PAX, as Python's tarfile writes them).
struct TarArchive {
    let members: [String: Data]

    static func isTar(_ data: Data) -> Bool {
        data.count >= 512 && data.subdata(in: (data.startIndex + 257)..<(data.startIndex + 262)).elementsEqual(Array("ustar".utf8))
    }

    init(data: Data, file: String) throws {
        var members: [String: Data] = [:]
        var at = 0
        var longName: String?
        while at + 512 <= data.count {
            let header = data.subdata(in: (data.startIndex + at)..<(data.startIndex + at + 512))
            if header.allSatisfy({ $0 == 0 }) { break }
            func field(_ from: Int, _ length: Int) -> String {
                let raw = header[from..<(from + length)].prefix(while: { $0 != 0 })
                return String(decoding: raw, as: UTF8.self)
            }
            let name = field(0, 100)
            let sizeText = field(124, 12).trimmingCharacters(in: .whitespaces)
            guard let size = Int(sizeText.isEmpty ? "0" : sizeText, radix: 8) else {
                throw TorchCheckpointError.malformed(file: file, detail: "tar member '\(name)' has size field '\(sizeText)'")
            }
            let type = header[156]
            let start = at + 512
            guard size <= data.count - start else {
                throw TorchCheckpointError.malformed(file: file, detail: "tar member '\(name)' needs \(size) bytes but the file ends (truncated?)")
            }
            let body = data.subdata(in: (data.startIndex + start)..<(data.startIndex + start + size))
            switch type {
            case UInt8(ascii: "x"):
                // PAX header: "len key=value\n" records; only `path` matters here.
                for record in String(decoding: body, as: UTF8.self).split(separator: "\n") {
                    if let range = record.range(of: " path=") { longName = String(record[range.upperBound...]) }
                }
            case UInt8(ascii: "g"):
                break
            case UInt8(ascii: "0"), 0:
                members[longName ?? name] = body
                longName = nil
            default:
                longName = nil
            }
            at = start + (size + 511) / 512 * 512
        }
        self.members = members
    }
}
