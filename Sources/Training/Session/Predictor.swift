import Datasets
import Foundation
import Models
import NN

/// Inference with a trained network: whole image (padded to the network's stride, logits cropped
/// back) or MMSegmentation-style sliding window, for images of any size.
public final class Predictor {
    public let network: SegmentationModel
    /// The network's total stride: inputs are padded to a multiple of it.
    public let sizeMultiple: Int
    public var mode: InferenceMode
    public var window: PixelSize
    public var stride: PixelSize
    /// How large an image may be predicted whole, in tiles, or not at all (`ImageSizeLimit`).
    public var sizeLimit: ImageSizeLimit
    /// Test-time augmentation (D-128): flips and scales, merged by averaging the logits.
    public var tta: TTAMode
    /// The scales of `ms` TTA, relative to the image's size.
    public var ttaScales: [Double]
    /// torchvision's preprocessing (`segscope predict --weights`, `--resize`, `--center-crop`):
    /// `predict` resizes / crops the photo first and resizes the logits back onto the crop's box
    /// in the photo (void outside it); nil predicts the photo as it is.
    public var preprocessing: TorchvisionPreprocessing?

    /// Checkpoint metadata key holding the class names as a JSON array.
    public static let classNamesKey = "segscope.class_names"
    /// Checkpoint metadata key holding the classes' colours as a JSON array of `[r, g, b]`.
    public static let classColorsKey = "segscope.class_colors"

    /// The metadata text of the first `classes` colours of `palette`.
    static func colorsText(_ palette: [RGB], classes: Int) -> String {
        (try? MessageCoding.jsonLine(palette.prefix(classes).map { [$0.r, $0.g, $0.b] })) ?? "[]"
    }

    /// The 256-entry palette a checkpoint's metadata gives its classes: the colours the run's
    /// dataset drew them in, or (checkpoints written before colours were saved) `config`'s
    /// `palette` key applied to the class names.
    static func palette(metadata: [String: String], classNames: [String], config: TrainingConfig) -> [RGB] {
        if let text = metadata[classColorsKey], let colors = try? MessageCoding.decode([[UInt8]].self, jsonLine: text),
           colors.count == classNames.count, colors.allSatisfy({ $0.count == 3 }) {
            return Palette.filled(colors.map { RGB($0[0], $0[1], $0[2]) })
        }
        return config.palette.palette(for: classNames, own: Palette.automatic(for: classNames))
    }

