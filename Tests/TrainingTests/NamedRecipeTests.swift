import Datasets
import Foundation
import TestSupport
import XCTest
@testable import Training

/// Named recipes (`--recipe NAME`, config key `recipe`, D-251): each is valid for its models,
/// holds the published values, goes under explicit keys, and is written expanded.
final class NamedRecipeTests: XCTestCase {
    private func config(_ overrides: [(key: String, value: String)]) throws -> TrainingConfig {
        try TrainingConfig().applying(overrides: overrides)
    }

    func testEveryRecipeIsValidForEachOfItsModels() throws {
        XCTAssertEqual(ConfigRecipe.names, ["xunet", "unet", "fcn-resnet18", "torchvision", "mmseg-voc"])
        for recipe in ConfigRecipe.all {
            XCTAssertFalse(recipe.models.isEmpty, recipe.name)
            for model in recipe.models {
                XCTAssertTrue(TrainingConfig.modelNames.contains(model), "\(recipe.name): \(model)")
                let c = try config([("model", model), ("recipe", recipe.name)])
                XCTAssertEqual(c.recipe, recipe.name)
                XCTAssertEqual(c.model, model)
                XCTAssertEqual(c.problems(), [], "\(recipe.name) on \(model)")
                for setting in recipe.settings where setting.key != "model" {
                    XCTAssertNotNil(TrainingConfig.key(named: setting.key), "\(recipe.name): \(setting.key)")
                }
            }
        }
        // The per-model recipes name their model; a model of its own list is picked by the recipe alone.
        XCTAssertEqual(try config([("recipe", "unet")]).model, "unet")
        XCTAssertEqual(try config([("recipe", "fcn-resnet18")]).crop, PixelSize(height: 320, width: 480))
    }

    func testTorchvisionAndMMSegRecipesHoldThePublishedValues() throws {
        let tv = try config([("model", "deeplabv3-resnet50"), ("recipe", "torchvision")])
        XCTAssertEqual(tv.optimizer, .sgd)
        XCTAssertEqual(tv.lr, 0.02)
        XCTAssertEqual(tv.momentum, 0.9)
        XCTAssertEqual(tv.weightDecay, 1e-4)
        XCTAssertEqual(tv.schedule, .poly)
        XCTAssertEqual(tv.polyPower, 0.9)
        XCTAssertEqual(tv.auxLossWeight, 0.5)
        XCTAssertEqual(tv.crop, PixelSize(square: 480))
        XCTAssertEqual([tv.resizeRatioMin, tv.resizeRatioMax], [0.5, 2.0])
        XCTAssertEqual(tv.flipProb, 0.5)
        // torchvision resizes the short side to 260…1040 (0.5–2.0 × 520): MMSeg's keep-ratio rule
        // with [520, 2080] does that for every VOC aspect ratio.
        let resize = try XCTUnwrap(TrainingRecipe.transform(tv).randomResize)
        XCTAssertEqual(resize.size(height: 375, width: 500, ratio: 0.5), Size2D(height: 260, width: 347))
        XCTAssertEqual(resize.size(height: 500, width: 333, ratio: 2.0), Size2D(height: 1562, width: 1040))

        let mm = try config([("model", "fcn-resnet50"), ("recipe", "mmseg-voc")])
        XCTAssertEqual(mm.crop, PixelSize(square: 512))
        XCTAssertEqual(mm.resizeScale, PixelSize(height: 512, width: 2048))
        XCTAssertEqual([mm.resizeRatioMin, mm.resizeRatioMax], [0.5, 2.0])
        XCTAssertEqual(mm.catMaxRatio, 0.75)
        XCTAssertTrue(mm.photometric)
        XCTAssertEqual(mm.headLRMult, 10)
        XCTAssertEqual(mm.auxLossWeight, 0.4)
        XCTAssertEqual([mm.lr, mm.momentum, mm.weightDecay], [0.01, 0.9, 5e-4])
        XCTAssertEqual([mm.iterations, mm.epochs, mm.evalInterval], [20000, 0, 2000])

        // The Keras Pets recipe resizes every image to 160×160, as the example's load_img does.
        let keras = try config([("recipe", "xunet")])
        XCTAssertEqual(keras.optimizer, .rmsprop)
        XCTAssertEqual([keras.batch, keras.epochs], [32, 15])
        let kerasResize = try XCTUnwrap(TrainingRecipe.transform(keras).randomResize)
        XCTAssertEqual(kerasResize.size(height: 375, width: 500, ratio: 1), Size2D(height: 160, width: 160))
        XCTAssertFalse(TrainingRecipe.transform(keras).flipProbability > 0)
    }

