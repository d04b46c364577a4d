import Foundation
import NN

// An allow-listed reader of Python pickles (protocols 0–5, the opcodes PyTorch checkpoints use)
// that never executes anything. Python's unpickler calls whatever global a pickle names; this one
// only "calls" the few constructors a checkpoint is made of (`torch._utils._rebuild_tensor_v2`,
// `_rebuild_parameter`, `collections.OrderedDict`, …, in `TorchPickle.reduce`). Any other class or
// function stays an opaque value (`PickleValue.object`) that records what it named, so a
// checkpoint holding e.g. an `argparse.Namespace` still loads. Globals that can only serve to run
// code (`os.system`, `subprocess.*`, `builtins.eval`, …) make the whole file refused (DECISIONS D-100).

/// A mutable list (pickles build lists and dicts after memoizing them, so they are references).
public final class PickleList {
    public var items: [PickleValue]
    init(_ items: [PickleValue] = []) { self.items = items }
}

/// A dict in insertion order (Python's dicts and OrderedDicts keep it).
public final class PickleDict {
    public var entries: [(key: PickleValue, value: PickleValue)]
    init(_ entries: [(key: PickleValue, value: PickleValue)] = []) { self.entries = entries }

    public subscript(key: String) -> PickleValue? {
        entries.first(where: { $0.key.string == key })?.value
    }
}

/// What an unknown class or function was given: never called, kept for inspection.
public final class PickleObject {
    public let module: String
    public let name: String
    public let args: [PickleValue]
    public var state: PickleValue?
    init(module: String, name: String, args: [PickleValue]) {
        self.module = module
        self.name = name
        self.args = args
    }
}

/// A value read from a pickle.
public indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer too large for `Int`: its little-endian two's-complement bytes.
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes(Data)
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDict)
    /// A class or function named by the pickle (`module.name`), not imported.
    case global(module: String, name: String)
    /// An instance of an unknown class, or the result of an unknown call.
    case object(PickleObject)
    /// A tensor storage found through a persistent id (see `TorchCheckpoint`).
    case storage(TorchStorageRef)
    /// A tensor view of a storage.
    case tensor(TorchTensorRef)

    public var string: String? { if case let .string(s) = self { return s } else { return nil } }
    public var int: Int? {
        switch self {
        case let .int(i): return i
        case let .bool(b): return b ? 1 : 0
        default: return nil
        }
    }

    /// The elements of a tuple or list.
    public var sequence: [PickleValue]? {
        switch self {
        case let .tuple(items): return items
        case let .list(list): return list.items
        default: return nil
        }
    }

    /// A short description of the kind of value ("int", "dict of 3", "argparse.Namespace", …).
    public var kind: String {
        switch self {
        case .none: return "None"
        case .bool: return "bool"
        case .int, .bigInt: return "int"
        case .float: return "float"
        case .string: return "str"
        case .bytes: return "bytes"
        case let .tuple(items): return "tuple of \(items.count)"
        case let .list(list): return "list of \(list.items.count)"
        case let .dict(dict): return "dict of \(dict.entries.count)"
        case let .global(module, name): return "\(module).\(name)"
        case let .object(object): return "\(object.module).\(object.name)"
        case .storage: return "storage"
        case let .tensor(tensor): return "tensor \(tensor.dtype.rawValue) \(tensor.shape)"
        }
    }
}

/// A storage named by a checkpoint: its element type, its key (the file `data/<key>` in the zip
/// format) and its size in elements.
public struct TorchStorageRef {
    public let key: String
    public let dtype: SafetensorsDType
    public let count: Int
    /// Elements skipped at the start of the keyed storage (legacy view storages).
    public let offset: Int
}

/// `_rebuild_tensor_v2(storage, offset, size, stride, …)`: a strided view of a storage.
public struct TorchTensorRef {
    public let storage: TorchStorageRef
    public let offset: Int
    public let shape: [Int]
    public let stride: [Int]
    public var dtype: SafetensorsDType { storage.dtype }
}