    public init(network: SegmentationModel, sizeMultiple: Int, config: TrainingConfig) {
        self.network = network
        self.sizeMultiple = sizeMultiple
        mode = config.evalMode
        window = config.crop
        stride = config.effectiveStride
        sizeLimit = config.sizeLimit
        tta = config.evalTTA
        ttaScales = config.parsedTTAScales ?? [0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
    }

    public var classes: Int { network.classes }

    /// Logits `classes × h × w` for a normalised CHW image, padded to the network's stride.
    private func logits(chw: [Float], height: Int, width: Int) -> [Float] {
        let padded = Inference.paddedSize(height: height, width: width, multiple: sizeMultiple)
        var input = [Float](repeating: 0, count: 3 * padded.height * padded.width)
        for c in 0..<3 {
            for y in 0..<height {
                let src = (c * height + y) * width
                let dst = (c * padded.height + y) * padded.width
                for x in 0..<width { input[dst + x] = chw[src + x] }
            }
        }
        let out = GradMode.withoutGrad {
            network(Tensor(shape: [1, 3, padded.height, padded.width], values: input)).array
        }
        if padded.height == height && padded.width == width { return out }
        return (try? Inference.crop(out, classes: classes, from: padded, toHeight: height, width: width)) ?? out
    }

    /// Class logits `classes × height × width` for an image, whole or by sliding window. Whole
    /// mode runs an image above `sizeLimit.wholeImagePixels` in overlapping tiles merged on the
    /// logits; an image too large for the prediction buffers is refused (`InputTooLargeError`)
    /// before anything is allocated.
    public func logits(_ image: RGBImage) throws -> [Float] { try augmentedLogits(image).merged }

    /// The logits of `image` merged over the test-time augmentation (`logits`), and the
    /// single-scale logits among them: the unflipped pass at the image's own size (one more
    /// pass when no scale is 1). Without TTA both are the one pass.
    func augmentedLogits(_ image: RGBImage) throws -> (merged: [Float], single: [Float]) {
        guard tta != .ss else {
            let out = try singleLogits(image)
            return (out, out)
        }
        let (h, w) = (image.height, image.width)
        let scales = tta.multiScale ? ttaScales : [1]
        var sum = [Float](repeating: 0, count: classes * h * w)
        var single: [Float]?
        var passes = 0
        func add(_ out: [Float]) {
            for i in sum.indices { sum[i] += out[i] }
            passes += 1
        }
        for scale in scales {
            let size = Size2D(height: max(1, Int((Double(h) * scale).rounded())), width: max(1, Int((Double(w) * scale).rounded())))
            let scaled = size.height == h && size.width == w ? image : Transforms.resizeBilinear(image, to: size)
            let out = Self.resized(try singleLogits(scaled), classes: classes, from: size, toHeight: h, width: w)
            if single == nil && size.height == h && size.width == w { single = out }
            add(out)
            if tta.flips {
                let flipped = Self.flippedHorizontally(try singleLogits(Transforms.flipHorizontally(image: scaled)),
                                                       classes: classes, height: size.height, width: size.width)
                add(Self.resized(flipped, classes: classes, from: size, toHeight: h, width: w))
            }
        }
        let inverse = 1 / Float(passes)
        for i in sum.indices { sum[i] *= inverse }
        return (sum, try single ?? singleLogits(image))
    }

    /// CHW logits resized bilinearly (PyTorch `interpolate(align_corners=False)`, as MMSeg's TTA).
    static func resized(_ logits: [Float], classes: Int, from size: Size2D, toHeight height: Int, width: Int) -> [Float] {
        if size.height == height && size.width == width { return logits }
        return GradMode.withoutGrad {
            resizeBilinear(Tensor(shape: [1, classes, size.height, size.width], values: logits), size: (height, width)).array
        }
    }

    /// CHW logits mirrored left–right.
    static func flippedHorizontally(_ logits: [Float], classes: Int, height: Int, width: Int) -> [Float] {
        var out = logits
        for row in 0..<(classes * height) {
            let base = row * width
            for x in 0..<width { out[base + x] = logits[base + width - 1 - x] }
        }
        return out
    }

    /// The logits of one forward pass over `image` (no test-time augmentation).
    public func singleLogits(_ image: RGBImage) throws -> [Float] {
        let (h, w) = (image.height, image.width)
        var (window, stride) = (self.window, self.stride)
        switch sizeLimit.plan(height: h, width: w, classes: classes, multiple: sizeMultiple) {
        case .refused(let reason):
            throw InputTooLargeError(reason)
        case .whole where mode == .whole:
            return logits(chw: Transforms.normalized(image, .imagenet), height: h, width: w)
        case .tiled(let side, _) where mode == .whole:
            window = PixelSize(square: side)
            stride = PixelSize(square: ImageSizeLimit.tileStride(side))
        case .whole, .tiled:
            break
        }
        let chw = Transforms.normalized(image, .imagenet)
        return try Inference.slidingWindowLogits(height: h, width: w, classes: classes, window: window, stride: stride) { rect in
            var crop = [Float](repeating: 0, count: 3 * rect.height * rect.width)
            for c in 0..<3 {
                for y in 0..<rect.height {
                    let src = (c * h + rect.y + y) * w + rect.x
                    let dst = (c * rect.height + y) * rect.width
                    for x in 0..<rect.width { crop[dst + x] = chw[src + x] }
                }
            }
            return logits(chw: crop, height: rect.height, width: rect.width)
        }
    }

    /// The predicted label map (argmax over classes), the image's size. With `preprocessing`,
    /// the network sees the resized (and cropped) photo; its logits are resized bilinearly
    /// (align_corners = False) onto the crop's box in the photo before the argmax, and pixels
    /// outside the box are void (255).
    public func predict(_ image: RGBImage) throws -> LabelMap {
        network.eval()
        guard let preprocessing else { return labels(try logits(image), of: image) }
        let (input, plan) = try preprocessing.apply(image)
        let box = plan.box
        let (w, h) = (box.x1 - box.x0, box.y1 - box.y0)
        let out = Self.resized(try logits(input), classes: classes, from: Size2D(height: input.height, width: input.width),
                               toHeight: h, width: w)
        let inside = Inference.argmax(out, classes: classes, height: h, width: w)
        if w == image.width && h == image.height { return LabelMap(width: w, height: h, values: inside) }
        var values = [UInt8](repeating: LabelMap.void, count: image.width * image.height)
        for y in 0..<h {
            for x in 0..<w { values[(box.y0 + y) * image.width + box.x0 + x] = inside[y * w + x] }
        }
        return LabelMap(width: image.width, height: image.height, values: values)
    }

    /// The argmax label map of `image`'s class logits.
    private func labels(_ logits: [Float], of image: RGBImage) -> LabelMap {
        let values = Inference.argmax(logits, classes: classes, height: image.height, width: image.width)
        return LabelMap(width: image.width, height: image.height, values: values)
    }

    /// Predicts every listed sample of `dataset` into one confusion matrix, with each image's own
    /// scores (for worst-first ranking) and the mean cross-entropy over every labelled pixel
    /// (the validation loss, pooled like the training loss). The first `keeping` samples are
    /// returned with their images and predictions (`EvaluationResult.samples`). With test-time
    /// augmentation the figures are the augmented ones, and `singleScaleConfusion` holds the
    /// single-scale pass of the same images ("ss" beside "ms+flip").
    public func evaluate(_ dataset: any SegmentationDataset, ids: [String], keeping: Int = 0) throws -> EvaluationResult {
        var confusion = ConfusionMatrix(classCount: classes)
        var singleScale = ConfusionMatrix(classCount: classes)
        var scores: [ImageScore] = []
        var kept: [EvaluatedSample] = []
        var perSample: [SampleMetrics] = []
        var lossSum = 0.0, lossPixels = 0
        var skipped: [String] = []
        network.eval()
        for id in ids {
            // An unreadable sample is skipped and reported, as training does: one truncated
            // file must not throw the run (and its checkpoint) away.
            let sample: Sample
            do {
                sample = try dataset.sample(id: id)
            } catch {
                skipped.append("\(id): \(error)")
                continue
            }
            let n = scores.count
            let out: [Float], single: [Float]
            do {
                (out, single) = try augmentedLogits(sample.image)
            } catch let error as InputTooLargeError {
                skipped.append("\(id): \(error)")
                continue
            }
            let prediction = labels(out, of: sample.image)
            var quality = Double.nan
            var cells: [[Int]] = []
            if sample.label.width == prediction.width && sample.label.height == prediction.height {
                let ce = Inference.crossEntropySum(out, classes: classes, labels: sample.label.values)
                lossSum += ce.sum
                lossPixels += ce.pixels
                quality = SampleMetrics.softmin(Inference.selfConfidence(out, classes: classes, labels: sample.label.values))
                var own = ConfusionMatrix(classCount: classes)
                own.add(truth: sample.label.values, prediction: prediction.values)
                cells = SampleMetrics.confusionCells(own)
            }
            confusion.add(truth: sample.label, prediction: prediction)
            if tta != .ss { singleScale.add(truth: sample.label, prediction: labels(single, of: sample.image)) }
            let score = ImageScore(id: id, truth: sample.label.values, prediction: prediction.values, classCount: classes)
            scores.append(score)
            perSample.append(SampleMetrics(id: id, mIoU: score.mIoU, pixelAccuracy: score.pixelAccuracy, pixels: score.pixels,
                                           labelQuality: quality, confusions: cells))
            if n < keeping {
                kept.append(EvaluatedSample(id: id, image: sample.image, truth: sample.label, prediction: prediction, score: score))
            }
        }
        if scores.isEmpty && !skipped.isEmpty {
            throw DatasetError("\(dataset.name): no image of the \(ids.count) to evaluate could be read: "
                               + skipped.prefix(5).joined(separator: "; "))
        }
        return EvaluationResult(confusion: confusion, imageScores: scores,
                                loss: lossPixels > 0 ? lossSum / Double(lossPixels) : nil, samples: kept, skipped: skipped,
                                sampleMetrics: perSample,
                                singleScaleConfusion: tta == .ss ? nil : singleScale)
    }

    /// A registered network with a weights file's tensors (`segscope predict --model M
    /// --weights FILE`: torchvision's `.pth` files, safetensors; `key` picks the state dict of a
    /// wrapping checkpoint), at the classes the file's head has, with torchvision's preset
    /// preprocessing. Class names: VOC's for 21 classes, else `class N`. A file that does not fit
    /// is refused with what is missing / unexpected and the models it does fit.
    public static func load(model name: String, weights url: URL, key: String? = nil) throws
        -> (predictor: Predictor, classNames: [String]) {
        let spec = try ModelRegistry.spec(named: name)
        let file = try WeightsFile.read(from: url, key: key)
        let items = WeightsFit.items(of: file)
        let (network, fit) = try spec.fit(items)
        guard fit.fits else {
            let others = try ModelRegistry.all.filter { $0.name != spec.name }.filter { try $0.fit(items).fit.fits }.map(\.name)
            let hint = others.isEmpty ? "it fits no registered model" : "it fits --model \(others.joined(separator: " / "))"
            throw Failure(message: "\(url.path) does not fit --model \(spec.name): \(fit.summary); \(hint) "
                          + "(`segscope weights inspect \(url.path)` lists every tensor)")
        }
        // Every tensor is in the file, so the layout-only network needs no initialisation.
        try network.loadWeights(file)
        network.eval()
        let classNames = network.classes == Palette.vocClassNames.count ? Palette.vocClassNames
            : (0..<network.classes).map { "class \($0)" }
        let predictor = Predictor(network: network, sizeMultiple: spec.sizeMultiple, config: TrainingConfig())
        predictor.preprocessing = TorchvisionPreprocessing()
        return (predictor, classNames)
    }

    /// A trained network from a run's checkpoint (`…/checkpoints/best.safetensors`), with the
    /// run's configuration (`config.toml` of the run directory), its class names and their
    /// colours; `key` picks the state dict of a PyTorch checkpoint that wraps it.
    public static func load(checkpoint: URL, key: String? = nil) throws
        -> (predictor: Predictor, config: TrainingConfig, classNames: [String], palette: [RGB]) {
        let file = try WeightsFile.read(from: checkpoint, key: key)
        let runURL = RunDirectory.owning(checkpoint: checkpoint)
        let configURL = runURL.appendingPathComponent("config.toml")
        var config = TrainingConfig()
        if FileManager.default.fileExists(atPath: configURL.path) {
            config = try TrainingConfig(contentsOf: configURL)
        } else if let model = file.metadata[CheckpointKey.model] {
            config.model = model
        }
        guard let namesText = file.metadata[classNamesKey],
              let classNames = try? MessageCoding.decode([String].self, jsonLine: namesText), !classNames.isEmpty
        else {
            throw Failure(message: "\(checkpoint.path): no class names in the checkpoint metadata ('\(classNamesKey)'); was it written by segscope train?", iteration: nil)
        }
        let spec = try ModelRegistry.spec(named: config.model)
        let network = try spec.build(ModelOptions(classes: classNames.count))
        var weights: [String: Tensor] = [:]
        for name in file.names where !name.hasPrefix(ModelTrainingSession.optimizerPrefix) {
            let entry = try file.entry(name)
            weights[name] = Tensor(shape: entry.shape, values: entry.floats())
        }
        do {
            try network.loadStateDict(weights)
        } catch {
            throw Failure(message: "\(checkpoint.path): \(error)", iteration: nil)
        }
        network.eval()
        return (Predictor(network: network, sizeMultiple: spec.sizeMultiple, config: config), config, classNames,
                palette(metadata: file.metadata, classNames: classNames, config: config))
    }
}
