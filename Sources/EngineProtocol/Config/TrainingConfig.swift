import Datasets
import Foundation

/// Height × width in pixels (crop, window, stride). TOML: `[h, w]`; command line: `HxW` or `N`.
public struct PixelSize: Sendable, Codable, Equatable, CustomStringConvertible {
    public var height: Int
    public var width: Int

    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
    }

    public init(square: Int) { self.init(height: square, width: square) }

    public var description: String { "\(height)x\(width)" }

    /// Parses `160x240` (height × width) or `160`.
    public init?(parsing text: String) {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        if parts.count == 1, let n = Int(parts[0]) {
            self.init(square: n)
        } else if parts.count == 2, let h = Int(parts[0]), let w = Int(parts[1]) {
            self.init(height: h, width: w)
        } else {
            return nil
        }
    }
}

public enum OptimizerKind: String, Sendable, Codable, CaseIterable { case sgd, adam, adamw, rmsprop }
public enum ScheduleKind: String, Sendable, Codable, CaseIterable { case constant, step, poly, cosine }
/// `best-and-last`: `checkpoints/last` at every evaluation and at the end, `checkpoints/best`
/// whenever val mIoU improves (Keras `save_best_only`, MMEngine `save_best='mIoU'`).
public enum CheckpointPolicy: String, Sendable, Codable, CaseIterable {
    case bestAndLast = "best-and-last", last, none
}
/// Validation inference: the whole image at once, or MMSegmentation's sliding window.
public enum InferenceMode: String, Sendable, Codable, CaseIterable { case whole, slide }
/// `dnnl`: oneDNN primitives (the default; see Training's `BackendKind+Select.swift`);
/// `reference`: im2col + OpenBLAS. Read from any spelling `canonicalName` knows ("fast", the
/// key's earlier name for dnnl, included).
public enum BackendKind: String, Sendable, Codable, CaseIterable {
    case dnnl, reference
    public init?(rawValue: String) {
        switch Self.canonicalName(rawValue) {
        case "dnnl": self = .dnnl
        case "reference": self = .reference
        default: return nil
        }
    }

    /// The one spelling of the backend `text` names ("onednn" and "fast" for "dnnl", "ref" for
    /// "reference", any case), or nil. The protocol does not link the tensor engine, so this is
    /// the table a config and a front read; NN's `Backends.canonicalName` (the engine's by-name
    /// API) must agree, which `BackendKindTests` checks for every spelling (D-201).
    public static func canonicalName(_ text: String) -> String? {
        switch text.lowercased() {
        case "dnnl", "onednn", "fast": return "dnnl"
        case "reference", "ref": return "reference"
        default: return nil
        }
    }
    /// Every spelling `canonicalName` reads.
    public static let spellings = ["dnnl", "onednn", "fast", "reference", "ref"]
    /// The earlier name of `.dnnl`.
    public static var fast: BackendKind { .dnnl }
}
/// Images smaller than the crop: pad (image with the mean, label with 255) or drop them.
public enum SmallImagePolicy: String, Sendable, Codable, CaseIterable { case pad, drop }
/// Batch norm while training: `batch` normalises with each batch's statistics (per rank in a
/// distributed run) and updates the running averages; `frozen` normalises with the running
/// statistics and leaves them (the affine weight and bias still train), so the step does not
/// depend on how a batch is split over ranks; `sync` normalises with the statistics of the
/// whole batch over all ranks (PyTorch's SyncBatchNorm; in one process the same as `batch`).
public enum BatchNormMode: String, Sendable, Codable, CaseIterable { case batch, sync, frozen }

