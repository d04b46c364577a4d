import Datasets
import Foundation
import NN

/// The per-iteration work of one run: model, data loader, loss and optimizer. The engine owns
/// the schedule, the state machine, evaluation timing, checkpoints and logs; a session only
/// computes. It is created, used and released on the engine thread.
///
/// Wiring NN and Models in means writing one type that conforms to this protocol and passing
/// its factory to `TrainingEngine`.
public protocol TrainingSession: AnyObject {
    var model: ModelOverview { get }
    var classNames: [String] { get }
    /// The classes' colours (256 entries, the dataset's `palette`) for saved masks and overlays.
    var palette: [RGB] { get }
    var trainSamples: Int { get }
    var valSamples: Int { get }
    /// Iterations in one epoch (≥ 1): ⌈train samples / batch⌉ or ⌊…⌋ when the last partial
    /// batch is dropped.
    var iterationsPerEpoch: Int { get }

    /// One optimisation step (forward, loss, backward, update) at `learningRate`; `iteration`
    /// is 1-based and counts from the start of the run (also across a resume).
    func step(iteration: Int, learningRate: Double) throws -> StepResult

    /// Predicts every sample of the validation split (whole or sliding window per the config)
    /// and accumulates one confusion matrix.
    func evaluate() throws -> EvaluationResult

    /// Predicts one validation sample.
    func predict(sampleID: String) throws -> PredictionResult

    /// Everything needed to save the run's state now.
    func checkpoint() throws -> Checkpoint

    /// Restores from a resume file written from `checkpoint()` (weights, optimizer, RNG, …).
    func restore(from file: SafetensorsFile) throws

    /// The ranks of a distributed run, which must agree on every command before one takes
    /// effect (D-167); nil for a single process.
    var rankAgreement: (any RankAgreement)? { get }
}

extension TrainingSession {
    public var rankAgreement: (any RankAgreement)? { nil }
}

extension TrainingSession {
    /// Sessions without a dataset of their own: the built-in palette of their class names.
    public var palette: [RGB] { Palette.automatic(for: classNames) }
}

/// What one iteration measured.
public struct StepResult: Sendable, Equatable {
    /// Mean loss over the labelled pixels of the batch.
    public var loss: Double
    /// Pixels whose argmax equals the label, and labelled (non-void) pixels, in the batch.
    public var correctPixels: Int
    public var labeledPixels: Int
    /// Images in the batch.
    public var images: Int

    public init(loss: Double, correctPixels: Int, labeledPixels: Int, images: Int) {
        self.loss = loss
        self.correctPixels = correctPixels
        self.labeledPixels = labeledPixels
        self.images = images
    }
}

public struct EvaluationResult: Sendable {
    public var confusion: ConfusionMatrix
    public var imageScores: [ImageScore]
    /// Mean validation loss, when computed.
    public var loss: Double?
    /// A fixed few samples with their predictions, saved under the run's `predictions/`.
    public var samples: [EvaluatedSample]
    /// Samples that could not be read (truncated, missing, …): "id: reason", not in the figures.
    public var skipped: [String]
    /// Every scored sample's figures, label quality and confusion cells, in evaluation order
    /// (saved as `predictions/<iteration>/samples.json`, D-188).
    public var sampleMetrics: [SampleMetrics]

    public init(confusion: ConfusionMatrix, imageScores: [ImageScore], loss: Double? = nil, samples: [EvaluatedSample] = [],
                skipped: [String] = [], sampleMetrics: [SampleMetrics] = []) {
        self.sampleMetrics = sampleMetrics
        self.confusion = confusion
        self.imageScores = imageScores
        self.loss = loss
        self.samples = samples
        self.skipped = skipped
    }

    /// One line for a warning: how many were skipped and the first few, by name and reason.
    public var skippedSummary: String? {
        guard !skipped.isEmpty else { return nil }
        let shown = skipped.prefix(5).joined(separator: "; ")
        let more = skipped.count > 5 ? "; … \(skipped.count - 5) more" : ""
        return "evaluation skipped \(skipped.count) of \(skipped.count + imageScores.count) images that could not be read "
            + "(fix or remove them; see segscope data check): \(shown)\(more)"
    }
}

public struct PredictionResult: Sendable {
    public var prediction: LabelMap
    /// The sample's label, when it has one (then the engine scores the prediction).
    public var truth: LabelMap?

    public init(prediction: LabelMap, truth: LabelMap?) {
        self.prediction = prediction
        self.truth = truth
    }
}

/// What a session factory gets besides the configuration.
public struct SessionContext: Sendable {
    /// Posts a warning event (e.g. a sample the loader skipped). Callable from any thread.
    public let warn: @Sendable (String) -> Void

    public init(warn: @escaping @Sendable (String) -> Void) { self.warn = warn }
}

/// Builds a session for a validated configuration; throws a message-bearing error (missing
/// dataset, unknown model, …) that becomes a `failed` event.
public typealias SessionFactory = @Sendable (TrainingConfig, SessionContext) throws -> any TrainingSession
