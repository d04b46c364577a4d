import ArgumentParser
import Datasets
import Foundation
import Training

/// `segscope eval`: a checkpoint's figures on a split, MMSegmentation-style.
struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a checkpoint on a dataset split (per-class IoU / Acc / Dice table).")

    @Option(help: "A checkpoint written by segscope train (…/checkpoints/best.safetensors).") var checkpoint: String
    @Option(help: ArgumentHelp(checkpointKeyHelp)) var key: String?
    @Option(help: "Dataset directory (default: the one the run trained on).") var data: String?
    @Option(help: "Split to evaluate.") var split = "val"
    @Option(help: "Inference mode: whole or slide (default: the run's).") var mode: InferenceMode?
    @Option(help: "Test-time augmentation: ss, flip, ms (the run's tta_scales) or ms+flip, merged on the logits (default: the run's eval_tta).")
    var tta: TTAMode?
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Most pixels one forward pass takes; larger images are predicted in overlapping tiles (default: the run's max_whole_image_pixels).") var maxWholeImagePixels: Int?
    @Option(help: "Numeric backend: dnnl (default) or reference.") var backend: String?
    @Option(help: "Convolution arithmetic: fp32 (default) or bf16 (AVX512-BF16 / AMX; fp32 with a notice elsewhere).") var precision: String?

    func run() throws {
        try selectBackend(backend, precision: precision)
        let (predictor, config, classNames, _) = try Predictor.load(checkpoint: URL(fileURLWithPath: checkpoint), key: key)
        if let mode { predictor.mode = mode }
        if let tta { predictor.tta = tta }
        if let maxWholeImagePixels { predictor.sizeLimit = try sizeLimit(maxWholeImagePixels) }
        let dataPath = data ?? config.data
        let root = dataPath.isEmpty ? try DemoDataset.ensureDefault() : URL(fileURLWithPath: dataPath)
        // The labels read as the run read them (reduce_zero_label, ignore_index, the Pets border).
        let dataset = try DatasetLoader.open(root, format: data == nil ? config.format : .auto, options: config.datasetOptions)
        guard dataset.classNames.count == classNames.count else {
            throw ValidationError("\(root.path) has \(dataset.classNames.count) classes; the checkpoint was trained on \(classNames.count)")
        }
        let result = try predictor.evaluate(dataset, ids: try dataset.ids(split: split))
        let scores = result.imageScores
        if let skipped = result.skippedSummary { eprint("warning: \(skipped)") }
        let metrics = SegmentationMetrics(result.confusion)
        if json {
            struct Report: Encodable {
                var checkpoint: String, split: String, mode: String, tta: String, metrics: SegmentationMetrics, loss: Double?
                var ss: SegmentationMetrics?
                var classNames: [String], imageScores: [ImageScore]
            }
            print(try MessageCoding.jsonLine(Report(checkpoint: checkpoint, split: split, mode: predictor.mode.rawValue,
                                                    tta: predictor.tta.rawValue, metrics: metrics, loss: result.loss,
                                                    ss: result.singleScaleConfusion.map { SegmentationMetrics($0) },
                                                    classNames: classNames, imageScores: scores)))
        } else {
            let augmented = predictor.tta == .ss ? "" : ", test-time augmentation \(predictor.tta.rawValue)"
            print("\(checkpoint) on \(root.path) [\(split), \(scores.count) images, \(predictor.mode.rawValue) inference\(augmented)]")
            print(MetricsTable.render(metrics, classNames: classNames, imageScores: scores))
            if let single = result.singleScaleConfusion {
                let ss = SegmentationMetrics(single)
                print(String(format: "%@ mIoU %.4f  aAcc %.4f  vs ss mIoU %.4f  aAcc %.4f (the single-scale pass of the same images)",
                             predictor.tta.rawValue, metrics.mIoU, metrics.aAcc, ss.mIoU, ss.aAcc))
            }
            if let loss = result.loss { print(String(format: "loss %.4f: cross-entropy averaged over the labelled pixels (void 255 ignored)", loss)) }
        }
    }
}

extension InferenceMode: ExpressibleByArgument {}
extension TTAMode: ExpressibleByArgument {}

