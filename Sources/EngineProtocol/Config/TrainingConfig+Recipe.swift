import Datasets
import Foundation

// The recipe keys of issue #15 (D-125 … D-129): losses, labels, augmentation and test-time
// augmentation. The protocol does not link the tensor engine, so the loss text is parsed here
// into plain terms; Training maps them onto NN's `SegmentationLoss`.

/// Test-time augmentation: single scale, horizontal flip, multi-scale, or both (MMSeg's
/// "ms+flip"); merged by averaging the logits.
public enum TTAMode: String, Sendable, Codable, CaseIterable {
    case ss, flip, ms, msFlip = "ms+flip"
    public var flips: Bool { self == .flip || self == .msFlip }
    public var multiScale: Bool { self == .ms || self == .msFlip }
}

/// One term of the `loss` key: a loss and its weight (MMSeg's `loss_decode` entry and its `loss_weight`).
public struct LossTerm: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, CaseIterable {
        case ce, dice, focal, lovasz, ohem
        /// MMSegmentation's type names, accepted as spellings (case-insensitive).
        static let aliases: [String: Kind] = [
            "crossentropyloss": .ce, "cross_entropy": .ce, "crossentropy": .ce, "diceloss": .dice,
            "focalloss": .focal, "lovaszloss": .lovasz, "lovasz_softmax": .lovasz, "ohemcrossentropy": .ohem,
        ]
    }
    public var kind: Kind
    public var weight: Double
    public init(_ kind: Kind, weight: Double = 1) {
        self.kind = kind
        self.weight = weight
    }
    public var description: String { weight == 1 ? kind.rawValue : "\(kind.rawValue):\(weight)" }

    static let allowed = "terms joined by '+', each NAME or NAME:WEIGHT with NAME one of ce, dice, focal, lovasz, ohem "
        + "and WEIGHT a number > 0 (e.g. ce, ce+dice:0.5, ohem+lovasz:0.5)"

    /// Parses `ce`, `ce:1.0+dice:0.5`, … (MMSeg type names such as `CrossEntropyLoss` too);
    /// each loss at most once.
    public static func parse(_ text: String) throws(ConfigError) -> [LossTerm] {
        var terms: [LossTerm] = []
        let parts = text.split(separator: "+", omittingEmptySubsequences: false)
        for raw in parts {
            let part = raw.trimmingCharacters(in: .whitespaces)
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard !part.isEmpty, pieces.count <= 2 else {
                throw ConfigError(key: "loss", message: "'\(text)': term '\(part)' is not NAME or NAME:WEIGHT", allowed: allowed)
            }
            let name = pieces[0].lowercased()
            guard let kind = Kind(rawValue: name) ?? Kind.aliases[name] else {
                throw ConfigError(key: "loss", message: "'\(text)': '\(pieces[0])' is not a loss", allowed: allowed)
            }
            var weight = 1.0
            if pieces.count == 2 {
                guard let w = Double(pieces[1]), w.isFinite, w > 0 else {
                    throw ConfigError(key: "loss", message: "'\(text)': weight '\(pieces[1])' of \(kind.rawValue) is not a number > 0", allowed: allowed)
                }
                weight = w
            }
            guard !terms.contains(where: { $0.kind == kind }) else {
                throw ConfigError(key: "loss", message: "'\(text)': \(kind.rawValue) appears twice", allowed: allowed)
            }
            if (kind == .ce && terms.contains { $0.kind == .ohem }) || (kind == .ohem && terms.contains { $0.kind == .ce }) {
                throw ConfigError(key: "loss", message: "'\(text)': ce and ohem are both cross-entropy (ohem is ce on the hard pixels); use one",
                                  allowed: allowed)
            }
            terms.append(LossTerm(kind, weight: weight))
        }
        return terms
    }
}

extension TrainingConfig {
    /// The `loss` key's terms (empty when it does not parse; `problems()` says why).
    public var lossTerms: [LossTerm] { (try? LossTerm.parse(loss)) ?? [] }

