import Datasets
import Foundation
import Models
import NN
import Training

/// One thing the fuzzer feeds bad input to, in process: the same entry points the product uses
/// on files and text it did not write. A thrown error is the right answer to bad input; only a
/// crash (signal) or a hang is a finding.
struct FuzzTarget: Sendable {
    let name: String
    let about: String
    /// Valid inputs the mutations start from.
    let seeds: [Data]
    /// Text formats also get token-level mutations.
    let text: Bool
    /// PNG inputs get their chunk CRCs repaired after mutation (most of the time).
    let png: Bool
    /// Runs one input; `scratch` is a directory of this worker's own.
    let run: @Sendable (Data, URL) throws -> Void

    /// The input of case `index`: deterministic in (target, seed, index).
    func input(seed: UInt64, index: Int) -> Data {
        var random = FuzzRandom(seed: seed ^ (UInt64(index) &* 0xD1B5_4A32_D192_ED03) ^ FuzzTarget.hash(name))
        let start = random.pick(seeds)
        if index < seeds.count { return seeds[index] }  // every seed once, unmutated
        return FuzzMutator.mutate(start, others: seeds, text: text, png: png, random: &random)
    }

    static func hash(_ s: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return h
    }
}

extension FuzzTarget {
    static var all: [FuzzTarget] { [png, jpeg, datasetVOC, datasetPets, configTOML, configSet, engineJSON, weights] }

