import Foundation

/// A named set of configuration values: the training recipe of a tutorial or a reference
/// implementation (`--recipe NAME`, config key `recipe`; D-251). A recipe is applied under every
/// key given explicitly — defaults, then the recipe, then a config file's keys, then the
/// command line's — and the run's config.toml holds the expanded values, so it reproduces the
/// run without the recipe table.
public struct ConfigRecipe: Sendable, Equatable {
    public struct Setting: Sendable, Equatable {
        public var key: String
        public var value: String
    }

    public var name: String
    /// Where the values come from.
    public var source: String
    /// The models it is for (its `model` setting, when it has one, is the first).
    public var models: [String]
    /// `key = value` in the command line's syntax (`--set`), in the order applied.
    public var settings: [Setting]
    /// What the recipe cannot reproduce, or leaves to the user.
    public var notes: String

    init(_ name: String, source: String, models: [String], notes: String = "", _ settings: KeyValuePairs<String, String>) {
        self.name = name
        self.source = source
        self.models = models
        self.notes = notes
        self.settings = settings.map { Setting(key: $0.key, value: $0.value) }
    }

    /// The recipes Segscope knows, by name.
    public static let all: [ConfigRecipe] = [
        ConfigRecipe("xunet", source: "Keras example \"Image segmentation with a U-Net-like architecture\" (Oxford-IIIT Pets): "
                     + "160×160 resized images, RMSprop (Keras defaults), batch 32, 15 epochs, no augmentation",
                     models: ["xunet"],
                     notes: "Keras resizes every image to 160×160 (resize_scale without keep_ratio); validation here runs on whole images",
                     ["model": "xunet", "optimizer": "rmsprop", "lr": "0.001", "schedule": "constant", "weight_decay": "0",
                      "batch": "32", "epochs": "15", "iterations": "0", "crop": "160", "resize_scale": "160x160",
                      "resize_ratio_min": "1", "resize_ratio_max": "1", "keep_ratio": "false", "cat_max_ratio": "1",
                      "flip_prob": "0", "photometric": "false", "loss": "ce", "eval_interval": "1"]),
        ConfigRecipe("unet", source: "Segscope's settings for the TF2 book chapter's U-Net: Adam 1e-3 (as the PyTorch reference "
                     + "in shared/bench trains it), 256×256 crops (the chapter's input), batch 8, constant rate",
                     models: ["unet"],
                     notes: "the chapter's own optimiser schedule is not reproduced",
                     ["model": "unet", "optimizer": "adam", "lr": "0.001", "schedule": "constant", "weight_decay": "0",
                      "batch": "8", "crop": "256", "resize_ratio_min": "1", "resize_ratio_max": "1", "cat_max_ratio": "1",
                      "flip_prob": "0.5", "photometric": "false", "loss": "ce"]),
        ConfigRecipe("fcn-resnet18", source: "d2l.ai \"Fully Convolutional Networks\": SGD lr 0.001 without momentum, weight decay 1e-3, "
                     + "batch 32, 5 epochs, 320×480 random crops, images smaller than the crop dropped",
                     models: ["fcn-resnet18"],
                     notes: "d2l starts from ImageNet ResNet-18 weights: pass --backbone-weights; d2l trains VOC's void border as background, "
                     + "Segscope ignores it; max_whole_image_pixels is raised to the batch's 32 × 320 × 480",
                     ["model": "fcn-resnet18", "optimizer": "sgd", "lr": "0.001", "momentum": "0", "weight_decay": "0.001",
                      "schedule": "constant", "batch": "32", "epochs": "5", "iterations": "0", "crop": "320x480",
                      "small_images": "drop", "max_whole_image_pixels": "4915200", "resize_ratio_min": "1", "resize_ratio_max": "1", "cat_max_ratio": "1",
                      "flip_prob": "0", "photometric": "false", "loss": "ce"]),
        ConfigRecipe("torchvision", source: "torchvision's references/segmentation (train.py, presets.py): SGD lr 0.02, momentum 0.9, "
                     + "weight decay 1e-4, poly 0.9, 30 epochs, aux loss 0.5, short side resized to 0.5–2.0 × 520, flip 0.5, 480 crops, "
                     + "batch 4 per GPU on 8 GPUs",
                     models: ["fcn-resnet50", "fcn-resnet101", "deeplabv3-resnet50", "deeplabv3-resnet101"],
                     notes: "batch is per process: 8 ranks (mpirun -np 8) give the reference's 32; torchvision speeds up only the "
                     + "aux head ×10, head_lr_mult would speed up both heads, so it stays 1; pass --backbone-weights for the ImageNet backbone",
                     ["optimizer": "sgd", "lr": "0.02", "momentum": "0.9", "weight_decay": "0.0001", "schedule": "poly",
                      "poly_power": "0.9", "warmup_iterations": "0", "batch": "4", "epochs": "30", "iterations": "0", "crop": "480",
                      "resize_scale": "520x2080", "resize_ratio_min": "0.5", "resize_ratio_max": "2", "keep_ratio": "true",
                      "cat_max_ratio": "1", "flip_prob": "0.5", "photometric": "false", "small_images": "pad", "loss": "ce",
                      "aux_loss_weight": "0.5", "head_lr_mult": "1"]),
        ConfigRecipe("mmseg-voc", source: "MMSegmentation's Pascal VOC configs (pascal_voc12.py, schedule_20k.py): SGD lr 0.01, "
                     + "momentum 0.9, weight decay 5e-4, poly 0.9, 20k iterations, scale 2048×512 × 0.5–2.0, 512×512 crops with "
                     + "cat_max_ratio 0.75, flip 0.5, photometric distortion, aux loss 0.4, heads ×10, batch 4 per GPU on 4 GPUs",
                     models: ["fcn-resnet18", "fcn-resnet50", "fcn-resnet101", "deeplabv3-resnet50", "deeplabv3-resnet101"],
                     notes: "batch is per process: 4 ranks give MMSeg's 16; its poly schedule ends at 1e-4, Segscope's at 0",
                     ["optimizer": "sgd", "lr": "0.01", "momentum": "0.9", "weight_decay": "0.0005", "schedule": "poly",
                      "poly_power": "0.9", "warmup_iterations": "0", "batch": "4", "iterations": "20000", "epochs": "0",
                      "eval_interval": "2000", "crop": "512", "resize_scale": "512x2048", "resize_ratio_min": "0.5",
                      "resize_ratio_max": "2", "keep_ratio": "true", "cat_max_ratio": "0.75", "flip_prob": "0.5",
                      "photometric": "true", "small_images": "pad", "loss": "ce", "aux_loss_weight": "0.4", "head_lr_mult": "10",
                      "eval_mode": "whole"]),
    ]

