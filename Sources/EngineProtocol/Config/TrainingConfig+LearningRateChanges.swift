import Foundation

// Changes of the base learning rate made while a run trains (the cockpit's `L`, `attach --send
// lr=…`), recorded so that the run can be reproduced: the engine writes each into the run's
// config.toml (`lr_changes`) and replays the key at the same step boundaries (D-260).

/// One change of a run's base learning rate: after iteration `iteration` (0: before the first)
/// the base is `rate`; the schedule's factor still applies to it. The config key `lr_changes`
/// lists them as `ITER:RATE,…`.
public struct LearningRateChange: Sendable, Equatable, CustomStringConvertible {
    public var iteration: Int
    public var rate: Double

    public init(iteration: Int, rate: Double) {
        self.iteration = iteration
        self.rate = rate
    }

    /// `ITER:RATE`, the rate in Swift's shortest round-tripping spelling (`0.005`, `1e-05`).
    public var description: String { "\(iteration):\(rate)" }

    static let allowed = "empty, or ITER:RATE pairs separated by commas, ITER an iteration ≥ 0 (increasing) and RATE a learning rate "
        + "(\(LearningRateLimit.allowed)), e.g. 0:0.01,500:0.001"

    /// Parses `ITER:RATE,…` (empty: none); iterations strictly increasing.
    public static func parse(_ text: String) throws(ConfigError) -> [LearningRateChange] {
        var changes: [LearningRateChange] = []
        for raw in text.split(separator: ",") {
            let item = raw.trimmingCharacters(in: .whitespaces)
            if item.isEmpty { continue }
            let parts = item.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let iteration = Int(parts[0]), iteration >= 0 else {
                throw ConfigError(key: "lr_changes", message: "'\(item)' in '\(text)' is not ITER:RATE with ITER an iteration ≥ 0", allowed: allowed)
            }
            guard let rate = Double(parts[1]), LearningRateLimit.allows(rate) else {
                throw ConfigError(key: "lr_changes", message: "'\(parts[1])' in '\(item)' is not a learning rate", allowed: allowed)
            }
            if let last = changes.last, iteration <= last.iteration {
                throw ConfigError(key: "lr_changes", message: "'\(item)' does not come after iteration \(last.iteration)", allowed: allowed)
            }
            changes.append(LearningRateChange(iteration: iteration, rate: rate))
        }
        return changes
    }

    /// The key's text for `changes`.
    public static func text(_ changes: [LearningRateChange]) -> String {
        changes.map(\.description).joined(separator: ",")
    }
}

extension TrainingConfig {
    /// The `lr_changes` key's changes (empty when it does not parse; `problems()` says why).
    public var learningRateChanges: [LearningRateChange] { (try? LearningRateChange.parse(lrChanges)) ?? [] }

    /// The base rate of 1-based `iteration`: the last change made before it, else `lr`.
    public func baseLearningRate(forIteration iteration: Int) -> Double {
        learningRateChanges.last { $0.iteration < iteration }?.rate ?? lr
    }

    /// The rate recorded after `iteration`, if one is: what the engine applies before iteration + 1.
    public func learningRateChange(after iteration: Int) -> Double? {
        learningRateChanges.first { $0.iteration == iteration }?.rate
    }

    /// This configuration with a change to `rate` after `iteration` recorded. Changes recorded at
    /// or after `iteration` go: the new one supersedes them (a resumed run that changes its rate
    /// earlier than its first process did).
    public func recordingLearningRateChange(after iteration: Int, to rate: Double) -> TrainingConfig {
        var config = self
        let kept = learningRateChanges.filter { $0.iteration < iteration }
        config.lrChanges = LearningRateChange.text(kept + [LearningRateChange(iteration: iteration, rate: rate)])
        return config
    }
}
