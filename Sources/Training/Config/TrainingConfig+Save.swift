import Foundation
import NN

extension TrainingConfig {
    /// Writes `tomlText` atomically (the engine's side: the protocol module only reads configs).
    public func save(to url: URL, header: String? = nil) throws {
        try AtomicFile.write(Data(tomlText(header: header).utf8), to: url)
    }
}