    func testExplicitKeysWinOverTheRecipeWhateverTheirOrder() throws {
        for overrides in [[("lr", "0.5"), ("recipe", "torchvision"), ("model", "fcn-resnet50")],
                          [("model", "fcn-resnet50"), ("recipe", "torchvision"), ("lr", "0.5")]] {
            let c = try config(overrides.map { (key: $0.0, value: $0.1) })
            XCTAssertEqual(c.lr, 0.5)
            XCTAssertEqual(c.momentum, 0.9, "the recipe's other keys stay")
            XCTAssertEqual(c.recipe, "torchvision")
        }
        // A per-model recipe's model gives way to an explicit one, which the check then refuses.
        let mismatch = try config([("recipe", "xunet"), ("model", "unet")])
        let problem = try XCTUnwrap(mismatch.problems().first { $0.key == "recipe" })
        XCTAssertTrue(problem.description.contains("xunet is a recipe for xunet, not unet"), problem.description)
        XCTAssertTrue(problem.allowed.contains("unet"), problem.allowed)
        XCTAssertThrowsError(try config([("recipe", "mmseg-ade")])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("config key 'recipe'") && text.contains("'mmseg-ade'") && text.contains("mmseg-voc"), text)
        }
    }

    func testConfigTomlHoldsTheExpandedRecipeAndReadsBackTheSame() throws {
        let c = try config([("model", "deeplabv3-resnet101"), ("recipe", "torchvision"), ("batch", "2")])
        let text = c.tomlText()
        XCTAssertTrue(text.contains("recipe = \"torchvision\""), text)
        XCTAssertTrue(text.contains("lr = 0.02"), text)
        XCTAssertTrue(text.contains("batch = 2"), text)
        XCTAssertEqual(try TrainingConfig(toml: text), c)

        // A hand-written file: its recipe goes under its own keys.
        let file = try TrainingConfig(toml: "model = \"fcn-resnet50\"\nrecipe = \"torchvision\"\nlr = 0.05\n", source: "mine.toml")
        XCTAssertEqual(file.lr, 0.05)
        XCTAssertEqual(file.momentum, 0.9)
        XCTAssertEqual(file.crop, PixelSize(square: 480))
        XCTAssertThrowsError(try TrainingConfig(toml: "recipe = \"nope\"\n", source: "mine.toml")) { error in
            XCTAssertTrue("\(error)".contains("mine.toml") && "\(error)".contains("'nope'"), "\(error)")
        }
        // Without a recipe nothing changes, and the key is empty.
        XCTAssertEqual(try TrainingConfig(toml: TrainingConfig().tomlText()), TrainingConfig())
        XCTAssertEqual(TrainingConfig().recipe, "")
    }

    func testListingNamesEveryRecipeAndItsSettings() {
        let listing = ConfigRecipe.listing
        for recipe in ConfigRecipe.all {
            XCTAssertTrue(listing.contains("\(recipe.name)  (models: "), recipe.name)
            XCTAssertTrue(listing.contains(recipe.settings.map { "\($0.key)=\($0.value)" }.joined(separator: " ")), recipe.name)
        }
    }

    func testPetsBorderKeyReachesTheDataset() throws {
        let c = try config([("data", Fixtures.pets.path), ("pets_border", "void")])
        let dataset = try c.openDataset()
        XCTAssertEqual(dataset.classNames, ["pet", "background"])
        XCTAssertEqual(try dataset.sample(id: "Abyssinian_1").label.presentValues, [0, 1, 255])
    }
}
