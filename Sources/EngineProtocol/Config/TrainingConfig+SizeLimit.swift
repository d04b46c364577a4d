import Datasets

extension TrainingConfig {
    /// The input-size rule this configuration sets (`max_whole_image_pixels`).
    public var sizeLimit: ImageSizeLimit { ImageSizeLimit(wholeImagePixels: maxWholeImagePixels) }

    /// `max_whole_image_pixels` in range, and a training step's `crop × batch` within it.
    func sizeLimitProblems() -> [ConfigError] {
        let range = ImageSizeLimit.minWholeImagePixels...ImageSizeLimit.maxDecodedPixels
        guard range.contains(maxWholeImagePixels) else {
            return [ConfigError(key: "max_whole_image_pixels", message: "\(maxWholeImagePixels) is out of range",
                                allowed: "an integer from \(range.lowerBound) to \(range.upperBound)")]
        }
        guard let problem = sizeLimit.trainingProblem(cropHeight: crop.height, cropWidth: crop.width, batch: batch) else { return [] }
        return [ConfigError(key: "crop", message: problem,
                            allowed: "a smaller crop or batch, or a larger max_whole_image_pixels if this machine has the memory")]
    }
}