/// A problem with a PyTorch checkpoint; every message names the file.
public enum TorchCheckpointError: Error, CustomStringConvertible, Equatable {
    /// The file is neither a PyTorch checkpoint nor a safetensors file.
    case unrecognized(file: String, found: String)
    case malformed(file: String, detail: String)
    /// The pickle names a global that can only serve to execute code.
    case refusedGlobal(file: String, global: String)
    case unsupported(file: String, detail: String)
    /// No dict of tensors, several with no preferred name, or a `--key` that is not there.
    case noStateDict(file: String, detail: String)

    public var description: String {
        switch self {
        case let .unrecognized(file, found):
            return "\(file) is neither a PyTorch checkpoint (.pth/.pt: zip, legacy pickle or tar) nor a safetensors file: \(found)"
        case let .malformed(file, detail):
            return "PyTorch checkpoint \(file) is damaged: \(detail)"
        case let .refusedGlobal(file, global):
            return "refusing PyTorch checkpoint \(file): its pickle names \(global), which runs code when unpickled "
                + "(a weights file never needs it; nothing was executed). Only load checkpoints from sources you trust"
        case let .unsupported(file, detail):
            return "PyTorch checkpoint \(file): \(detail)"
        case let .noStateDict(file, detail):
            return "PyTorch checkpoint \(file): \(detail)"
        }
    }
}

/// The unpickler. `persistentLoad` resolves persistent ids (PyTorch's storages).
struct Unpickler {
    let data: Data
    let file: String
    var position: Int
    let persistentLoad: (PickleValue) throws -> PickleValue

    init(data: Data, file: String, position: Int = 0, persistentLoad: @escaping (PickleValue) throws -> PickleValue) {
        self.data = data
        self.file = file
        self.position = position
        self.persistentLoad = persistentLoad
    }

    private func malformed(_ detail: String) -> TorchCheckpointError {
        .malformed(file: file, detail: detail)
    }

    private mutating func byte() throws -> UInt8 {
        guard position < data.count else { throw malformed("the pickle ends at byte \(position) without its STOP opcode") }
        defer { position += 1 }
        return data[data.startIndex + position]
    }

    private mutating func bytes(_ count: Int) throws -> Data {
        guard count >= 0, count <= data.count - position else {
            throw malformed("the pickle needs \(count) bytes at byte \(position) but the data ends at \(data.count)")
        }
        defer { position += count }
        let start = data.startIndex + position
        return data.subdata(in: start..<(start + count))
    }

    private mutating func uint(_ size: Int) throws -> UInt64 {
        let raw = try bytes(size)
        var value: UInt64 = 0
        for (i, b) in raw.enumerated() { value |= UInt64(b) << (8 * UInt64(i)) }
        return value
    }