    /// `class_weights` as numbers, nil when empty.
    public func parsedClassWeights() throws(ConfigError) -> [Double]? {
        let text = classWeights.trimmingCharacters(in: .whitespaces)
        if text.isEmpty { return nil }
        let allowed = "empty, or one number ≥ 0 per class separated by commas (e.g. 1,2,0.5), not all 0"
        var weights: [Double] = []
        for item in text.split(whereSeparator: { $0 == "," || $0 == " " }) {
            guard let w = Double(item), w.isFinite, w >= 0 else {
                throw ConfigError(key: "class_weights", message: "'\(item)' in '\(classWeights)' is not a number ≥ 0", allowed: allowed)
            }
            weights.append(w)
        }
        guard weights.contains(where: { $0 > 0 }) else {
            throw ConfigError(key: "class_weights", message: "'\(classWeights)' has no weight above 0", allowed: allowed)
        }
        return weights
    }

    /// `focal_alpha` as a number, nil for "none".
    public var parsedFocalAlpha: Double? {
        let text = focalAlpha.trimmingCharacters(in: .whitespaces).lowercased()
        return text == "none" || text.isEmpty ? nil : Double(text)
    }

    /// `tta_scales` as numbers (nil when they do not parse; `problems()` says why).
    public var parsedTTAScales: [Double]? { try? Self.parseScales(ttaScales, key: "tta_scales") }

    /// Scales such as `0.5,0.75,1.0`: each in [0.25, 4], at least one.
    public static func parseScales(_ text: String, key: String) throws(ConfigError) -> [Double] {
        let allowed = "numbers from 0.25 to 4 separated by commas (MMSeg: 0.5,0.75,1.0,1.25,1.5,1.75)"
        var scales: [Double] = []
        for item in text.split(whereSeparator: { $0 == "," || $0 == " " }) {
            guard let s = Double(item), s.isFinite, (0.25...4).contains(s) else {
                throw ConfigError(key: key, message: "'\(item)' in '\(text)' is not a scale", allowed: allowed)
            }
            scales.append(s)
        }
        guard !scales.isEmpty else { throw ConfigError(key: key, message: "no scales in '\(text)'", allowed: allowed) }
        return scales
    }

    /// How the dataset's labels are read (the Pets border, `reduce_zero_label`, `ignore_index`)
    /// and drawn (`palette`).
    public var datasetOptions: DatasetOptions {
        var options = DatasetOptions(petsBorder: petsBorder)
        options.reduceZeroLabel = reduceZeroLabel
        options.ignoreIndex = UInt8(clamping: ignoreIndex)
        options.palette = palette
        return options
    }

