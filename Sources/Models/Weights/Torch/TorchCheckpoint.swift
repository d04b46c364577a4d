import Foundation
import NN

// PyTorch checkpoints (`torch.save`) read without Python, in the three layouts torch has written
// (torch/serialization.py; docs/formats.md, "PyTorch checkpoints"):
//   zip (torch ≥ 1.6): `<dir>/data.pkl` (the pickle) and `<dir>/data/<key>` (one file per storage);
//   legacy pickle (torch < 1.6, or `_use_new_zipfile_serialization=False`): magic number, protocol
//     version and sys-info pickles, the object pickle, the list of storage keys, then each storage
//     as an int64 element count and its bytes;
//   tar (torch < 0.1.10): members `storages`, `tensors` and `pickle`.
// Storages are named by persistent ids `('storage', torch.FloatStorage, key, location, numel)`;
// tensors are `_rebuild_tensor_v2(storage, offset, size, stride, …)` views of them.

/// A PyTorch checkpoint read into memory: the selected state dict as safetensors-style entries
/// (contiguous, little-endian) and what else the file holds.
public struct TorchCheckpoint {
    public enum Format: String, Sendable {
        case zip = "zip"
        case legacy = "legacy pickle"
        case tar = "tar"
    }

    public let file: String
    public let format: Format
    /// The path of the state dict inside the checkpoint (`model`, `state_dict`, …; nil = the top level).
    public let key: String?
    /// A prefix removed from every name (`module.`, written by DataParallel), if any.
    public let strippedPrefix: String?
    /// The tensors, named as in the state dict, in its order.
    public let tensors: SafetensorsFile
    /// The other top-level entries of a wrapping dict ("epoch: int", "optimizer: dict of 2", …).
    public let otherEntries: [String]

    /// Whether the bytes look like a PyTorch checkpoint (zip, pickle or tar).
    public static func looksLikeCheckpoint(_ data: Data) -> Bool {
        ZipArchive.isZip(data) || TarArchive.isTar(data) || (data.first == 0x80 && data.count > 2)
    }

