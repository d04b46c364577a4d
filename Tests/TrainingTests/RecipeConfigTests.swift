import Datasets
import Foundation
import Models
import NN
import XCTest
@testable import Training

/// Issue #15: the recipe keys (losses, labels, augmentation, TTA) parse, validate with a message
/// naming the key and the value, round-trip through config.toml and JSON, and reach the engine.
final class RecipeConfigTests: XCTestCase {
    private func problems(_ config: TrainingConfig, _ key: String) -> [ConfigError] { config.problems().filter { $0.key == key } }

    func testLossTextParsesIntoWeightedTerms() throws {
        XCTAssertEqual(try LossTerm.parse("ce"), [LossTerm(.ce)])
        XCTAssertEqual(try LossTerm.parse("ce:1.0+dice:0.5"), [LossTerm(.ce), LossTerm(.dice, weight: 0.5)])
        XCTAssertEqual(try LossTerm.parse(" ohem + lovasz:0.25 "), [LossTerm(.ohem), LossTerm(.lovasz, weight: 0.25)])
        XCTAssertEqual(try LossTerm.parse("CrossEntropyLoss+DiceLoss:3"), [LossTerm(.ce), LossTerm(.dice, weight: 3)])
        for bad in ["", "ce+", "cee", "dice:-1", "dice:0", "dice:x", "ce+ce", "ce+ohem", "ce:1:2"] {
            var config = TrainingConfig()
            config.loss = bad
            let found = problems(config, "loss")
            XCTAssertEqual(found.count, 1, bad)
            XCTAssertTrue(found.first?.description.contains("config key 'loss'") == true, bad)
            XCTAssertTrue(found.first?.description.contains("'\(bad)'") == true, found.first?.description ?? bad)
        }
    }

    func testBadRecipeValuesNameTheKeyAndTheValue() {
        let cases: [(String, String, String)] = [
            ("class_weights", "1,x,2", "'x'"), ("class_weights", "0,0", "no weight above 0"),
            ("label_smoothing", "1.5", "1.5"), ("focal_gamma", "-1", "-1"), ("focal_alpha", "2", "'2'"),
            ("focal_alpha", "half", "'half'"), ("ohem_thresh", "0", "0"), ("ohem_min_kept", "-3", "-3"),
            ("aux_loss_weight", "-0.5", "-0.5"), ("head_lr_mult", "0", "0"), ("ignore_index", "300", "300"),
            ("resize_ratio_min", "0", "0"), ("cat_max_ratio", "1.5", "1.5"), ("flip_prob", "2", "2"),
            ("tta_scales", "0.5,9", "'9'"), ("resize_scale", "0x512", "0x512"),
        ]
        for (key, value, shown) in cases {
            do {
                let config = try TrainingConfig().applying(overrides: [(key, value)])
                let found = problems(config, key)
                XCTAssertEqual(found.count, 1, "\(key)=\(value): \(config.problems())")
                XCTAssertTrue(found.first?.description.contains(shown) == true, "\(key)=\(value): \(found)")
            } catch {
                XCTFail("\(key)=\(value) should parse and fail validation: \(error)")
            }
        }
        var config = TrainingConfig()
        config.resizeRatioMin = 2
        config.resizeRatioMax = 0.5
        XCTAssertTrue(problems(config, "resize_ratio_max").first?.description.contains("below resize_ratio_min") == true)
        // A multiplier of the head needs a backbone to tell the head from.
        config = TrainingConfig()
        config.headLRMult = 10
        XCTAssertTrue(problems(config, "head_lr_mult").first?.description.contains("xunet has none") == true)
        config.model = "fcn-resnet18"
        config.crop = PixelSize(square: 160)
        XCTAssertEqual(problems(config, "head_lr_mult"), [])
        XCTAssertThrowsError(try TrainingConfig().applying(overrides: [("avg_non_ignore", "maybe")])) { error in
            XCTAssertTrue("\(error)".contains("avg_non_ignore"), "\(error)")
        }
        XCTAssertThrowsError(try TrainingConfig().applying(overrides: [("eval_tta", "ms+flop")])) { error in
            XCTAssertTrue("\(error)".contains("ss, flip, ms, ms+flip"), "\(error)")
        }
    }

    private func recipeConfig() throws -> TrainingConfig {
        try TrainingConfig().applying(overrides: [
            ("loss", "ce+dice:0.5"), ("class_weights", "1,2,0.5"), ("avg_non_ignore", "true"), ("label_smoothing", "0.1"),
            ("dice_smooth", "1"), ("focal_gamma", "1.5"), ("focal_alpha", "0.25"), ("ohem_thresh", "0.6"),
            ("ohem_min_kept", "5000"), ("aux_loss_weight", "0.4"), ("ignore_index", "0"), ("reduce_zero_label", "true"),
            ("pets_border", "void"), ("resize_scale", "512x2048"), ("resize_ratio_min", "0.5"), ("resize_ratio_max", "2"),
            ("keep_ratio", "false"), ("cat_max_ratio", "0.75"), ("flip_prob", "0.25"), ("photometric", "true"),
            ("eval_tta", "ms+flip"), ("tta_scales", "0.5,1,1.5"),
        ])
    }

