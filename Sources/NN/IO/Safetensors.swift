import Foundation

// The safetensors format (https://github.com/huggingface/safetensors, "Format"):
//
//   [8 bytes: N, unsigned little-endian] [N bytes: UTF-8 JSON header] [data buffer]
//
// The header maps each tensor name to {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}
// with offsets relative to the start of the data buffer, plus an optional "__metadata__" object
// of string → string. Tensors are stored row-major (C order), little-endian.
//
// This file is independent of the NN tensor type: it reads into raw bytes / [Float] and writes
// [Float] with a shape, so models and checkpoints can map names to their own tensors.

/// Element types a safetensors header may name.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64: return 8
        case .f32, .i32: return 4
        case .f16, .bf16, .i16: return 2
        case .i8, .u8, .bool: return 1
        }
    }

    /// The list printed in "unsupported dtype" errors.
    static var supportedList: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// A problem with a safetensors file; every case names the file.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String, reason: String)
    case truncated(file: String, detail: String)
    case badHeader(file: String, detail: String)
    case badTensor(file: String, tensor: String, detail: String)
    case unsupportedDType(file: String, tensor: String, dtype: String)
    case missingTensor(file: String, tensor: String)
    case invalidInput(file: String, detail: String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason):
            return "cannot read safetensors file \(file): \(reason)"
        case let .truncated(file, detail):
            return "safetensors file \(file) is truncated: \(detail) (was it copied or written completely?)"
        case let .badHeader(file, detail):
            return "safetensors file \(file) has an invalid header: \(detail)"
        case let .badTensor(file, tensor, detail):
            return "safetensors file \(file), tensor '\(tensor)': \(detail)"
        case let .unsupportedDType(file, tensor, dtype):
            return "safetensors file \(file), tensor '\(tensor)': unsupported dtype '\(dtype)' "
                + "(supported: \(SafetensorsDType.supportedList)); convert it with PyTorch, e.g. tensor.float()"
        case let .missingTensor(file, tensor):
            return "safetensors file \(file) has no tensor named '\(tensor)'"
        case let .invalidInput(file, detail):
            return "cannot write safetensors file \(file): \(detail)"
        }
    }
}

/// One tensor of a safetensors file: its element type, shape and raw little-endian bytes.
public struct SafetensorsEntry: Sendable {
    public let name: String
    public let dtype: SafetensorsDType
    /// Row-major shape; `[]` is a scalar (one element).
    public let shape: [Int]
    /// `elementCount * dtype.size` bytes, little-endian.
    public let bytes: Data
    /// The file this entry was read from (for error messages).
    public let file: String

    public var elementCount: Int { shape.reduce(1, *) }

    /// An entry made by another reader (e.g. PyTorch checkpoints); `bytes` must hold
    /// `elementCount * dtype.size` little-endian bytes.
    public init(name: String, dtype: SafetensorsDType, shape: [Int], bytes: Data, file: String) {
        precondition(bytes.count == shape.reduce(1, *) * dtype.size, "SafetensorsEntry '\(name)': byte count does not match the shape")
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
        self.file = file
    }

