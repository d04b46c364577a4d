import Datasets
import Foundation
import Models
import NN

/// What a config's recipe keys mean to the engine (D-125 … D-128): the loss terms as NN's
/// `SegmentationLoss`, the augmentation pipeline as a `TransformConfig`, the head parameters
/// that `head_lr_mult` speeds up.
public enum TrainingRecipe {
    /// The weighted loss terms of `config.loss` for `classes` classes. Throws an error naming
    /// the key when a value cannot be used (bad text, class weights of the wrong count).
    public static func lossTerms(_ config: TrainingConfig, classes: Int) throws -> [(loss: SegmentationLoss, weight: Float)] {
        let terms: [LossTerm]
        var weights: [Float]?
        do throws(ConfigError) {
            terms = try LossTerm.parse(config.loss)
            weights = try config.parsedClassWeights()?.map { Float($0) }
        } catch {
            throw Failure(message: error.description)
        }
        if let w = weights, w.count != classes {
            throw Failure(message: "config key 'class_weights': '\(config.classWeights)' has \(w.count) weights for the dataset's \(classes) classes; "
                          + "allowed: one number ≥ 0 per class, comma-separated")
        }
        let normalization: CrossEntropyNormalization = config.avgNonIgnore ? .nonIgnored : .weightedTargets
        let smoothing = Float(config.labelSmoothing)
        return terms.map { term in
            let loss: SegmentationLoss
            switch term.kind {
            case .ce: loss = .crossEntropy(weights: weights, labelSmoothing: smoothing, normalization: normalization)
            case .dice: loss = .dice(smooth: Float(config.diceSmooth))
            case .focal: loss = .focal(gamma: Float(config.focalGamma), alpha: config.parsedFocalAlpha.map { Float($0) })
            case .lovasz: loss = .lovasz
            case .ohem: loss = .ohem(threshold: Float(config.ohemThresh), minKept: config.ohemMinKept, weights: weights,
                                     normalization: normalization)
            }
            return (loss, Float(term.weight))
        }
    }

    /// The training transforms of `config`: random resize, crop (with `cat_max_ratio`), flip,
    /// photometric distortion, padding with the mean / void.
    public static func transform(_ config: TrainingConfig) -> TransformConfig {
        var t = TransformConfig(crop: Size2D(height: config.crop.height, width: config.crop.width),
                                smallImages: config.smallImages == .pad ? .pad : .drop,
                                horizontalFlip: config.flipProb > 0, normalization: .imagenet, random: true)
        if config.resizeRatioMin != 1 || config.resizeRatioMax != 1 || config.resizeScale.height > 0 {
            let scale = config.resizeScale.height > 0 ? Size2D(height: config.resizeScale.height, width: config.resizeScale.width) : nil
            t.randomResize = RandomResize(scale: scale, ratioRange: Float(config.resizeRatioMin)...Float(config.resizeRatioMax),
                                          keepRatio: config.keepRatio)
        }
        t.catMaxRatio = Float(config.catMaxRatio)
        t.flipProbability = Float(config.flipProb)
        t.photometric = config.photometric
        return t
    }

    /// The first name components of a model's backbone parameters; every other parameter is
    /// "head" for `head_lr_mult` (MMSeg's decode and auxiliary heads). Models without a backbone: nil.
    static func backbonePrefixes(model: String) -> [String]? {
        switch model {
        case "fcn-resnet18": return ["0.", "1.", "4.", "5.", "6.", "7."]
        case _ where model.hasPrefix("fcn-resnet") || model.hasPrefix("deeplabv3-"): return ["backbone."]
        default: return nil
        }
    }

    /// The names of `network`'s head parameters (see `backbonePrefixes`); empty without a backbone.
    public static func headParameters(of network: Module, model: String) -> [String] {
        guard let prefixes = backbonePrefixes(model: model) else { return [] }
        return network.namedParameters().map(\.name).filter { name in !prefixes.contains { name.hasPrefix($0) } }
    }
}