    private mutating func line() throws -> String {
        var out: [UInt8] = []
        while true {
            let b = try byte()
            if b == UInt8(ascii: "\n") { break }
            out.append(b)
        }
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func length(_ size: Int) throws -> Int {
        let n = try uint(size)
        guard n <= UInt64(data.count) else { throw malformed("a length of \(n) bytes at byte \(position - size) exceeds the data") }
        return Int(n)
    }

    private func utf8(_ raw: Data) throws -> String {
        guard let text = String(data: raw, encoding: .utf8) else { throw malformed("a string that is not UTF-8 at byte \(position)") }
        return text
    }

    /// Reads one pickle (up to and including its STOP opcode).
    mutating func load() throws -> PickleValue {
        var stack: [PickleValue] = []
        var marks: [Int] = []
        var memo: [Int: PickleValue] = [:]

        func pop() throws -> PickleValue {
            guard let value = stack.popLast() else { throw malformed("stack underflow at byte \(position)") }
            return value
        }
        func popMark() throws -> [PickleValue] {
            guard let mark = marks.popLast(), mark <= stack.count else { throw malformed("MARK expected at byte \(position)") }
            let items = Array(stack[mark...])
            stack.removeSubrange(mark...)
            return items
        }
        func top() throws -> PickleValue {
            guard let value = stack.last else { throw malformed("stack underflow at byte \(position)") }
            return value
        }
        func setItems(_ target: PickleValue, _ items: [PickleValue]) throws {
            guard items.count % 2 == 0 else { throw malformed("SETITEMS with an odd number of items at byte \(position)") }
            switch target {
            case let .dict(dict):
                for i in stride(from: 0, to: items.count, by: 2) { dict.entries.append((items[i], items[i + 1])) }
            case .object:
                break  // an opaque object's items are not needed
            default:
                throw malformed("SETITEM on a \(target.kind) at byte \(position)")
            }
        }
        func append(_ target: PickleValue, _ items: [PickleValue]) throws {
            switch target {
            case let .list(list): list.items += items
            case .object: break
            default: throw malformed("APPEND on a \(target.kind) at byte \(position)")
            }
        }
        func global(_ module: String, _ name: String) throws -> PickleValue {
            if TorchPickle.isRefused(module: module, name: name) {
                throw TorchCheckpointError.refusedGlobal(file: file, global: "\(module).\(name)")
            }
            return .global(module: module, name: name)
        }

        while true {
            let opcode = try byte()
            switch opcode {
            case 0x80: _ = try byte()                                   // PROTO
            case 0x95: _ = try uint(8)                                  // FRAME
            case UInt8(ascii: "."): return try pop()                    // STOP
            case UInt8(ascii: "("): marks.append(stack.count)           // MARK
            case UInt8(ascii: "0"): _ = try pop()                       // POP
            case UInt8(ascii: "1"): _ = try popMark()                   // POP_MARK
            case UInt8(ascii: "2"): stack.append(try top())             // DUP
            case UInt8(ascii: "N"): stack.append(.none)
            case 0x88: stack.append(.bool(true))                        // NEWTRUE
            case 0x89: stack.append(.bool(false))                       // NEWFALSE
            case UInt8(ascii: "J"): stack.append(.int(Int(Int32(truncatingIfNeeded: try uint(4)))))   // BININT
            case UInt8(ascii: "K"): stack.append(.int(Int(try byte())))                              // BININT1
            case UInt8(ascii: "M"): stack.append(.int(Int(try uint(2))))                             // BININT2
            case 0x8a, 0x8b:                                                                        // LONG1, LONG4
                let n = try length(opcode == 0x8a ? 1 : 4)
                let raw = [UInt8](try bytes(n))
                if n == 0 {
                    stack.append(.int(0))
                } else if n <= 8 {
                    var value: UInt64 = 0
                    for (i, b) in raw.enumerated() { value |= UInt64(b) << (8 * UInt64(i)) }
                    if raw[n - 1] & 0x80 != 0 && n < 8 { value |= ~UInt64(0) << (8 * UInt64(n)) }
                    stack.append(.int(Int(Int64(bitPattern: value))))
                } else {
                    stack.append(.bigInt(raw))
                }
            case UInt8(ascii: "I"):                                                                  // INT
                let text = try line()
                if text == "01" { stack.append(.bool(true)) } else if text == "00" { stack.append(.bool(false)) } else {
                    guard let value = Int(text) else { throw malformed("INT '\(text)' at byte \(position)") }
                    stack.append(.int(value))
                }
            case UInt8(ascii: "L"):                                                                  // LONG
                var text = try line()
                if text.hasSuffix("L") { text.removeLast() }
                guard let value = Int(text) else { throw malformed("LONG '\(text)' at byte \(position)") }
                stack.append(.int(value))
            case UInt8(ascii: "G"): stack.append(.float(Double(bitPattern: UInt64(bigEndian: try uint(8)))))  // BINFLOAT
            case UInt8(ascii: "F"):                                                                  // FLOAT
                let text = try line()
                guard let value = Double(text) else { throw malformed("FLOAT '\(text)' at byte \(position)") }
                stack.append(.float(value))
            case UInt8(ascii: "X"): stack.append(.string(try utf8(try bytes(try length(4)))))        // BINUNICODE
            case 0x8c: stack.append(.string(try utf8(try bytes(try length(1)))))                      // SHORT_BINUNICODE
            case 0x8d: stack.append(.string(try utf8(try bytes(try length(8)))))                      // BINUNICODE8
            case UInt8(ascii: "V"): stack.append(.string(try line()))                                  // UNICODE (raw-unicode-escape; ASCII names)
            case UInt8(ascii: "T"): stack.append(.string(String(decoding: try bytes(try length(4)), as: UTF8.self)))  // BINSTRING
            case UInt8(ascii: "U"): stack.append(.string(String(decoding: try bytes(try length(1)), as: UTF8.self)))  // SHORT_BINSTRING
            case UInt8(ascii: "S"):                                                                  // STRING
                var text = try line()
                if text.count >= 2, let q = text.first, q == "'" || q == "\"", text.last == q {
                    text = String(text.dropFirst().dropLast())
                }
                stack.append(.string(text))
            case UInt8(ascii: "B"): stack.append(.bytes(try bytes(try length(4))))                    // BINBYTES
            case UInt8(ascii: "C"): stack.append(.bytes(try bytes(try length(1))))                    // SHORT_BINBYTES
            case 0x8e, 0x96: stack.append(.bytes(try bytes(try length(8))))                           // BINBYTES8, BYTEARRAY8
            case UInt8(ascii: ")"): stack.append(.tuple([]))                                           // EMPTY_TUPLE
            case UInt8(ascii: "t"): stack.append(.tuple(try popMark()))                               // TUPLE
            case 0x85: stack.append(.tuple([try pop()]))                                               // TUPLE1
            case 0x86: let b = try pop(), a = try pop(); stack.append(.tuple([a, b]))                  // TUPLE2
            case 0x87: let c = try pop(), b = try pop(), a = try pop(); stack.append(.tuple([a, b, c]))  // TUPLE3
            case UInt8(ascii: "]"): stack.append(.list(PickleList()))                                  // EMPTY_LIST
            case UInt8(ascii: "l"): stack.append(.list(PickleList(try popMark())))                    // LIST
            case UInt8(ascii: "a"): let item = try pop(); try append(try top(), [item])               // APPEND
            case UInt8(ascii: "e"): let items = try popMark(); try append(try top(), items)           // APPENDS
            case UInt8(ascii: "}"): stack.append(.dict(PickleDict()))                                  // EMPTY_DICT
            case UInt8(ascii: "d"):                                                                  // DICT
                let dict = PickleDict()
                try setItems(.dict(dict), try popMark())
                stack.append(.dict(dict))
            case UInt8(ascii: "s"): let v = try pop(), k = try pop(); try setItems(try top(), [k, v]) // SETITEM
            case UInt8(ascii: "u"): let items = try popMark(); try setItems(try top(), items)         // SETITEMS
            case 0x8f: stack.append(.list(PickleList()))                                               // EMPTY_SET (as a list)
            case 0x90: let items = try popMark(); try append(try top(), items)                        // ADDITEMS
            case 0x91: stack.append(.tuple(try popMark()))                                             // FROZENSET
            case UInt8(ascii: "p"):                                                                  // PUT
                guard let index = Int(try line()) else { throw malformed("PUT index at byte \(position)") }
                memo[index] = try top()
            case UInt8(ascii: "q"): memo[Int(try byte())] = try top()                                 // BINPUT
            case UInt8(ascii: "r"): memo[Int(try uint(4))] = try top()                                // LONG_BINPUT
            case 0x94: memo[memo.count] = try top()                                                    // MEMOIZE
            case UInt8(ascii: "g"), UInt8(ascii: "h"), UInt8(ascii: "j"):                            // GET, BINGET, LONG_BINGET
                let index: Int
                switch opcode {
                case UInt8(ascii: "g"):
                    guard let i = Int(try line()) else { throw malformed("GET index at byte \(position)") }
                    index = i
                case UInt8(ascii: "h"): index = Int(try byte())
                default: index = Int(try uint(4))
                }
                guard let value = memo[index] else { throw malformed("memo entry \(index) read before it was written (byte \(position))") }
                stack.append(value)
            case UInt8(ascii: "c"):                                                                  // GLOBAL
                let module = try line(), name = try line()
                stack.append(try global(module, name))
            case 0x93:                                                                               // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard let m = module.string, let n = name.string else { throw malformed("STACK_GLOBAL without strings at byte \(position)") }
                stack.append(try global(m, n))
            case UInt8(ascii: "R"):                                                                  // REDUCE
                let args = try pop(), callable = try pop()
                guard let list = args.sequence else { throw malformed("REDUCE with \(args.kind) arguments at byte \(position)") }
                stack.append(try TorchPickle.reduce(callable, list, file: file))
            case 0x81, 0x92:                                                                         // NEWOBJ, NEWOBJ_EX
                if opcode == 0x92 { _ = try pop() }
                let args = try pop(), cls = try pop()
                stack.append(try TorchPickle.reduce(cls, args.sequence ?? [], file: file))
            case UInt8(ascii: "i"):                                                                  // INST
                let module = try line(), name = try line()
                let cls = try global(module, name)
                stack.append(try TorchPickle.reduce(cls, try popMark(), file: file))
            case UInt8(ascii: "o"):                                                                  // OBJ
                var items = try popMark()
                guard !items.isEmpty else { throw malformed("OBJ without a class at byte \(position)") }
                let cls = items.removeFirst()
                stack.append(try TorchPickle.reduce(cls, items, file: file))
            case UInt8(ascii: "b"):                                                                  // BUILD
                let state = try pop()
                if case let .object(object) = try top() { object.state = state }
                // A dict's state (an OrderedDict's `_metadata`) and a tensor's are not needed.
            case UInt8(ascii: "Q"): stack.append(try persistentLoad(try pop()))                       // BINPERSID
            case UInt8(ascii: "P"): stack.append(try persistentLoad(.string(try line())))             // PERSID
            case 0x82, 0x83, 0x84:
                throw TorchCheckpointError.unsupported(file: file, detail: "its pickle uses the copyreg extension registry (EXT opcodes), which checkpoints do not")
            default:
                throw malformed(String(format: "unknown pickle opcode 0x%02x at byte %d", opcode, position - 1))
            }
        }
    }
}

/// The globals a checkpoint may call, and the ones that refuse a file.
enum TorchPickle {
    /// Modules whose every global can only serve to run code, touch files or the network.
    static let refusedModules: Set<String> = [
        "os", "posix", "nt", "subprocess", "sys", "shutil", "socket", "importlib", "runpy", "pickle", "_pickle",
        "marshal", "types", "code", "codeop", "ctypes", "pty", "webbrowser", "multiprocessing", "signal",
        "operator", "functools", "pdb", "bdb", "timeit", "commands", "popen2", "platform", "asyncio", "threading",
        "_thread", "io", "_io", "pathlib", "tempfile", "urllib", "http", "ftplib", "smtplib", "telnetlib", "pip",
        "setuptools", "distutils", "torch.hub", "torch.ops", "torch._ops",
    ]
    /// The only builtins a pickle may name (Python's own data types).
    static let allowedBuiltins: Set<String> = ["set", "frozenset", "bytearray", "slice", "complex", "range", "object", "list", "dict", "tuple"]