/// Everything that defines a training run. Saved as the run directory's `config.toml`; loaded
/// from `--config FILE`; individual keys overridden on the command line. Keys and their meaning:
/// `TrainingConfig.keys` (one table drives TOML, overrides, validation and the help text).
///
/// The defaults train the default model (`xunet`) on the built-in demo set.
public struct TrainingConfig: Sendable, Codable, Equatable {
    public var model = "xunet"
    /// Dataset directory; empty means the demo set in the user's cache directory.
    public var data = ""
    public var format: DatasetFormat = .auto
    public var split = "train"
    public var valSplit = "val"
    public var crop = PixelSize(square: 160)
    public var smallImages: SmallImagePolicy = .pad
    public var batch = 8
    /// Exactly one of `epochs` / `iterations` is positive; the other is 0.
    public var epochs = 10
    public var iterations = 0
    public var optimizer: OptimizerKind = .adam
    public var lr = 1e-3
    /// Changes of the base rate made while the run trained, `ITER:RATE,…` (`LearningRateChange`):
    /// replayed at the same step boundaries, so the file reproduces the run's rates.
    public var lrChanges = ""
    public var schedule: ScheduleKind = .poly
    public var polyPower = 0.9
    /// For `schedule = "step"`: multiply by `stepGamma` every `stepSize` iterations.
    public var stepSize = 0
    public var stepGamma = 0.1
    public var warmupIterations = 0
    public var weightDecay = 0.0
    public var momentum = 0.9
    public var seed = 0
    /// 0 = every core.
    public var threads = 0
    /// Evaluate every N epochs (when `epochs` is set) or N iterations (when `iterations` is set);
    /// 0 = `effectiveEvalInterval`'s default for the unit in use.
    public var evalInterval = 0
    public var evalMode: InferenceMode = .whole
    /// Sliding-window stride; 0×0 means two thirds of the crop (MMSegmentation's 512 / 341).
    public var evalStride = PixelSize(square: 0)
    /// Most pixels one forward pass takes (`ImageSizeLimit`): larger images are predicted in
    /// tiles; `crop × batch` must fit.
    public var maxWholeImagePixels = ImageSizeLimit.defaultWholeImagePixels
    public var checkpoint: CheckpointPolicy = .bestAndLast
    /// Sample-prediction folders (`predictions/<iteration>/`) to keep: the best evaluation's and
    /// the last N evaluations'; 0 = keep every evaluation's.
    public var keepPredictions = 5
    /// Before each evaluation, recompute batch-norm statistics from this many random training
    /// crops ("precise BN"; see `Layer.recomputeBatchNormStatistics`); 0 = off.
    public var preciseBNImages = 64
    /// Batch norm in training: batch, synchronised over ranks, or frozen running statistics (`BatchNormMode`).
    public var batchNorm: BatchNormMode = .batch
    /// Stop when val mIoU has not improved for this many evaluations; 0 = never.
    public var earlyStoppingPatience = 0
    public var backend: BackendKind = .dnnl
    /// Convolution arithmetic: fp32, or bf16 with fp32 masters and results (`NumericPrecision`).
    public var precision: NumericPrecision = .fp32
    /// Where run directories are created.
    public var runsDir = "runs"
    /// A `checkpoints/last.resume.safetensors` to continue from exactly; empty = a fresh run.
    public var resume = ""
    /// torchvision ResNet-18 weights (safetensors) for fcn-resnet18's backbone; empty = none.
    public var backboneWeights = ""
    /// The state dict inside a wrapping `backbone_weights` checkpoint; empty = found automatically.
    public var backboneWeightsKey = ""