/// `segscope predict`: masks in the classes' colours and colour overlays for images, from a run's
/// checkpoint or from a registered model with a weights file (torchvision's `.pth` files as they are).
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Predict masks for images: paletted PNGs (value = class index) in the run's class colours, and overlays.",
        discussion: """
            Either --checkpoint (a run's checkpoint: the model, class names and colours come from \
            the run) or --model with --weights (safetensors or a PyTorch .pth / .pt with state_dict \
            names, e.g. torchvision's fcn_resnet101_coco-7ecb50ca.pth; VOC colours). With --weights \
            the photo gets torchvision's preset preprocessing: the shorter side resized to 520 \
            (Pillow's antialiased bilinear resize, as torchvision's Resize on a PIL image), ImageNet \
            mean / std. --resize N and --center-crop N change it (the tutorial's --resize 256 \
            --center-crop 224). The mask is written at the photo's size: the logits are resized \
            back onto the part of the photo the network saw; outside a centre crop it is void (255).
            """)

    @Option(help: "A checkpoint written by segscope train.") var checkpoint: String?
    @Option(help: "A registered model (see `segscope model list`) for --weights.") var model: String?
    @Option(help: "A weights file for --model: safetensors or a PyTorch .pth / .pt with the model's state_dict names.")
    var weights: String?
    @Option(help: ArgumentHelp(checkpointKeyHelp)) var key: String?
    @Option(help: "Resize the photo's shorter side to N first (Pillow's bilinear, as torchvision's Resize); default with --weights: 520, torchvision's preset.")
    var resize: Int?
    @Option(help: "Then keep the centre N x N of the resized photo (torchvision's CenterCrop); the mask is void outside it.")
    var centerCrop: Int?
    @Argument(help: "Images (JPEG or PNG).") var images: [String]
    @Option(help: "Output directory.") var out: String
    @Option(help: "Most pixels one forward pass takes; larger images are predicted in overlapping tiles (default: the run's max_whole_image_pixels).") var maxWholeImagePixels: Int?
    @Option(help: "Inference mode: whole or slide (default: the run's).") var mode: InferenceMode?
    @Option(help: "Test-time augmentation: ss, flip, ms (the run's tta_scales) or ms+flip, merged on the logits (default: the run's eval_tta).")
    var tta: TTAMode?
    @Option(help: "Numeric backend: dnnl (default) or reference.") var backend: String?
    @Option(help: "Convolution arithmetic: fp32 (default) or bf16 (AVX512-BF16 / AMX; fp32 with a notice elsewhere).") var precision: String?

    func validate() throws {
        switch (checkpoint, weights) {
        case (nil, nil):
            throw ValidationError("give --checkpoint RUN/checkpoints/best.safetensors (a segscope run) or --model M --weights FILE (e.g. a torchvision .pth)")
        case (.some, .some):
            throw ValidationError("--checkpoint and --weights both given; use one: a run's checkpoint, or --model with a weights file")
        case (.some, nil) where model != nil:
            throw ValidationError("--model goes with --weights; a checkpoint's run names its model")
        case (nil, .some(let file)) where model == nil:
            throw ValidationError("--weights needs --model (`segscope weights inspect \(file)` names the models it fits)")
        default:
            break
        }
        if let resize, resize < 1 { throw ValidationError("--resize \(resize): the shorter side must be at least 1 pixel") }
        if let centerCrop, centerCrop < 1 { throw ValidationError("--center-crop \(centerCrop): the crop must be at least 1 pixel") }
    }

    func run() throws {
        try selectBackend(backend, precision: precision)
        let predictor: Predictor, classNames: [String], palette: [RGB]
        if let checkpoint {
            (predictor, _, classNames, palette) = try Predictor.load(checkpoint: URL(fileURLWithPath: checkpoint), key: key)
            if resize != nil || centerCrop != nil { predictor.preprocessing = TorchvisionPreprocessing(resize: resize, centerCrop: centerCrop) }
        } else {
            (predictor, classNames) = try Predictor.load(model: model ?? "", weights: URL(fileURLWithPath: weights ?? ""), key: key)
            palette = Palette.voc
            predictor.preprocessing = TorchvisionPreprocessing(resize: resize ?? TorchvisionPreprocessing.presetResize,
                                                               centerCrop: centerCrop)
        }
        if let mode { predictor.mode = mode }
        if let tta { predictor.tta = tta }
        if let maxWholeImagePixels { predictor.sizeLimit = try sizeLimit(maxWholeImagePixels) }
        let outURL = URL(fileURLWithPath: out)
        do {
            try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
        } catch {
            throw ValidationError("cannot create \(out): \(error.localizedDescription)")
        }
        var failures = 0
        for path in images {
            let url = URL(fileURLWithPath: path)
            do {
                let image = try ImageCodec.readRGB(url)
                let mask = try predictor.predict(image)
                let stem = url.deletingPathExtension().lastPathComponent
                try ImageCodec.writePalettedPNG(mask, palette: palette, to: outURL.appendingPathComponent("\(stem).png"))
                try ImageCodec.writeRGBPNG(Overlay.blend(image, mask, palette: palette), to: outURL.appendingPathComponent("\(stem)_overlay.png"))
                var counts = [Int](repeating: 0, count: 256)
                for v in mask.values { counts[Int(v)] += 1 }
                var present = classNames.indices.filter { counts[$0] > 0 }.map { "\(classNames[$0]) \(counts[$0])" }
                if counts[Int(LabelMap.void)] > 0 { present.append("void (outside the crop) \(counts[Int(LabelMap.void)])") }
                print("\(path): \(image.width)x\(image.height) → \(stem).png  [\(present.joined(separator: ", "))]")
            } catch let error as InputTooLargeError {
                failures += 1
                eprint("error: \(path): \(error)")
            } catch let error as DatasetError {
                failures += 1
                eprint("error: \(path): \(error)")
            } catch {
                failures += 1
                FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}

/// `--max-whole-image-pixels N` as the rule, refused out of range like the config key.
func sizeLimit(_ pixels: Int) throws -> ImageSizeLimit {
    let range = ImageSizeLimit.minWholeImagePixels...ImageSizeLimit.maxDecodedPixels
    guard range.contains(pixels) else {
        throw ValidationError("--max-whole-image-pixels: \(pixels) is out of range; allowed: an integer from \(range.lowerBound) to \(range.upperBound)")
    }
    return ImageSizeLimit(wholeImagePixels: pixels)
}

/// `--backend NAME` (or the default, dnnl) in `--precision P` (or fp32): selects it, printing
/// a notice when oneDNN is missing or bf16 is not available here (the command goes on in fp32).
func selectBackend(_ name: String?, precision: String? = nil) throws {
    let kind: BackendKind, wanted: NumericPrecision
    do {
        kind = try name.map { try BackendKind(option: $0) } ?? .dnnl
    } catch let error as ConfigError {
        throw ValidationError("--backend: \(error.message); allowed: \(error.allowed)")
    }
    do {
        wanted = try precision.map { try BackendKind.precision(option: $0) } ?? .fp32
    } catch let error as ConfigError {
        throw ValidationError("--precision: \(error.message); allowed: \(error.allowed)")
    }
    for notice in try kind.select(precision: wanted) { eprint("note: \(notice)") }
}