    static func isRefused(module: String, name: String) -> Bool {
        let root = module.split(separator: ".").first.map(String.init) ?? module
        if refusedModules.contains(module) || refusedModules.contains(root) { return true }
        if module == "builtins" || module == "__builtin__" { return !allowedBuiltins.contains(name) }
        return false
    }

    /// The storage classes of `torch.save` (`torch.FloatStorage`, …) and their element types.
    static let storageTypes: [String: SafetensorsDType] = [
        "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16, "DoubleStorage": .f64,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
        "ByteStorage": .u8, "BoolStorage": .bool,
    ]

    /// The element type of a storage class global, or an error naming it.
    static func storageType(_ value: PickleValue, file: String) throws -> SafetensorsDType {
        guard case let .global(module, name) = value, module == "torch" else {
            throw TorchCheckpointError.malformed(file: file, detail: "a storage of type \(value.kind) (expected torch.FloatStorage or similar)")
        }
        guard let dtype = storageTypes[name] else {
            throw TorchCheckpointError.unsupported(file: file,
                detail: "tensors of torch.\(name) are not supported (supported: float32, float16, bfloat16, float64 and integer types); "
                    + "convert them with PyTorch first, e.g. {k: v.float() for k, v in state_dict.items()}")
        }
        return dtype
    }