    static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }

    // MARK: seeds

    static func sampleImage(width: Int = 12, height: Int = 9) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in pixels.indices { pixels[i] = UInt8(truncatingIfNeeded: i &* 53 &+ i / 7) }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    static func sampleLabels(width: Int = 12, height: Int = 9, values: [UInt8] = [0, 1, 15, 255]) -> LabelMap {
        LabelMap(width: width, height: height, values: (0..<(width * height)).map { values[$0 % values.count] })
    }

    static var pngSeeds: [Data] {
        let image = sampleImage(), labels = sampleLabels()
        return [try? ImageCodec.encodeRGBPNG(image), try? ImageCodec.encodePalettedPNG(labels, palette: Palette.voc),
                try? ImageCodec.encodeGrayPNG(labels), try? ImageCodec.encodeRGBPNG(sampleImage(width: 1, height: 1)),
                try? ImageCodec.encodePalettedPNG(sampleLabels(width: 3, height: 40), palette: Array(Palette.voc.prefix(4)))]
            .compactMap { $0 }
    }

    static var jpegSeeds: [Data] {
        [try? ImageCodec.encodeJPEG(sampleImage(width: 16, height: 16), quality: 90),
         try? ImageCodec.encodeJPEG(sampleImage(width: 33, height: 7), quality: 30),
         try? ImageCodec.encodeJPEG(sampleImage(width: 1, height: 1), quality: 100)].compactMap { $0 }
    }

    // MARK: targets

    static let png = FuzzTarget(name: "png", about: "PNG decoding (RGB, paletted, gray masks) as every reader calls it",
                                seeds: pngSeeds, text: false, png: true) { data, _ in
        let decoded = try ImageCodec.decodePNG(data, path: "fuzz.png")
        _ = decoded.rgbImage()
    }

    static let jpeg = FuzzTarget(name: "jpeg", about: "JPEG decoding, full size and the 1/4 preview scale",
                                 seeds: jpegSeeds, text: false, png: false) { data, _ in
        _ = try ImageCodec.decodeJPEG(data, path: "fuzz.jpg")
        _ = try ImageCodec.decodeJPEG(data, path: "fuzz.jpg", scaleDenominator: 4)
    }

    /// A VOC tree of one training and one validation sample; the case replaces one of its files
    /// (the list file, the image or the mask) with the mutated bytes. Seeds: "L" + list text,
    /// "I" + JPEG, "M" + PNG mask (the first byte says which file).
    static let datasetVOC: FuzzTarget = {
        let list = Data("L".utf8) + Data("a\nb\n".utf8)
        let seeds = [list] + jpegSeeds.map { Data("I".utf8) + $0 } + pngSeeds.map { Data("M".utf8) + $0 }
        return FuzzTarget(name: "dataset-voc", about: "VOC list files, images and masks through the VOC reader, crop / pad / flip",
                          seeds: seeds, text: false, png: false) { data, scratch in
            let root = scratch.appendingPathComponent("voc")
            let fm = FileManager.default
            try? fm.removeItem(at: root)
            for dir in ["JPEGImages", "SegmentationClass", "ImageSets/Segmentation"] {
                try fm.createDirectory(at: root.appendingPathComponent(dir), withIntermediateDirectories: true)
            }
            let image = try ImageCodec.encodeJPEG(sampleImage(), quality: 90)
            let mask = try ImageCodec.encodePalettedPNG(sampleLabels(), palette: Palette.voc)
            var files: [String: Data] = ["ImageSets/Segmentation/train.txt": Data("a\n".utf8), "ImageSets/Segmentation/val.txt": Data("b\n".utf8),
                                         "JPEGImages/a.jpg": image, "JPEGImages/b.jpg": image,
                                         "SegmentationClass/a.png": mask, "SegmentationClass/b.png": mask]
            let body = data.dropFirst()
            switch data.first {
            case UInt8(ascii: "L"): files["ImageSets/Segmentation/train.txt"] = Data(body)
            case UInt8(ascii: "I"): files["JPEGImages/a.jpg"] = Data(body)
            default: files["SegmentationClass/a.png"] = Data(body)
            }
            for (path, bytes) in files { try bytes.write(to: root.appendingPathComponent(path)) }
            try exercise(try DatasetLoader.open(root, format: .voc))
        }
    }()

    /// An Oxford-IIIT Pet tree; the case replaces the list file, an image or a trimap.
    static let datasetPets: FuzzTarget = {
        let list = Data("L".utf8) + Data("Abyssinian_1 1 1 1\n# comment\nbeagle_2 2 2 1\n".utf8)
        let trimap = try? ImageCodec.encodeGrayPNG(sampleLabels(values: [1, 2, 3]))
        let seeds = [list] + jpegSeeds.map { Data("I".utf8) + $0 } + [trimap].compactMap { $0 }.map { Data("M".utf8) + $0 }
        return FuzzTarget(name: "dataset-pets", about: "Oxford-IIIT Pet list files, images and trimaps through the Pets reader",
                          seeds: seeds, text: false, png: false) { data, scratch in
            let root = scratch.appendingPathComponent("pets")
            let fm = FileManager.default
            try? fm.removeItem(at: root)
            for dir in ["images", "annotations/trimaps"] {
                try fm.createDirectory(at: root.appendingPathComponent(dir), withIntermediateDirectories: true)
            }
            let image = try ImageCodec.encodeJPEG(sampleImage(), quality: 90)
            let trimapBytes = try ImageCodec.encodeGrayPNG(sampleLabels(values: [1, 2, 3]))
            var files: [String: Data] = ["annotations/trainval.txt": Data("Abyssinian_1 1 1 1\nbeagle_2 2 2 1\n".utf8),
                                         "annotations/test.txt": Data("beagle_2 2 2 1\n".utf8),
                                         "images/Abyssinian_1.jpg": image, "images/beagle_2.jpg": image,
                                         "annotations/trimaps/Abyssinian_1.png": trimapBytes, "annotations/trimaps/beagle_2.png": trimapBytes]
            let body = data.dropFirst()
            switch data.first {
            case UInt8(ascii: "L"): files["annotations/trainval.txt"] = Data(body)
            case UInt8(ascii: "I"): files["images/Abyssinian_1.jpg"] = Data(body)
            default: files["annotations/trimaps/Abyssinian_1.png"] = Data(body)
            }
            for (path, bytes) in files { try bytes.write(to: root.appendingPathComponent(path)) }
            try exercise(try DatasetLoader.open(root, format: .pets))
        }
    }()

    /// Every split's first samples decoded, then the training transforms (pad, crop, flip).
    static func exercise(_ dataset: any SegmentationDataset) throws {
        for split in dataset.splits {
            for id in try dataset.ids(split: split).prefix(3) {
                guard let sample = try? dataset.sample(id: id) else { continue }
                let size = Size2D(height: 16, width: 16)
                let padded = Transforms.pad(sample, to: size)
                let crop = Transforms.crop(padded, x: 0, y: 0, size: size)
                _ = Transforms.flipHorizontally(crop)
            }
        }
        _ = try DatasetStatistics.compute(dataset, threads: 1)
    }

    static let configTOML = FuzzTarget(
        name: "config-toml", about: "config.toml parsing, validation and the round trip through tomlText",
        seeds: [Data(TrainingConfig().tomlText().utf8),
                Data("model = \"unet\"\ncrop = [192, 192]\nbatch = 4\nlr = 0.01\n[section]\n".utf8),
                Data("eval_stride = [100, 100]\niterations = 200\nepochs = 0\nmax_whole_image_pixels = 4096\n".utf8)],
        text: true, png: false) { data, _ in
        let config = try TrainingConfig(toml: String(decoding: data, as: UTF8.self), source: "fuzz.toml")
        _ = config.problems()
        _ = try? TrainingConfig(toml: config.tomlText(), source: "round trip")
        _ = try? MessageCoding.jsonLine(config)
    }

    static let configSet = FuzzTarget(
        name: "config-set", about: "--set key=value overrides (one per line) and validation",
        seeds: [Data("lr=0.01\ncrop=160x240\nbatch=8\n".utf8), Data("epochs=9223372036854775807\neval_stride=1\nthreads=256\n".utf8),
                Data("model=unet\noptimizer=sgd\nschedule=step\nstep_size=10\neval_mode=slide\nmax_whole_image_pixels=4096\n".utf8)],
        text: true, png: false) { data, _ in
        var overrides: [(key: String, value: String)] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            overrides.append((String(line[..<eq]), String(line[line.index(after: eq)...])))
        }
        let config = try TrainingConfig().applying(overrides: overrides)
        _ = config.problems()
        _ = config.effectiveStride
        _ = config.effectiveEvalInterval
        _ = config.sizeLimit.plan(height: 500, width: 375, classes: 21, multiple: 32)
    }

    static let engineJSON: FuzzTarget = {
        var seeds: [Data] = []
        let commands: [EngineCommand] = [.start(TrainingConfig()), .pause, .resume, .shutdown]
        for command in commands { if let line = try? MessageCoding.jsonLine(command) { seeds.append(Data(line.utf8)) } }
        seeds.append(Data("{\"type\":\"set_learning_rate\",\"lr\":0.5}".utf8))
        return FuzzTarget(name: "engine-json", about: "engine command and event JSON lines (the --events protocol)",
                          seeds: seeds, text: true, png: false) { data, _ in
            let line = String(decoding: data, as: UTF8.self)
            _ = try? MessageCoding.decode(EngineCommand.self, jsonLine: line)
            _ = try MessageCoding.decode(EngineEvent.self, jsonLine: line)
        }
    }()

    static let weights: FuzzTarget = {
        let tensors = [SafetensorsTensor(name: "conv.weight", shape: [2, 1, 3, 3], values: (0..<18).map { Float($0) }),
                       SafetensorsTensor(name: "bn.running_var", shape: [2], values: [1, 2])]
        let seeds = [try? Safetensors.encode(tensors, metadata: ["segscope.model": "xunet", "segscope.iteration": "5"]),
                     try? Safetensors.encode([SafetensorsTensor(name: "x", shape: [], values: [3])])].compactMap { $0 }
        return FuzzTarget(name: "weights", about: "safetensors headers and PyTorch checkpoints through WeightsFile (every --weights option)",
                          seeds: seeds, text: false, png: false) { data, _ in
            let file = try WeightsFile.parse(data, file: "fuzz.safetensors").tensors
            for name in file.names { _ = try file.entry(name).floats() }
        }
    }()
}