    /// The recipe keys' checks (part of `problems()`).
    func recipeProblems() -> [ConfigError] {
        var errors: [ConfigError] = []
        func check(_ ok: Bool, _ key: String, _ message: @autoclosure () -> String, _ allowed: String) {
            if !ok { errors.append(ConfigError(key: key, message: message(), allowed: allowed)) }
        }
        do throws(ConfigError) { _ = try LossTerm.parse(loss) } catch { errors.append(error) }
        do throws(ConfigError) { _ = try parsedClassWeights() } catch { errors.append(error) }
        check(labelSmoothing.isFinite && labelSmoothing >= 0 && labelSmoothing < 1, "label_smoothing",
              "\(labelSmoothing) is out of range", "a number ≥ 0 and < 1 (PyTorch's label_smoothing)")
        check(diceSmooth.isFinite && diceSmooth >= 0, "dice_smooth", "\(diceSmooth) is out of range", "a number ≥ 0")
        check(focalGamma.isFinite && focalGamma >= 0 && focalGamma <= 10, "focal_gamma", "\(focalGamma) is out of range", "a number from 0 to 10")
        let alphaText = focalAlpha.trimmingCharacters(in: .whitespaces).lowercased()
        check(alphaText == "none" || parsedFocalAlpha.map { $0.isFinite && (0...1).contains($0) } == true, "focal_alpha",
              "'\(focalAlpha)' is not none or a number from 0 to 1", "none (no class balancing, smp's default) or a number from 0 to 1")
        check(ohemThresh.isFinite && ohemThresh > 0 && ohemThresh <= 1, "ohem_thresh", "\(ohemThresh) is out of range",
              "a probability > 0 and ≤ 1 (MMSeg's thresh, e.g. 0.7)")
        check(ohemMinKept >= 0, "ohem_min_kept", "\(ohemMinKept) is negative", "an integer ≥ 0 (MMSeg's min_kept, e.g. 100000)")
        check(auxLossWeight.isFinite && auxLossWeight >= 0 && auxLossWeight <= 10, "aux_loss_weight", "\(auxLossWeight) is out of range",
              "a number from 0 to 10 (torchvision: 0.5; MMSeg: 0.4)")
        check(headLRMult.isFinite && headLRMult > 0 && headLRMult <= 100, "head_lr_mult", "\(headLRMult) is out of range",
              "a number > 0 and ≤ 100 (MMSeg: 10)")
        let withBackbone = ModelFacts.all.filter(\.hasBackbone).map(\.name)
        check(headLRMult == 1 || !(headLRMult > 0 && headLRMult <= 100) || withBackbone.contains(model), "head_lr_mult",
              "\(headLRMult) needs a model with a backbone; \(model) has none (every parameter would be 'head')",
              "1 for \(model), or any value with model = one of \(withBackbone.joined(separator: ", "))")
        check((0...255).contains(ignoreIndex), "ignore_index", "\(ignoreIndex) is out of range",
              "an integer from 0 to 255 (labels are 8-bit; 255 is always void)")
        check(resizeScale.height >= 0 && resizeScale.width >= 0 && resizeScale.height <= 8192 && resizeScale.width <= 8192
              && (resizeScale.height == 0) == (resizeScale.width == 0), "resize_scale", "\(resizeScale) is out of range",
              "[0, 0] (the image's own size) or [height, width] from 1 to 8192 (MMSeg VOC: [512, 2048])")
        let ratios = "numbers from 0.1 to 10 with resize_ratio_min ≤ resize_ratio_max (MMSeg: 0.5 and 2.0)"
        check(resizeRatioMin.isFinite && (0.1...10).contains(resizeRatioMin), "resize_ratio_min", "\(resizeRatioMin) is out of range", ratios)
        check(resizeRatioMax.isFinite && (0.1...10).contains(resizeRatioMax), "resize_ratio_max", "\(resizeRatioMax) is out of range", ratios)
        check(!(resizeRatioMin.isFinite && resizeRatioMax.isFinite) || resizeRatioMin <= resizeRatioMax, "resize_ratio_max",
              "\(resizeRatioMax) is below resize_ratio_min (\(resizeRatioMin))", ratios)
        check(catMaxRatio.isFinite && catMaxRatio > 0 && catMaxRatio <= 1, "cat_max_ratio", "\(catMaxRatio) is out of range",
              "a number > 0 and ≤ 1 (1 = off; MMSeg: 0.75)")
        check(flipProb.isFinite && (0...1).contains(flipProb), "flip_prob", "\(flipProb) is out of range", "a probability from 0 to 1")
        do throws(ConfigError) { _ = try Self.parseScales(ttaScales, key: "tta_scales") } catch { errors.append(error) }
        return errors
    }