    /// A call the pickle asks for: the allowed constructors are evaluated, anything else is kept
    /// as an opaque object.
    static func reduce(_ callable: PickleValue, _ args: [PickleValue], file: String) throws -> PickleValue {
        guard case let .global(module, name) = callable else {
            if case let .object(object) = callable {   // a call of an opaque value stays opaque
                return .object(PickleObject(module: object.module, name: object.name, args: args))
            }
            throw TorchCheckpointError.malformed(file: file, detail: "a call of a \(callable.kind)")
        }
        switch (module, name) {
        case ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor"):
            return .tensor(try rebuildTensor(args, file: file))
        case ("torch._utils", "_rebuild_parameter"), ("torch._utils", "_rebuild_parameter_with_state"),
             ("torch.nn.parameter", "Parameter"):
            guard let data = args.first else { throw TorchCheckpointError.malformed(file: file, detail: "\(name) without its tensor") }
            return data
        case ("torch._tensor", "_rebuild_from_type_v2"):
            // (func, new_type, args, state): a tensor subclass; rebuild the plain tensor.
            guard args.count >= 3, let inner = args[2].sequence else {
                throw TorchCheckpointError.malformed(file: file, detail: "_rebuild_from_type_v2 with \(args.count) arguments")
            }
            return try reduce(args[0], inner, file: file)
        case ("collections", "OrderedDict"), ("builtins", "dict"), ("__builtin__", "dict"):
            let dict = PickleDict()
            if let items = args.first?.sequence {
                for item in items {
                    if let pair = item.sequence, pair.count == 2 { dict.entries.append((pair[0], pair[1])) }
                }
            }
            return .dict(dict)
        case ("torch", "Size"), ("builtins", "tuple"), ("builtins", "frozenset"), ("builtins", "set"), ("builtins", "list"):
            return .tuple(args.first?.sequence ?? [])
        default:
            return .object(PickleObject(module: module, name: name, args: args))
        }
    }

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`.
    static func rebuildTensor(_ args: [PickleValue], file: String) throws -> TorchTensorRef {
        guard args.count >= 4, case let .storage(storage) = args[0], let offset = args[1].int,
              let size = args[2].sequence, let stride = args[3].sequence else {
            throw TorchCheckpointError.malformed(file: file,
                detail: "_rebuild_tensor_v2 expects (storage, offset, size, stride, …), got (\(args.map(\.kind).joined(separator: ", ")))")
        }
        let shape = size.compactMap(\.int), strides = stride.compactMap(\.int)
        guard shape.count == size.count, strides.count == stride.count, shape.count == strides.count,
              offset >= 0, shape.allSatisfy({ $0 >= 0 }) else {
            throw TorchCheckpointError.malformed(file: file, detail: "a tensor with offset \(offset), size \(size.map(\.kind)), stride \(stride.map(\.kind))")
        }
        return TorchTensorRef(storage: storage, offset: offset, shape: shape, stride: strides)
    }
}
