import EngineProtocol

/// The engine in this process is a host a front's `EngineLink` drives (`EngineLink.inProcess`
/// in the program).
extension TrainingEngine: EngineHost {}