    func testRecipeKeysRoundTripThroughTOMLAndJSON() throws {
        let config = try recipeConfig()
        XCTAssertEqual(config.problems(), [])
        let text = config.tomlText()
        XCTAssertTrue(text.contains("\navg_non_ignore = true\n"), "a TOML boolean")
        XCTAssertTrue(text.contains("\nloss = \"ce+dice:0.5\"\n"))
        XCTAssertTrue(text.contains("\nresize_scale = [512, 2048]\n"))
        XCTAssertEqual(try TrainingConfig(toml: text), config)
        let json = try JSONEncoder().encode(config)
        XCTAssertTrue(String(decoding: json, as: UTF8.self).contains("\"photometric\":true"))
        XCTAssertEqual(try JSONDecoder().decode(TrainingConfig.self, from: json), config)
        // An older config.toml without the keys keeps the defaults (plain cross-entropy, no augmentation beyond crop + flip).
        let old = try TrainingConfig(toml: "model = \"xunet\"\n")
        XCTAssertEqual(old.loss, "ce")
        XCTAssertEqual(old.flipProb, 0.5)
        XCTAssertFalse(old.photometric)
        XCTAssertThrowsError(try TrainingConfig(toml: "photometric = \"sometimes\"\n")) { error in
            XCTAssertTrue("\(error)".contains("config key 'photometric'"), "\(error)")
        }
        // MMSeg's names point at ours.
        XCTAssertThrowsError(try TrainingConfig(toml: "loss_decode = \"ce\"\n")) { error in
            XCTAssertTrue("\(error)".contains("did you mean 'loss'"), "\(error)")
        }
    }

    func testLossKeysBuildTheSegmentationLosses() throws {
        let config = try recipeConfig()
        let terms = try TrainingRecipe.lossTerms(config, classes: 3)
        XCTAssertEqual(terms.map(\.loss), [.crossEntropy(weights: [1, 2, 0.5], labelSmoothing: 0.1, normalization: .nonIgnored),
                                           .dice(smooth: 1)])
        XCTAssertEqual(terms.map(\.weight), [1, 0.5])
        var other = TrainingConfig()
        other.loss = "focal:2+ohem+lovasz"
        other.focalAlpha = "none"
        XCTAssertEqual(try TrainingRecipe.lossTerms(other, classes: 21).map(\.loss),
                       [.focal(gamma: 2, alpha: nil), .ohem(threshold: 0.7, minKept: 100_000, weights: nil, normalization: .weightedTargets), .lovasz])
        XCTAssertThrowsError(try TrainingRecipe.lossTerms(config, classes: 21)) { error in
            XCTAssertTrue("\(error)".contains("config key 'class_weights'"), "\(error)")
            XCTAssertTrue("\(error)".contains("3 weights for the dataset's 21 classes"), "\(error)")
        }
        // The default recipe is plain cross-entropy, exactly the loss the step used before.
        XCTAssertEqual(try TrainingRecipe.lossTerms(TrainingConfig(), classes: 3).map(\.loss), [.crossEntropy()])
    }

    func testTransformFollowsTheAugmentationKeys() throws {
        let t = TrainingRecipe.transform(try recipeConfig())
        XCTAssertEqual(t.randomResize, RandomResize(scale: Size2D(height: 512, width: 2048), ratioRange: 0.5...2, keepRatio: false))
        XCTAssertEqual(t.catMaxRatio, 0.75)
        XCTAssertEqual(t.flipProbability, 0.25)
        XCTAssertTrue(t.photometric)
        let plain = TrainingRecipe.transform(TrainingConfig())
        XCTAssertNil(plain.randomResize)
        XCTAssertTrue(plain.horizontalFlip)
        XCTAssertFalse(plain.photometric)
        var noFlip = TrainingConfig()
        noFlip.flipProb = 0
        XCTAssertFalse(TrainingRecipe.transform(noFlip).horizontalFlip)
    }

    func testHeadParametersAreEverythingOutsideTheBackbone() throws {
        let fcn = try ModelRegistry.spec(named: "fcn-resnet18").buildLayoutOnly(ModelOptions(classes: 3))
        let head = TrainingRecipe.headParameters(of: fcn, model: "fcn-resnet18")
        XCTAssertFalse(head.isEmpty)
        XCTAssertTrue(head.allSatisfy { $0.hasPrefix("final_conv.") || $0.hasPrefix("transpose_conv.") }, "\(head)")
        XCTAssertEqual(head.count, fcn.namedParameters().filter { $0.name.hasPrefix("final_conv.") || $0.name.hasPrefix("transpose_conv.") }.count)
        let xunet = try ModelRegistry.spec(named: "xunet").buildLayoutOnly(ModelOptions(classes: 3))
        XCTAssertEqual(TrainingRecipe.headParameters(of: xunet, model: "xunet"), [])
    }

    func testLearningRateMultiplierScalesOneParametersStep() {
        let a = Tensor(shape: [2], values: [1, 1]), b = Tensor(shape: [2], values: [1, 1])
        a.grad = Tensor(shape: [2], values: [1, -2])
        b.grad = Tensor(shape: [2], values: [1, -2])
        let optimizer = Optimizer(parameters: [("backbone.w", a), ("classifier.w", b)], rule: SGD(), learningRate: 0.01)
        optimizer.learningRateMultipliers["classifier.w"] = 10
        optimizer.step()
        XCTAssertEqual(a.array, [0.99, 1.02], accuracy: 1e-6)
        XCTAssertEqual(b.array, [0.9, 1.2], accuracy: 1e-6)
    }

    func testDatasetOptionsFollowTheLabelKeys() throws {
        let config = try recipeConfig()
        XCTAssertTrue(config.datasetOptions.reduceZeroLabel)
        XCTAssertEqual(config.datasetOptions.ignoreIndex, 0)
        XCTAssertEqual(config.datasetOptions.petsBorder, .void)
        XCTAssertFalse(TrainingConfig().datasetOptions.relabels)
    }
}

private func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