    public static var names: [String] { all.map(\.name) }

    /// The recipe named `name` (any case), or nil.
    public static func named(_ name: String) -> ConfigRecipe? { all.first { $0.name == name.lowercased() } }

    /// The recipe named `name`, or an error naming `key` and the recipes there are.
    static func require(_ name: String, key: String = "recipe") throws(ConfigError) -> ConfigRecipe {
        guard let recipe = named(name) else {
            throw ConfigError(key: key, message: "'\(name)' is not a recipe", allowed: allowed)
        }
        return recipe
    }

    static var allowed: String { "empty (none) or one of " + names.joined(separator: ", ") + " (`segscope train --recipe list`)" }

    /// The lines `--recipe list` prints: each recipe, its models, source, notes and settings.
    public static var listing: String {
        all.map { recipe in
            var lines = ["\(recipe.name)  (models: \(recipe.models.joined(separator: ", ")))", "  from: \(recipe.source)"]
            if !recipe.notes.isEmpty { lines.append("  note: \(recipe.notes)") }
            lines.append("  sets: " + recipe.settings.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
            return lines.joined(separator: "\n")
        }.joined(separator: "\n\n")
    }
}

extension TrainingConfig {
    /// This configuration with `recipe`'s settings applied and `recipe` recorded; an empty name
    /// records none and changes nothing else.
    public func applying(recipe name: String) throws(ConfigErrors) -> TrainingConfig {
        var config = self
        config.recipe = ""
        guard !name.isEmpty else { return config }
        let recipe: ConfigRecipe
        do throws(ConfigError) { recipe = try ConfigRecipe.require(name) } catch { throw ConfigErrors([error]) }
        var errors: [ConfigError] = []
        for setting in recipe.settings {
            do throws(ConfigError) { try config.set(setting.key, text: setting.value) } catch { errors.append(error) }
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        config.recipe = recipe.name
        return config
    }

    /// The `recipe` key's check (part of `problems()`): a known name whose models include `model`.
    func recipeNameProblems() -> [ConfigError] {
        guard !recipe.isEmpty else { return [] }
        guard let found = ConfigRecipe.named(recipe) else {
            return [ConfigError(key: "recipe", message: "'\(recipe)' is not a recipe", allowed: ConfigRecipe.allowed)]
        }
        guard found.models.contains(model) else {
            return [ConfigError(key: "recipe", message: "\(found.name) is a recipe for \(found.models.joined(separator: ", ")), not \(model)",
                                allowed: "a recipe of \(model): " + ConfigRecipe.all.filter { $0.models.contains(model) }.map(\.name).joined(separator: ", ")
                                    + ", or none (empty)")]
        }
        return []
    }
}
