import Foundation

// The base learning rate's changes during a run (D-260): a command's change is recorded in the
// run's configuration (`lr_changes`); a recorded change is applied at its step boundary.
extension TrainingEngine.ActiveRun {
    /// Sets the base rate from the next iteration on and records the change in `config`.
    func changeLearningRate(to rate: Double) -> LearningRateChanged {
        let change = LearningRateChanged(iteration: iteration, from: baseLearningRate, to: rate)
        baseLearningRate = rate
        config = config.recordingLearningRateChange(after: iteration, to: rate)
        return change
    }

    /// Before the next iteration: applies the change `config` records after the current one
    /// (a run reproduced from its config.toml, or resumed from a checkpoint written before the
    /// change). Nil when there is none or it is already in effect.
    func replayLearningRateChange() -> LearningRateChanged? {
        guard let rate = config.learningRateChange(after: iteration), rate != baseLearningRate else { return nil }
        let change = LearningRateChanged(iteration: iteration, from: baseLearningRate, to: rate, replayed: true)
        baseLearningRate = rate
        return change
    }
}