    // Recipe keys (issue #15): losses, labels, augmentation, test-time augmentation. See
    // `TrainingConfig+Recipe.swift` for their meaning and checks.
    /// The named recipe this configuration was expanded from (`ConfigRecipe`); empty = none.
    /// Applied where it is read (a TOML file, `--set` / `--recipe`), under that source's other keys.
    public var recipe = ""
    /// Loss terms, MMSegmentation's `loss_decode` as text: `ce`, `ce+dice:0.5`, `ohem+lovasz:0.5`.
    public var loss = "ce"
    /// Per-class cross-entropy / OHEM weights, comma-separated; empty = none.
    public var classWeights = ""
    /// Cross-entropy mean over non-ignored pixels (MMSeg `avg_non_ignore`) instead of PyTorch's weighted mean.
    public var avgNonIgnore = false
    public var labelSmoothing = 0.0
    public var diceSmooth = 0.0
    public var focalGamma = 2.0
    /// A number in [0, 1] or "none" (smp's default: no class balancing).
    public var focalAlpha = "none"
    public var ohemThresh = 0.7
    public var ohemMinKept = 100_000
    /// Weight of the auxiliary head's loss (models with one; torchvision's recipe: 0.5).
    public var auxLossWeight = 0.5
    /// Learning-rate multiplier of the head (every parameter outside the backbone; MMSeg: 10).
    public var headLRMult = 1.0
    /// Label value treated as void (mapped to 255) besides 255 itself.
    public var ignoreIndex = 255
    /// ADE20K's rule: label 0 becomes void, every other label one less (MMSeg `reduce_zero_label`).
    public var reduceZeroLabel = false
    /// The Pets trimap border: a class of its own or void.
    public var petsBorder: DatasetOptions.PetsBorder = .separateClass
    /// Class colours of masks, overlays and legends: the dataset's own or a built-in palette.
    public var palette: ClassPalette = .auto
    /// Random resize: target scale [height, width] ([0, 0] = the image's own size) times a ratio
    /// drawn from [resize_ratio_min, resize_ratio_max]; 1, 1 = off.
    public var resizeScale = PixelSize(square: 0)
    public var resizeRatioMin = 1.0
    public var resizeRatioMax = 1.0
    /// Keep the aspect ratio when resizing to `resize_scale` (MMSeg `keep_ratio`).
    public var keepRatio = true
    /// Random crop: retry (up to 10 times) a crop where one class covers more than this share; 1 = off.
    public var catMaxRatio = 1.0
    public var flipProb = 0.5
    /// MMSeg's PhotoMetricDistortion (brightness ±32, contrast and saturation 0.5–1.5, hue ±18, each p = 0.5).
    public var photometric = false
    /// Test-time augmentation of the evaluations during training.
    public var evalTTA: TTAMode = .ss
    /// The scales of `ms` test-time augmentation, comma-separated (MMSeg: 0.5 … 1.75).
    public var ttaScales = "0.5,0.75,1.0,1.25,1.5,1.75"

    public init() {}

    /// Models the engine can build: the names of `ModelFacts.all`.
    public static var modelNames: [String] { ModelFacts.all.map(\.name) }

    /// The sliding-window stride in effect.
    public var effectiveStride: PixelSize {
        if evalStride.height > 0 && evalStride.width > 0 { return evalStride }
        return PixelSize(height: max(1, (crop.height * 2 + 2) / 3), width: max(1, (crop.width * 2 + 2) / 3))
    }

    /// The evaluation interval in effect, in the run's unit: `evalInterval`, or when 0 every 2
    /// epochs / a tenth of the iterations (MMSegmentation's 4000 of 40k). One number cannot serve
    /// both units: "2" meant every 2 epochs and, reused, every 2 iterations.
    public var effectiveEvalInterval: Int {
        if evalInterval > 0 { return evalInterval }
        return countsEpochs ? 2 : max(1, iterations / 10)
    }

    /// Upper bounds that keep `epochs × iterations per epoch` and friends far from overflow.
    public static let maxEpochs = 1_000_000
    public static let maxIterations = 1_000_000_000

    /// Cores this process may use: the upper bound of `threads`.
    public static var availableCores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Whether the run is measured in epochs (else in iterations); eval interval uses the same unit.
    public var countsEpochs: Bool { epochs > 0 }
}

// MARK: - Errors

/// A bad configuration value: names the key, what is wrong, and the allowed values.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    public var key: String
    public var message: String
    /// The allowed values or range, e.g. "sgd, adam, adamw, rmsprop" or "an integer ≥ 1".
    public var allowed: String
    /// The file the value came from, when it came from one.
    public var source: String?

    public init(key: String, message: String, allowed: String, source: String? = nil) {
        self.key = key
        self.message = message
        self.allowed = allowed
        self.source = source
    }

    public var description: String {
        let place = source.map { " in \($0)" } ?? ""
        return "config key '\(key)'\(place): \(message); allowed: \(allowed)"
    }
}

/// Several configuration problems, reported together.
public struct ConfigErrors: Error, Equatable, CustomStringConvertible {
    public var errors: [ConfigError]
    public init(_ errors: [ConfigError]) { self.errors = errors }
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