    /// The recipe keys, appended to `keys`.
    static let recipeKeys: [ConfigKey] = [
        .string("recipe", "the named recipe the values came from (segscope train --recipe list); applied first, under the other keys of the same file or command line", \.recipe),
        .string("loss", "loss terms, MMSeg's loss_decode: NAME[:WEIGHT] joined by '+', NAME one of ce, dice, focal, lovasz, ohem (e.g. ce+dice:0.5)", \.loss),
        .string("class_weights", "per-class weights of ce / ohem, comma-separated, one per class; empty = none", \.classWeights),
        .flag("avg_non_ignore", "ce / ohem: mean over the non-ignored pixels (MMSeg avg_non_ignore) instead of PyTorch's class-weighted mean", \.avgNonIgnore),
        .float("label_smoothing", "ce / ohem label smoothing (PyTorch's label_smoothing)", \.labelSmoothing),
        .float("dice_smooth", "dice: smoothing term of numerator and denominator", \.diceSmooth),
        .float("focal_gamma", "focal: focusing exponent gamma", \.focalGamma),
        .string("focal_alpha", "focal: weight of the positive term, a number in [0, 1], or none", \.focalAlpha),
        .float("ohem_thresh", "ohem: keep pixels whose true-class probability is below this (MMSeg thresh)", \.ohemThresh),
        .integer("ohem_min_kept", "ohem: keep at least this many pixels per batch (MMSeg min_kept)", \.ohemMinKept),
        .float("aux_loss_weight", "weight of the auxiliary head's loss, for models with one (torchvision: 0.5)", \.auxLossWeight),
        .float("head_lr_mult", "learning-rate multiplier of every parameter outside the backbone (MMSeg: 10); models with a backbone", \.headLRMult),
        .integer("ignore_index", "label value ignored by losses and metrics besides 255 (mapped to void)", \.ignoreIndex),
        .flag("reduce_zero_label", "ADE20K: label 0 ('other') becomes void and every other label one less; the class list loses its first name", \.reduceZeroLabel),
        .choice("pets_border", "Oxford-IIIT Pet trimap border: its own class or void", \.petsBorder),
        .choice("palette", "class colours of masks, overlays and legends: auto (classes.txt colours, else the built-in palette of the "
                + "dataset's class names, else VOC's), voc, ade20k (MMSeg's 150) or cityscapes (the 19 train ids)", \.palette),
        .size("resize_scale", "random resize target [height, width] (MMSeg VOC: [512, 2048]); [0, 0] = the image's own size", \.resizeScale),
        .float("resize_ratio_min", "random resize: smallest ratio of resize_scale (MMSeg: 0.5; 1 with max 1 = off)", \.resizeRatioMin),
        .float("resize_ratio_max", "random resize: largest ratio of resize_scale (MMSeg: 2.0)", \.resizeRatioMax),
        .flag("keep_ratio", "random resize: keep the aspect ratio, fitting the image into the scaled resize_scale (MMSeg keep_ratio)", \.keepRatio),
        .float("cat_max_ratio", "random crop: retry up to 10 times while one class covers more than this share of the crop (MMSeg: 0.75; 1 = off)", \.catMaxRatio),
        .float("flip_prob", "probability of a horizontal flip", \.flipProb),
        .flag("photometric", "MMSeg's PhotoMetricDistortion: brightness ±32, contrast and saturation 0.5–1.5, hue ±18, each with p = 0.5", \.photometric),
        .choice("eval_tta", "test-time augmentation of the evaluations during training: ss, flip, ms (tta_scales) or ms+flip; merged on the logits", \.evalTTA),
        .string("tta_scales", "scales of ms test-time augmentation, comma-separated", \.ttaScales),
    ]
}

extension ConfigKey {
    /// The choices of a yes / no key.
    static let flagChoices = ["false", "true"]

    /// A yes / no key: TOML `true` / `false`, command line `true` / `false` (also yes / no, 1 / 0).
    static func flag(_ name: String, _ help: String, _ path: WritableKeyPath<TrainingConfig, Bool> & Sendable) -> ConfigKey {
        ConfigKey(name: name, kind: .string, help: help, choices: flagChoices, get: { .string($0[keyPath: path] ? "true" : "false") }) { config, value throws(ConfigError) in
            guard case .string(let s) = value, let b = ConfigKey.parseFlag(s) else {
                throw ConfigError(key: name, message: "\(value) is not true or false", allowed: "true, false")
            }
            config[keyPath: path] = b
        }
    }

    static func parseFlag(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "true", "yes", "1", "on": return true
        case "false", "no", "0", "off": return false
        default: return nil
        }
    }

    /// Whether this is a yes / no key (written as a TOML boolean).
    public var isFlag: Bool { choices == Self.flagChoices }
}