    /// The values converted to `Float` (F64 rounds, F16 / BF16 widen exactly, integers convert;
    /// BOOL gives 0 / 1).
    public func floats() -> [Float] {
        let count = elementCount
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            bytes.withUnsafeBytes { raw in
                switch dtype {
                case .f32:
                    for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                case .f64:
                    for i in 0..<count { out[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
                case .f16:
                    for i in 0..<count { out[i] = floatFromHalf(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
                case .bf16:
                    for i in 0..<count { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
                case .i64:
                    for i in 0..<count { out[i] = Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
                case .i32:
                    for i in 0..<count { out[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
                case .i16:
                    for i in 0..<count { out[i] = Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
                case .i8:
                    for i in 0..<count { out[i] = Float(raw.load(fromByteOffset: i, as: Int8.self)) }
                case .u8:
                    for i in 0..<count { out[i] = Float(raw.load(fromByteOffset: i, as: UInt8.self)) }
                case .bool:
                    for i in 0..<count { out[i] = raw.load(fromByteOffset: i, as: UInt8.self) != 0 ? 1 : 0 }
                }
            }
            initialized = count
        }
    }
}

/// IEEE 754 half precision → single precision (exact; subnormals, infinities and NaN kept).
@inlinable
func floatFromHalf(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32(h >> 10) & 0x1f
    var mantissa = UInt32(h) & 0x3ff
    if exponent == 0x1f { return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13)) }
    if exponent == 0 {
        if mantissa == 0 { return Float(bitPattern: sign) }
        // Subnormal: normalise the mantissa.
        var e: UInt32 = 127 - 15 + 1
        while mantissa & 0x400 == 0 {
            mantissa <<= 1
            e -= 1
        }
        mantissa &= 0x3ff
        return Float(bitPattern: sign | (e << 23) | (mantissa << 13))
    }
    return Float(bitPattern: sign | ((exponent + 127 - 15) << 23) | (mantissa << 13))
}

/// A safetensors file read into memory: tensors by name, in file order, and its metadata.
public struct SafetensorsFile: Sendable {
    /// The path it was read from (used in error messages).
    public let file: String
    /// Tensor names in the order of their data in the file.
    public let names: [String]
    public let entries: [String: SafetensorsEntry]
    /// The `__metadata__` string map (empty when absent).
    public let metadata: [String: String]

    /// The largest header the reference implementation accepts (100 MB).
    public static let maximumHeaderSize = 100_000_000

    public subscript(name: String) -> SafetensorsEntry? { entries[name] }

    /// A file made by another reader (e.g. PyTorch checkpoints): the entries in `names` order.
    public init(file: String, entries: [SafetensorsEntry], metadata: [String: String] = [:]) {
        self.file = file
        self.names = entries.map(\.name)
        self.entries = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.metadata = metadata
    }

    init(file: String, names: [String], entries: [String: SafetensorsEntry], metadata: [String: String]) {
        self.file = file
        self.names = names
        self.entries = entries
        self.metadata = metadata
    }

    /// The named tensor, or an error naming the file and the tensor.
    public func entry(_ name: String) throws -> SafetensorsEntry {
        guard let entry = entries[name] else { throw SafetensorsError.missingTensor(file: file, tensor: name) }
        return entry
    }

    /// Reads and validates a file (the data is memory-mapped when possible).
    public static func read(from url: URL) throws -> SafetensorsFile {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? error.localizedDescription
            throw SafetensorsError.unreadable(file: url.path, reason: reason)
        }
        return try parse(data, file: url.path)
    }

    /// Parses and validates the bytes of a safetensors file; `file` names it in errors.
    public static func parse(_ data: Data, file: String) throws -> SafetensorsFile {
        let data = Data(data)  // rebase indices at 0
        guard data.count >= 8 else {
            throw SafetensorsError.truncated(file: file, detail: "\(data.count) bytes, shorter than the 8-byte header length")
        }
        let headerLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(maximumHeaderSize) else {
            throw SafetensorsError.badHeader(file: file, detail: "header length \(headerLength) exceeds the 100 MB limit (not a safetensors file?)")
        }
        let headerEnd = 8 + Int(headerLength)
        guard headerEnd <= data.count else {
            throw SafetensorsError.truncated(file: file, detail: "the header needs \(headerLength) bytes but only \(data.count - 8) follow the length")
        }
        let headerBytes = data.subdata(in: 8..<headerEnd)
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw SafetensorsError.badHeader(file: file, detail: "the header does not start with '{' (not a safetensors file?)")
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerBytes)
        } catch {
            throw SafetensorsError.badHeader(file: file, detail: "not valid JSON (\((error as NSError).localizedDescription))")
        }
        guard let header = json as? [String: Any] else {
            throw SafetensorsError.badHeader(file: file, detail: "the JSON header is not an object")
        }
        let bufferLength = data.count - headerEnd

        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let map = raw as? [String: Any] else {
                throw SafetensorsError.badHeader(file: file, detail: "__metadata__ is not an object of strings")
            }
            for (key, value) in map {
                guard let text = value as? String else {
                    throw SafetensorsError.badHeader(file: file, detail: "__metadata__ value for '\(key)' is not a string")
                }
                metadata[key] = text
            }
        }

        var parsed: [(name: String, dtype: SafetensorsDType, shape: [Int], begin: Int, end: Int)] = []
        for (name, raw) in header where name != "__metadata__" {
            guard let info = raw as? [String: Any] else {
                throw SafetensorsError.badTensor(file: file, tensor: name, detail: "its header entry is not an object")
            }
            guard let dtypeName = info["dtype"] as? String else {
                throw SafetensorsError.badTensor(file: file, tensor: name, detail: "missing or non-string \"dtype\"")
            }
            guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
                throw SafetensorsError.unsupportedDType(file: file, tensor: name, dtype: dtypeName)
            }
            guard let shapeValues = info["shape"] as? [Any] else {
                throw SafetensorsError.badTensor(file: file, tensor: name, detail: "missing or non-array \"shape\"")
            }
            var shape: [Int] = []
            for value in shapeValues {
                guard let dim = integer(value), dim >= 0 else {
                    throw SafetensorsError.badTensor(file: file, tensor: name, detail: "shape \(shapeValues) has a dimension that is not a non-negative integer")
                }
                shape.append(dim)
            }
            guard let offsets = info["data_offsets"] as? [Any], offsets.count == 2,
                  let begin = integer(offsets[0]), let end = integer(offsets[1]) else {
                throw SafetensorsError.badTensor(file: file, tensor: name, detail: "missing or malformed \"data_offsets\" (expected [begin, end])")
            }
            guard begin >= 0, begin <= end else {
                throw SafetensorsError.badTensor(file: file, tensor: name, detail: "data_offsets [\(begin), \(end)] are not an increasing pair")
            }
            guard end <= bufferLength else {
                throw SafetensorsError.truncated(file: file, detail: "tensor '\(name)' ends at byte \(end) of the data buffer, which has only \(bufferLength) bytes")
            }
            var elements = 1
            for dim in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
                guard !overflow else {
                    throw SafetensorsError.badTensor(file: file, tensor: name, detail: "shape \(shape) is too large")
                }
                elements = product
            }
            let (expected, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, expected == end - begin else {
                throw SafetensorsError.badTensor(file: file, tensor: name,
                    detail: "shape \(shape) of \(dtype.rawValue) needs \(overflow ? "too many" : String(expected)) bytes but data_offsets [\(begin), \(end)] span \(end - begin)")
            }
            parsed.append((name, dtype, shape, begin, end))
        }

        parsed.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var previous: (name: String, end: Int)? = nil
        for tensor in parsed where tensor.end > tensor.begin {
            if let previous, tensor.begin < previous.end {
                throw SafetensorsError.badTensor(file: file, tensor: tensor.name,
                    detail: "its data [\(tensor.begin), \(tensor.end)) overlaps tensor '\(previous.name)' (ends at \(previous.end))")
            }
            previous = (tensor.name, tensor.end)
        }

        var entries: [String: SafetensorsEntry] = [:]
        for tensor in parsed {
            let bytes = data.subdata(in: (headerEnd + tensor.begin)..<(headerEnd + tensor.end))
            entries[tensor.name] = SafetensorsEntry(name: tensor.name, dtype: tensor.dtype, shape: tensor.shape,
                                                    bytes: bytes, file: file)
        }
        return SafetensorsFile(file: file, names: parsed.map(\.name), entries: entries, metadata: metadata)
    }

    /// A JSON number that is an exact integer.
    private static func integer(_ value: Any) -> Int? {
        if let int = value as? Int { return int }
        if let double = value as? Double, double.rounded() == double, abs(double) < 9e15 { return Int(double) }
        return nil
    }
}

/// A Float32 tensor to write: a name (PyTorch `state_dict` style), a row-major shape and values.
public struct SafetensorsTensor: Sendable {
    public var name: String
    public var shape: [Int]
    public var values: [Float]

    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name
        self.shape = shape
        self.values = values
    }
}

