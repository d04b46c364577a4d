import Foundation
import NN

/// An input size `height × width` in pixels.
public struct InputSize: Sendable, Hashable, Codable, CustomStringConvertible {
    public var height: Int
    public var width: Int

    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
    }

    /// Parses `"HxW"` (also `H×W`, `HXW`) or a single number for a square size.
    public init(parsing text: String) throws {
        let parts = text.lowercased().replacingOccurrences(of: "×", with: "x")
            .split(separator: "x", omittingEmptySubsequences: false)
        let numbers = parts.map { Int($0.trimmingCharacters(in: .whitespaces)) }
        switch numbers.count {
        case 1 where numbers[0] != nil: height = numbers[0]!; width = numbers[0]!
        case 2 where numbers[0] != nil && numbers[1] != nil: height = numbers[0]!; width = numbers[1]!
        default: throw ModelError.badInputSize(text, reason: "expected HxW, e.g. 160x160 or 320x480")
        }
        guard height > 0, width > 0 else {
            throw ModelError.badInputSize(text, reason: "height and width must be positive")
        }
    }

    public var description: String { "\(height)x\(width)" }
}

/// Options for building a registered model.
public struct ModelOptions: Sendable {
    public var classes: Int
    public var inChannels: Int = 3
    /// Dropout rate after each encoder block (unet only: the TF2 chapter's exercise); 0 = off.
    public var encoderDropout: Float = 0
    /// Seed of the weight initialisation.
    public var seed: UInt64 = 0

    public init(classes: Int, inChannels: Int = 3, encoderDropout: Float = 0, seed: UInt64 = 0) {
        self.classes = classes
        self.inChannels = inChannels
        self.encoderDropout = encoderDropout
        self.seed = seed
    }
}

/// A registered network: its name, where it comes from, its defaults and its builder.
public struct ModelSpec: Sendable {
    public let name: String
    /// One line: what the network is.
    public let description: String
    /// The tutorial it reproduces.
    public let origin: String
    public let defaultClasses: Int
    public let defaultInput: InputSize
    /// Height and width must be multiples of this for the output to match the input size.
    public let sizeMultiple: Int
    /// Options other than `classes` this model honours.
    public let supportsEncoderDropout: Bool
    /// The ImageNet classifier whose weights `--backbone-weights` takes (`loadBackbone`), or nil.
    public internal(set) var backbone: String? = nil
    let make: @Sendable (ModelOptions) -> SegmentationModel

    /// Builds the network with freshly initialised weights (as the reference initialises them).
    public func build(_ options: ModelOptions) throws -> SegmentationModel {
        guard options.classes >= 1 else { throw ModelError.badClasses(options.classes) }
        guard options.inChannels >= 1 else {
            throw ModelError.badOption("input channels must be at least 1, got \(options.inChannels)")
        }
        guard options.encoderDropout >= 0, options.encoderDropout < 1 else {
            throw ModelError.badOption("encoder dropout must be in [0, 1), got \(options.encoderDropout)")
        }
        if options.encoderDropout > 0 && !supportsEncoderDropout {
            throw ModelError.badOption("model '\(name)' has no encoder dropout option (only unet has)")
        }
        return make(options)
    }

    /// The network with its tensors allocated but not initialised: only its layout (names,
    /// shapes) is meant to be read, at a fraction of `build`'s cost for the large ones.
    public func buildLayoutOnly(_ options: ModelOptions) throws -> SegmentationModel {
        try Initializer.$skipsFilling.withValue(true) { try build(options) }
    }

    /// Builds with the default number of classes.
    public func build() throws -> SegmentationModel { try build(ModelOptions(classes: defaultClasses)) }

    /// Checks that `size` gives an output of the same size (a multiple of `sizeMultiple`).
    public func validate(_ size: InputSize) throws {
        guard size.height % sizeMultiple == 0, size.width % sizeMultiple == 0 else {
            // The nearest multiple, from a side clamped first so that no size (a fuzzed
            // 9223372036854775807) overflows the suggestion.
            func nearest(_ side: Int) -> Int {
                let clamped = min(max(side, 0), 1 << 30)
                return max(sizeMultiple, (clamped + sizeMultiple / 2) / sizeMultiple * sizeMultiple)
            }
            let h = nearest(size.height), w = nearest(size.width)
            throw ModelError.badInputSize(size.description,
                reason: "\(name) needs height and width divisible by \(sizeMultiple) (try \(h)x\(w))")
        }
    }
}

