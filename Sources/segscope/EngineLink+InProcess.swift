import EngineProtocol
import Training
import TUI

extension EngineLink {
    /// A link to a training engine in this process whose sessions `makeSession` builds
    /// (`ModelTrainingSession` in the program). The terminal front does not link Training: the
    /// program makes the engine and hands the link in (D-200).
    static func inProcess(makeSession: @escaping SessionFactory) -> EngineLink {
        EngineLink(host: TrainingEngine(makeSession: makeSession))
    }
}