/// Writing safetensors files.
public enum Safetensors {
    /// Writes F32 tensors (in the given order) and an optional `__metadata__` map to `url`,
    /// atomically: a temporary file in the same directory is synced and renamed into place, so
    /// an interrupted write leaves any previous file at `url` intact.
    public static func write(_ tensors: [SafetensorsTensor], metadata: [String: String] = [:], to url: URL) throws {
        let header = try encodeHeader(tensors, metadata: metadata, file: url.path)
        try AtomicFile.write(to: url) { sink in
            var length = UInt64(header.count).littleEndian
            try withUnsafeBytes(of: &length) { try sink.write($0) }
            try sink.write(header)
            for tensor in tensors {
                try tensor.values.withUnsafeBufferPointer { values in
                    #if _endian(big)
                    let swapped = values.map { $0.bitPattern.littleEndian }
                    try swapped.withUnsafeBytes { try sink.write($0) }
                    #else
                    try sink.write(UnsafeRawBufferPointer(values))
                    #endif
                }
            }
        }
    }

    /// The complete file as bytes (for tests and in-memory use).
    public static func encode(_ tensors: [SafetensorsTensor], metadata: [String: String] = [:]) throws -> Data {
        var data = Data()
        let header = try encodeHeader(tensors, metadata: metadata, file: "<memory>")
        var length = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(header)
        for tensor in tensors {
            tensor.values.withUnsafeBytes { data.append(contentsOf: $0) }
        }
        return data
    }