/// The networks Segscope knows, by name.
public enum ModelRegistry {
    public static let all: [ModelSpec] = [
        ModelSpec(name: "xunet",
                  description: "U-Net-like net with Xception-style separable-conv residual blocks",
                  origin: "Keras example \"Image segmentation with a U-Net-like architecture\" (Oxford-IIIT Pets)",
                  defaultClasses: 3, defaultInput: InputSize(height: 160, width: 160), sizeMultiple: 16,
                  supportsEncoderDropout: false,
                  make: { XUNet(classes: $0.classes, inChannels: $0.inChannels, seed: $0.seed) }),
        ModelSpec(name: "unet",
                  description: "U-Net: six stride-2 conv encoders, five deconv decoders with concatenated skips",
                  origin: "TF2 book chapter U-Net (Pascal VOC)",
                  defaultClasses: 21, defaultInput: InputSize(height: 256, width: 256), sizeMultiple: 64,
                  supportsEncoderDropout: true,
                  make: { UNet(classes: $0.classes, inChannels: $0.inChannels, encoderDropout: $0.encoderDropout, seed: $0.seed) }),
        ModelSpec(name: "fcn-resnet18",
                  description: "FCN: ResNet-18 features, 1x1 conv to classes, bilinear-initialised x32 deconv",
                  origin: "d2l.ai \"Fully Convolutional Networks\" (Pascal VOC 2012)",
                  defaultClasses: 21, defaultInput: InputSize(height: 320, width: 480), sizeMultiple: 32,
                  supportsEncoderDropout: false, backbone: "torchvision resnet18",
                  make: { FCNResNet18(classes: $0.classes, inChannels: $0.inChannels, seed: $0.seed) }),
    ] + TorchvisionSegmentation.Head.allCases.flatMap { head in [50, 101].map { torchvisionSpec(head, depth: $0) } } + [
        ModelSpec(name: "lraspp-mobilenet-v3-large",
                  description: "LR-ASPP: MobileNetV3-Large (C4 stage dilated, output stride 16), low 40 / high 960 channels, inter 128",
                  origin: "torchvision.models.segmentation.lraspp_mobilenet_v3_large (COCO with VOC labels)",
                  defaultClasses: 21, defaultInput: InputSize(height: 520, width: 520), sizeMultiple: 1,
                  supportsEncoderDropout: false, backbone: "torchvision mobilenet_v3_large",
                  make: { LRASPPMobileNetV3(classes: $0.classes, inChannels: $0.inChannels, seed: $0.seed) }),
    ]

    /// torchvision's `fcn_resnet50` … `deeplabv3_resnet101` (aux head on): any input size (the
    /// logits are resized to it), the 21 VOC classes and 520×520 of its preprocessing preset.
    static func torchvisionSpec(_ head: TorchvisionSegmentation.Head, depth: Int) -> ModelSpec {
        let what = head == .fcn ? "FCN: FCNHead" : "DeepLabV3: ASPP 12-24-36 with image pooling"
        return ModelSpec(name: "\(head.rawValue)-resnet\(depth)",
                         description: "\(what) on a dilated ResNet-\(depth) (output stride 8), aux FCNHead on layer3",
                         origin: "torchvision.models.segmentation.\(head.rawValue)_resnet\(depth) (COCO with VOC labels)",
                         defaultClasses: 21, defaultInput: InputSize(height: 520, width: 520), sizeMultiple: 1,
                         supportsEncoderDropout: false, backbone: "torchvision resnet\(depth)",
                         make: { TorchvisionSegmentation(head: head, depth: depth, classes: $0.classes,
                                                         inChannels: $0.inChannels, seed: $0.seed) })
    }

    public static var names: [String] { all.map(\.name) }

    /// The spec named `name`, or an error listing the known names.
    public static func spec(named name: String) throws -> ModelSpec {
        guard let spec = all.first(where: { $0.name == name.lowercased() }) else {
            throw ModelError.unknownModel(name, known: names)
        }
        return spec
    }

    /// Builds `name` with `classes` (default: the model's own).
    public static func build(_ name: String, classes: Int? = nil, seed: UInt64 = 0) throws -> SegmentationModel {
        let spec = try spec(named: name)
        return try spec.build(ModelOptions(classes: classes ?? spec.defaultClasses, seed: seed))
    }
}

/// What went wrong building, describing or loading a model; each message says what to do.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case unknownModel(String, known: [String])
    case badClasses(Int)
    case badInputSize(String, reason: String)
    case badOption(String)
    /// A weights file that does not fit the model; every problem is listed.
    case weightsMismatch(file: String, model: String, problems: [String])

    public var description: String {
        switch self {
        case let .unknownModel(name, known):
            return "unknown model '\(name)'; available: \(known.joined(separator: ", ")) (see `segscope model list`)"
        case let .badClasses(n):
            return "number of classes must be at least 1, got \(n)"
        case let .badInputSize(text, reason):
            return "bad input size '\(text)': \(reason)"
        case let .badOption(text):
            return text
        case let .weightsMismatch(file, model, problems):
            return "weights file \(file) does not fit model '\(model)' (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n  "
                + problems.joined(separator: "\n  ")
        }
    }
}