    /// Reads `url`; `key` selects the state dict (`model`, or `a/b` for a nested one) instead of
    /// the automatic choice.
    public static func read(from url: URL, key: String? = nil) throws -> TorchCheckpoint {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? error.localizedDescription
            throw TorchCheckpointError.malformed(file: url.path, detail: "cannot read it: \(reason)")
        }
        return try parse(data, file: url.path, key: key)
    }

    public static func parse(_ data: Data, file: String, key: String? = nil) throws -> TorchCheckpoint {
        let data = Data(data)
        let (root, format, storages) = try unpickle(data, file: file)
        let (selected, path, others) = try selectStateDict(root, key: key, file: file)
        var names = selected.map(\.name)
        var prefix: String?
        if !names.isEmpty, names.allSatisfy({ $0.hasPrefix("module.") }) {
            prefix = "module."
            names = names.map { String($0.dropFirst("module.".count)) }
        }
        var entries: [SafetensorsEntry] = []
        for (index, item) in selected.enumerated() {
            let bytes = try materialize(item.tensor, name: item.name, storages: storages, file: file)
            entries.append(SafetensorsEntry(name: names[index], dtype: item.tensor.dtype, shape: item.tensor.shape,
                                            bytes: bytes, file: file))
        }
        return TorchCheckpoint(file: file, format: format, key: path, strippedPrefix: prefix,
                               tensors: SafetensorsFile(file: file, entries: entries), otherEntries: others)
    }

    // MARK: The three layouts

    /// The unpickled object, the layout, and the raw bytes of each storage by key.
    static func unpickle(_ data: Data, file: String) throws -> (PickleValue, Format, [String: Data]) {
        if ZipArchive.isZip(data) {
            let zip = try ZipArchive(data: data, file: file)
            guard let pickleName = zip.names.first(where: { $0 == "data.pkl" || $0.hasSuffix("/data.pkl") }) else {
                let found = zip.names.prefix(5).joined(separator: ", ")
                throw TorchCheckpointError.unrecognized(file: file, found: "a zip archive without data.pkl (members: \(found)\(zip.names.count > 5 ? ", …" : ""))")
            }
            let directory = String(pickleName.dropLast("data.pkl".count))
            if let order = zip.entries[directory + "byteorder"], let text = try? zip.contents(order.name),
               String(decoding: text, as: UTF8.self).hasPrefix("big") {
                throw TorchCheckpointError.unsupported(file: file, detail: "it was saved on a big-endian machine; re-save it on a little-endian one")
            }
            var storages: [String: Data] = [:]
            var problem: Error?
            var unpickler = Unpickler(data: try zip.contents(pickleName), file: file) { id in
                let storage = try storageRef(id, file: file)
                if storages[storage.key] == nil {
                    do {
                        storages[storage.key] = try zip.contents(directory + "data/" + storage.key)
                    } catch {
                        problem = error
                        throw error
                    }
                }
                return .storage(storage)
            }
            let root = try unpickler.load()
            if let problem { throw problem }
            return (root, .zip, storages)
        }
        if TarArchive.isTar(data) { return try unpickleTar(TarArchive(data: data, file: file), file: file) }
        guard data.first == 0x80 else {
            throw TorchCheckpointError.unrecognized(file: file, found: describe(prefix: data))
        }
        return try unpickleLegacy(data, file: file)
    }

    /// `('storage', torch.FloatStorage, key, location, numel[, view_metadata])`.
    static func storageRef(_ id: PickleValue, file: String) throws -> TorchStorageRef {
        guard let parts = id.sequence, parts.count >= 5, parts[0].string == "storage" else {
            throw TorchCheckpointError.malformed(file: file, detail: "a persistent id \(id.kind) that is not a storage")
        }
        let dtype = try TorchPickle.storageType(parts[1], file: file)
        guard let key = keyText(parts[2]), let count = parts[4].int, count >= 0 else {
            throw TorchCheckpointError.malformed(file: file, detail: "a storage id with key \(parts[2].kind) and size \(parts[4].kind)")
        }
        // Legacy view storages: (view_key, offset, view_size) into the root storage.
        if parts.count >= 6, let view = parts[5].sequence, view.count == 3, let offset = view[1].int, let size = view[2].int {
            return TorchStorageRef(key: key, dtype: dtype, count: size, offset: offset)
        }
        return TorchStorageRef(key: key, dtype: dtype, count: count, offset: 0)
    }

    static func keyText(_ value: PickleValue) -> String? {
        switch value {
        case let .string(s): return s
        case let .int(i): return String(i)
        default: return nil
        }
    }

    static let legacyMagic: [UInt8] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]  // 0x1950a86a20f9469cfc6c

    static func unpickleLegacy(_ data: Data, file: String) throws -> (PickleValue, Format, [String: Data]) {
        let noPersistent: (PickleValue) throws -> PickleValue = { _ in
            throw TorchCheckpointError.malformed(file: file, detail: "a persistent id outside the object pickle")
        }
        var reader = Unpickler(data: data, file: file, persistentLoad: noPersistent)
        let magic = try reader.load()
        guard case let .bigInt(bytes) = magic, bytes == legacyMagic else {
            throw TorchCheckpointError.unrecognized(file: file,
                found: "a Python pickle (\(magic.kind)) but not a torch.save file (no PyTorch magic number); segscope reads only tensors from checkpoints")
        }
        let version = try reader.load()
        guard version.int == 1001 else {
            throw TorchCheckpointError.unsupported(file: file, detail: "legacy format version \(version.int.map(String.init) ?? version.kind) (expected 1001)")
        }
        let sysInfo = try reader.load()
        if case let .dict(info) = sysInfo, case let .bool(little)? = info["little_endian"], !little {
            throw TorchCheckpointError.unsupported(file: file, detail: "it was saved on a big-endian machine; re-save it on a little-endian one")
        }
        var storageTypes: [String: SafetensorsDType] = [:]
        var objectReader = Unpickler(data: data, file: file, position: reader.position) { id in
            let storage = try storageRef(id, file: file)
            storageTypes[storage.key] = storage.dtype
            return .storage(storage)
        }
        let root = try objectReader.load()
        reader.position = objectReader.position
        let keysValue = try reader.load()
        guard let keys = keysValue.sequence?.compactMap(keyText) else {
            throw TorchCheckpointError.malformed(file: file, detail: "the storage key list is a \(keysValue.kind)")
        }
        var storages: [String: Data] = [:]
        var position = reader.position
        for key in keys {
            guard let dtype = storageTypes[key] else {
                throw TorchCheckpointError.malformed(file: file, detail: "storage '\(key)' is listed but no tensor uses it")
            }
            guard position + 8 <= data.count else {
                throw TorchCheckpointError.malformed(file: file, detail: "storage '\(key)' starts beyond the end of the file (truncated?)")
            }
            let count = data.withUnsafeBytes { Int(Int64(littleEndian: $0.loadUnaligned(fromByteOffset: position, as: Int64.self))) }
            let length = count * dtype.size
            guard count >= 0, length <= data.count - position - 8 else {
                throw TorchCheckpointError.malformed(file: file,
                    detail: "storage '\(key)' needs \(max(0, count) * dtype.size) bytes at byte \(position + 8) but the file has \(data.count) (truncated?)")
            }
            storages[key] = data.subdata(in: (position + 8)..<(position + 8 + length))
            position += 8 + length
        }
        return (root, .legacy, storages)
    }

    static func unpickleTar(_ tar: TarArchive, file: String) throws -> (PickleValue, Format, [String: Data]) {
        guard let storagesData = tar.members["storages"], let tensorsData = tar.members["tensors"],
              let pickleData = tar.members["pickle"] else {
            throw TorchCheckpointError.unrecognized(file: file,
                found: "a tar archive without the members storages, tensors and pickle of torch's tar format (members: \(tar.members.keys.sorted().joined(separator: ", ")))")
        }
        let none: (PickleValue) throws -> PickleValue = { _ in
            throw TorchCheckpointError.malformed(file: file, detail: "a persistent id in the storage list")
        }
        func malformed(_ detail: String) -> TorchCheckpointError { .malformed(file: file, detail: "tar format: \(detail)") }
        func int64(_ data: Data, _ at: Int) throws -> Int {
            guard at >= 0, at + 8 <= data.count else { throw malformed("a number beyond the end of a member (truncated?)") }
            return data.withUnsafeBytes { Int(Int64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: Int64.self))) }
        }

        // storages: count, then per storage (key, location, type) and int64 count + bytes; then views.
        var storages: [String: (dtype: SafetensorsDType, bytes: Data)] = [:]
        var reader = Unpickler(data: storagesData, file: file, persistentLoad: none)
        guard let storageCount = try reader.load().int, storageCount >= 0 else { throw malformed("the storage count is not a number") }
        for _ in 0..<storageCount {
            guard let header = try reader.load().sequence, header.count == 3, let key = keyText(header[0]) else {
                throw malformed("a storage header that is not (key, location, type)")
            }
            let dtype = try TorchPickle.storageType(header[2], file: file)
            let count = try int64(storagesData, reader.position)
            let start = reader.position + 8
            guard count >= 0, count * dtype.size <= storagesData.count - start else { throw malformed("storage '\(key)' is truncated") }
            storages[key] = (dtype, storagesData.subdata(in: start..<(start + count * dtype.size)))
            reader.position = start + count * dtype.size
        }
        if let views = try reader.load().sequence {
            for view in views {
                guard let parts = view.sequence, parts.count == 4, let target = keyText(parts[0]), let root = keyText(parts[1]),
                      let offset = parts[2].int, let count = parts[3].int, let base = storages[root] else {
                    throw malformed("a storage view that is not (target, root, offset, size) of a known storage")
                }
                let size = base.dtype.size
                guard offset >= 0, count >= 0, (offset + count) * size <= base.bytes.count else { throw malformed("storage view '\(target)' exceeds its root") }
                storages[target] = (base.dtype, base.bytes.subdata(in: (offset * size)..<((offset + count) * size)))
            }
        }

        // tensors: count, then per tensor (key, storage key, type), int32 ndim (+4), sizes, strides, offset.
        var tensors: [String: TorchTensorRef] = [:]
        reader = Unpickler(data: tensorsData, file: file, persistentLoad: none)
        guard let tensorCount = try reader.load().int, tensorCount >= 0 else { throw malformed("the tensor count is not a number") }
        for _ in 0..<tensorCount {
            guard let header = try reader.load().sequence, header.count == 3, let key = keyText(header[0]),
                  let storageKey = keyText(header[1]), let storage = storages[storageKey] else {
                throw malformed("a tensor header that is not (key, storage, type) of a known storage")
            }
            var at = reader.position
            guard at + 8 <= tensorsData.count else { throw malformed("tensor '\(key)' is truncated") }
            let ndim = tensorsData.withUnsafeBytes { Int(Int32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: Int32.self))) }
            guard ndim >= 0, ndim <= 64 else { throw malformed("tensor '\(key)' has \(ndim) dimensions") }
            at += 8
            var shape: [Int] = [], stride: [Int] = []
            for _ in 0..<ndim { shape.append(try int64(tensorsData, at)); at += 8 }
            for _ in 0..<ndim { stride.append(try int64(tensorsData, at)); at += 8 }
            let offset = try int64(tensorsData, at)
            reader.position = at + 8
            let ref = TorchStorageRef(key: storageKey, dtype: storage.dtype, count: storage.bytes.count / storage.dtype.size, offset: 0)
            tensors[key] = TorchTensorRef(storage: ref, offset: offset, shape: shape, stride: stride)
        }

        var main = Unpickler(data: pickleData, file: file) { id in
            if let parts = id.sequence, let first = parts.first { return first }   // a module's source: ignored
            guard let key = keyText(id), let tensor = tensors[key] else {
                throw malformed("the pickle names tensor \(id.kind) that the tensors member does not hold")
            }
            return .tensor(tensor)
        }
        let root = try main.load()
        return (root, .tar, storages.mapValues(\.bytes))
    }

    // MARK: Choosing the state dict

    /// The names a wrapping checkpoint uses for its weights, in order of preference.
    public static let preferredKeys = ["state_dict", "model_state_dict", "model", "net", "network", "weights", "params", "module"]

    /// A dict whose keys are strings and whose values are all tensors (at least one).
    static func tensorDict(_ value: PickleValue) -> [(name: String, tensor: TorchTensorRef)]? {
        guard case let .dict(dict) = value, !dict.entries.isEmpty else { return nil }
        var out: [(String, TorchTensorRef)] = []
        for entry in dict.entries {
            guard let name = entry.key.string, case let .tensor(tensor) = entry.value else { return nil }
            out.append((name, tensor))
        }
        return out
    }

    static func selectStateDict(_ root: PickleValue, key: String?, file: String)
        throws -> ([(name: String, tensor: TorchTensorRef)], String?, [String])
    {
        func others(_ dict: PickleDict, except chosen: String?) -> [String] {
            dict.entries.compactMap { entry in
                guard let name = entry.key.string, name != chosen?.split(separator: "/").first.map(String.init) else { return nil }
                return "\(name): \(entry.value.kind)"
            }
        }
        if let key {
            var value = root
            var walked: [String] = []
            for part in key.split(separator: "/").map(String.init) {
                guard case let .dict(dict) = value else {
                    throw TorchCheckpointError.noStateDict(file: file,
                        detail: "--key \(key): '\(walked.joined(separator: "/"))' is a \(value.kind), not a dict")
                }
                guard let next = dict[part] else {
                    let available = dict.entries.compactMap { $0.key.string.map { "'\($0)'" } }.prefix(12).joined(separator: ", ")
                    throw TorchCheckpointError.noStateDict(file: file,
                        detail: "--key \(key): no entry '\(part)'\(walked.isEmpty ? "" : " in '\(walked.joined(separator: "/"))'"); it holds \(available)")
                }
                walked.append(part)
                value = next
            }
            guard let tensors = tensorDict(value) else {
                throw TorchCheckpointError.noStateDict(file: file, detail: "--key \(key) is a \(value.kind), not a dict of tensors (a state dict)")
            }
            let rest: [String]
            if case let .dict(dict) = root { rest = others(dict, except: key) } else { rest = [] }
            return (tensors, key, rest)
        }
        if let tensors = tensorDict(root) { return (tensors, nil, []) }
        guard case let .dict(dict) = root else {
            throw TorchCheckpointError.noStateDict(file: file, detail: "it holds a \(root.kind), not a state dict (a dict of tensors)")
        }
        // Candidates: dicts of tensors one or two levels down.
        var candidates: [(path: String, tensors: [(name: String, tensor: TorchTensorRef)])] = []
        for entry in dict.entries {
            guard let name = entry.key.string else { continue }
            if let tensors = tensorDict(entry.value) {
                candidates.append((name, tensors))
            } else if case let .dict(inner) = entry.value {
                for child in inner.entries {
                    if let childName = child.key.string, let tensors = tensorDict(child.value) {
                        candidates.append((name + "/" + childName, tensors))
                    }
                }
            }
        }
        let chosen: (path: String, tensors: [(name: String, tensor: TorchTensorRef)])
        if candidates.count == 1 {
            chosen = candidates[0]
        } else if let preferred = preferredKeys.lazy.compactMap({ key in candidates.first(where: { $0.path == key }) }).first {
            chosen = preferred
        } else if candidates.isEmpty {
            let entries = dict.entries.compactMap { e in e.key.string.map { "\($0): \(e.value.kind)" } }.prefix(12).joined(separator: ", ")
            throw TorchCheckpointError.noStateDict(file: file, detail: "no state dict (a dict of tensors) in it; its entries: \(entries)")
        } else {
            let list = candidates.map { "'\($0.path)' (\($0.tensors.count) tensors)" }.joined(separator: ", ")
            throw TorchCheckpointError.noStateDict(file: file, detail: "it holds \(candidates.count) state dicts, \(list); choose one with --key")
        }
        return (chosen.tensors, chosen.path, others(dict, except: chosen.path))
    }

    // MARK: Tensors

    /// The tensor's elements in row-major order, little-endian: the strided view copied out of
    /// its storage (a slice when it is contiguous).
    static func materialize(_ tensor: TorchTensorRef, name: String, storages: [String: Data], file: String) throws -> Data {
        guard let storage = storages[tensor.storage.key] else {
            throw TorchCheckpointError.malformed(file: file, detail: "tensor '\(name)': its storage '\(tensor.storage.key)' is missing")
        }
        let size = tensor.dtype.size
        let count = tensor.shape.reduce(1, *)
        let base = tensor.storage.offset + tensor.offset
        guard count > 0 else { return Data() }
        var last = base
        for (dim, stride) in zip(tensor.shape, tensor.stride) {
            guard stride >= 0 else {
                throw TorchCheckpointError.unsupported(file: file, detail: "tensor '\(name)' has a negative stride \(tensor.stride)")
            }
            last += (dim - 1) * stride
        }
        let available = storage.count / size
        guard last < available else {
            throw TorchCheckpointError.malformed(file: file,
                detail: "tensor '\(name)' \(tensor.shape) with stride \(tensor.stride) at offset \(base) reaches element \(last) of a storage of \(available)")
        }
        // Contiguous: one slice.
        var contiguous = true
        var expected = 1
        for (dim, stride) in zip(tensor.shape, tensor.stride).reversed() where dim != 1 {
            if stride != expected { contiguous = false; break }
            expected *= dim
        }
        if contiguous { return storage.subdata(in: (base * size)..<((base + count) * size)) }
        var out = Data(count: count * size)
        out.withUnsafeMutableBytes { (dst: UnsafeMutableRawBufferPointer) in
            storage.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
                let rank = tensor.shape.count
                var index = [Int](repeating: 0, count: rank)
                var source = base
                for i in 0..<count {
                    (dst.baseAddress! + i * size).copyMemory(from: src.baseAddress! + source * size, byteCount: size)
                    var d = rank - 1
                    while d >= 0 {
                        index[d] += 1
                        source += tensor.stride[d]
                        if index[d] < tensor.shape[d] { break }
                        source -= tensor.stride[d] * tensor.shape[d]
                        index[d] = 0
                        d -= 1
                    }
                }
            }
        }
        return out
    }

    /// The first bytes of a file, for "what was found" in errors.
    static func describe(prefix data: Data) -> String {
        let head = data.prefix(8)
        if head.isEmpty { return "the file is empty" }
        let hex = head.map { String(format: "%02x", $0) }.joined(separator: " ")
        let text = String(decoding: head.map { (0x20..<0x7f).contains($0) ? $0 : UInt8(ascii: ".") }, as: UTF8.self)
        return "it starts with bytes \(hex) (\"\(text)\")"
    }
}