    /// Writes entries of any dtype as they are (their bytes unchanged, e.g. F16 stays F16), in
    /// the given order, atomically like `write(_:metadata:to:)` (`weights convert`).
    public static func write(entries: [SafetensorsEntry], metadata: [String: String] = [:], to url: URL) throws {
        let rows = entries.map { (name: $0.name, dtype: $0.dtype.rawValue, shape: $0.shape, count: $0.elementCount, bytes: $0.bytes.count) }
        let header = try encodeHeader(rows: rows, metadata: metadata, file: url.path)
        try AtomicFile.write(to: url) { sink in
            var length = UInt64(header.count).littleEndian
            try withUnsafeBytes(of: &length) { try sink.write($0) }
            try sink.write(header)
            for entry in entries {
                try entry.bytes.withUnsafeBytes { try sink.write($0) }
            }
        }
    }

    /// The JSON header, padded with spaces to a multiple of 8 bytes (as the reference writer
    /// does, so the data buffer is aligned).
    static func encodeHeader(_ tensors: [SafetensorsTensor], metadata: [String: String], file: String) throws -> Data {
        try encodeHeader(rows: tensors.map { (name: $0.name, dtype: "F32", shape: $0.shape, count: $0.values.count, bytes: 4 * $0.values.count) },
                         metadata: metadata, file: file)
    }

    /// The header for tensors given by name, dtype, shape, element count and byte count.
    static func encodeHeader(rows tensors: [(name: String, dtype: String, shape: [Int], count: Int, bytes: Int)],
                             metadata: [String: String], file: String) throws -> Data {
        var seen = Set<String>()
        var json = "{"
        var first = true
        if !metadata.isEmpty {
            json += "\"__metadata__\":{"
            json += metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0] ?? ""))" }.joined(separator: ",")
            json += "}"
            first = false
        }
        var offset = 0
        for tensor in tensors {
            guard !tensor.name.isEmpty, tensor.name != "__metadata__" else {
                throw SafetensorsError.invalidInput(file: file, detail: "tensor name '\(tensor.name)' is reserved or empty")
            }
            guard seen.insert(tensor.name).inserted else {
                throw SafetensorsError.invalidInput(file: file, detail: "tensor name '\(tensor.name)' appears twice")
            }
            guard tensor.shape.allSatisfy({ $0 >= 0 }), tensor.shape.reduce(1, *) == tensor.count else {
                throw SafetensorsError.invalidInput(file: file,
                    detail: "tensor '\(tensor.name)' has shape \(tensor.shape) but \(tensor.count) values")
            }
            let end = offset + tensor.bytes
            if !first { json += "," }
            first = false
            json += "\(jsonString(tensor.name)):{\"dtype\":\"\(tensor.dtype)\",\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        json += "}"
        var bytes = Data(json.utf8)
        while bytes.count % 8 != 0 { bytes.append(UInt8(ascii: " ")) }
        return bytes
    }

    /// A JSON string literal.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
