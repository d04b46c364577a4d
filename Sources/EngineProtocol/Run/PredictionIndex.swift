import Foundation

/// The saved sample predictions of a run (the terminal front reads them to compare iterations):
///
///     predictions/index.json            PredictionIndex: every kept evaluation, and the best one
///     predictions/000300/index.json     PredictionSet: the samples of the evaluation at iteration 300
///     predictions/000300/<id>.png       VOC-palette mask, pixel value = class index, the image's size
///     predictions/000300/<id>_overlay.png  the image with the predicted class colours blended in
///
/// The samples are the first `RunDirectory.predictionSampleCount` (Training) ids of the validation split,
/// the same at every evaluation. Each evaluation's folder is written complete under a temporary
/// name and renamed into place; the index is written through temp + rename after it.
public struct PredictionSet: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var id: String
        public var width: Int
        public var height: Int
        /// Per-image mIoU (classes present in truth or prediction) and pixel accuracy; nil
        /// when the image has no labelled pixel.
        public var mIoU: Double?
        public var pixelAccuracy: Double?
        public var pixels: Int
        /// File names inside the evaluation's folder.
        public var mask: String
        public var overlay: String

        public init(id: String, width: Int, height: Int, mIoU: Double?, pixelAccuracy: Double?, pixels: Int,
                    mask: String, overlay: String) {
            self.id = id
            self.width = width
            self.height = height
            self.mIoU = mIoU
            self.pixelAccuracy = pixelAccuracy
            self.pixels = pixels
            self.mask = mask
            self.overlay = overlay
        }

        enum CodingKeys: String, CodingKey {
            case id, width, height, mIoU, pixelAccuracy = "pixel_accuracy", pixels, mask, overlay
        }
    }

    public var iteration: Int
    public var epoch: Int
    public var split: String
    /// Pooled mIoU of the whole evaluation (all val images), nil when undefined.
    public var mIoU: Double?
    public var isBest: Bool
    public var samples: [Entry]

    public init(iteration: Int, epoch: Int, split: String, mIoU: Double?, isBest: Bool, samples: [Entry]) {
        self.iteration = iteration
        self.epoch = epoch
        self.split = split
        self.mIoU = mIoU
        self.isBest = isBest
        self.samples = samples
    }

    enum CodingKeys: String, CodingKey { case iteration, epoch, split, mIoU, isBest = "is_best", samples }
}

/// `predictions/index.json`.
public struct PredictionIndex: Codable, Sendable, Equatable {
    public struct Evaluation: Codable, Sendable, Equatable {
        public var iteration: Int
        public var epoch: Int
        public var mIoU: Double?
        public var isBest: Bool
        /// The folder under `predictions/`, e.g. `000300`.
        public var directory: String

        public init(iteration: Int, epoch: Int, mIoU: Double?, isBest: Bool, directory: String) {
            self.iteration = iteration
            self.epoch = epoch
            self.mIoU = mIoU
            self.isBest = isBest
            self.directory = directory
        }

        enum CodingKeys: String, CodingKey { case iteration, epoch, mIoU, isBest = "is_best", directory }
    }

    /// Sample ids, in the order every evaluation lists them.
    public var samples: [String]
    /// Oldest first.
    public var evaluations: [Evaluation]
    /// The evaluation with the best pooled mIoU so far (the one `checkpoints/best` holds).
    public var bestIteration: Int?

    public init(samples: [String], evaluations: [Evaluation], bestIteration: Int?) {
        self.samples = samples
        self.evaluations = evaluations
        self.bestIteration = bestIteration
    }

    enum CodingKeys: String, CodingKey { case samples, evaluations, bestIteration = "best_iteration" }
}
