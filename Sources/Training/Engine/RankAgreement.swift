import Foundation

/// What every rank of a distributed run does next, agreed at a step boundary (D-167).
public struct ControlDecision: Equatable, Sendable {
    /// Stop the run (any rank may ask: a signal reaches the rank it was sent to).
    public var stop = false
    /// Save the last checkpoint now (any rank; rank 0 writes it).
    public var saveCheckpoint = false
    /// Evaluate now (rank 0's viewers only).
    public var evaluateNow = false
    /// Paused after this boundary (rank 0's state).
    public var paused = false
    /// A new base learning rate (rank 0's viewers only).
    public var baseLearningRate: Double?

    public init(stop: Bool = false, saveCheckpoint: Bool = false, evaluateNow: Bool = false, paused: Bool = false,
                baseLearningRate: Double? = nil) {
        self.stop = stop
        self.saveCheckpoint = saveCheckpoint
        self.evaluateNow = evaluateNow
        self.paused = paused
        self.baseLearningRate = baseLearningRate
    }
}

extension ControlDecision {
    /// The values one rank contributes to the agreement's sum (six doubles): stop and save from
    /// any rank, the rest from the leader alone (the others contribute 0).
    public func contribution(asLeader leader: Bool) -> [Double] {
        [stop ? 1 : 0, saveCheckpoint ? 1 : 0, leader && evaluateNow ? 1 : 0, leader && paused ? 1 : 0,
         leader && baseLearningRate != nil ? 1 : 0, leader ? baseLearningRate ?? 0 : 0]
    }

    /// The decision from the sum of every rank's `contribution`.
    public init(sum: [Double]) {
        self.init(stop: sum[0] > 0, saveCheckpoint: sum[1] > 0, evaluateNow: sum[2] > 0, paused: sum[3] > 0,
                  baseLearningRate: sum[4] > 0 ? sum[5] : nil)
    }
}

/// How the ranks of a distributed run agree on the commands viewers and signals gave any one of
/// them, so that every rank takes the same steps, evaluations and pauses (their collectives must
/// match). One call on every rank, in the same order; rank 0 (`isLeader`) decides what only a
/// viewer can ask (pause, learning rate, evaluate now), any rank can ask to stop or to save.
public protocol RankAgreement: AnyObject {
    var isLeader: Bool { get }
    var rank: Int { get }
    /// Combines every rank's `proposal`; returns the same decision on every rank. While waiting,
    /// `abandon` (when given) is asked every few milliseconds; true gives up the agreement
    /// (the result is then nil and the job must be aborted: the other ranks cannot go on).
    func agree(_ proposal: ControlDecision, abandon: (() -> Bool)?) throws -> ControlDecision?
}
