import Foundation
import NN

/// A weights file of either kind Segscope reads: safetensors, or a PyTorch checkpoint (`.pth` /
/// `.pt`: zip, legacy pickle or tar). The kind is told by the content, not the extension, so a
/// `.pth` that is really safetensors (or the reverse) loads too.
public struct WeightsFile {
    public enum Kind: Equatable, Sendable {
        case safetensors
        case torch(TorchCheckpoint.Format)

        public var description: String {
            switch self {
            case .safetensors: return "safetensors"
            case let .torch(format): return "PyTorch checkpoint (\(format.rawValue) format)"
            }
        }
    }

    public let kind: Kind
    /// The tensors (a PyTorch checkpoint's selected state dict).
    public let tensors: SafetensorsFile
    /// For PyTorch checkpoints: where the state dict was found, the removed prefix and the other entries.
    public let checkpoint: TorchCheckpoint?

    /// Reads either kind; `key` selects the state dict of a PyTorch checkpoint (`--key`).
    public static func open(_ url: URL, key: String? = nil) throws -> WeightsFile {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? error.localizedDescription
            throw SafetensorsError.unreadable(file: url.path, reason: reason)
        }
        return try parse(data, file: url.path, key: key)
    }

    public static func parse(_ data: Data, file: String, key: String? = nil) throws -> WeightsFile {
        if isSafetensors(data) {
            if let key {
                throw TorchCheckpointError.noStateDict(file: file, detail: "--key \(key) is for PyTorch checkpoints; this is a safetensors file")
            }
            return WeightsFile(kind: .safetensors, tensors: try SafetensorsFile.parse(data, file: file), checkpoint: nil)
        }
        guard TorchCheckpoint.looksLikeCheckpoint(data) else {
            // A damaged safetensors file gets the safetensors reader's own message.
            if file.lowercased().hasSuffix(".safetensors") || (data.count > 8 && data[data.startIndex + 8] == UInt8(ascii: "{")) {
                return WeightsFile(kind: .safetensors, tensors: try SafetensorsFile.parse(data, file: file), checkpoint: nil)
            }
            throw TorchCheckpointError.unrecognized(file: file, found: TorchCheckpoint.describe(prefix: data))
        }
        let checkpoint = try TorchCheckpoint.parse(data, file: file, key: key)
        return WeightsFile(kind: .torch(checkpoint.format), tensors: checkpoint.tensors, checkpoint: checkpoint)
    }

    /// The tensors of either kind of file (what every `--weights`-style option reads).
    public static func read(from url: URL, key: String? = nil) throws -> SafetensorsFile {
        try open(url, key: key).tensors
    }

    /// Safetensors: an 8-byte header length that fits the file, then '{'.
    static func isSafetensors(_ data: Data) -> Bool {
        guard data.count >= 9 else { return false }
        let length = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        return length <= UInt64(data.count - 8) && data[data.startIndex + 8] == UInt8(ascii: "{")
    }
}
