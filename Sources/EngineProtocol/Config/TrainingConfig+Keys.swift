import Datasets
import Foundation

/// A configuration value as TOML, JSON and the command line carry it.
public enum ConfigValue: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case integer(Int)
    case float(Double)
    case size(PixelSize)

    public var description: String {
        switch self {
        case .string(let s): return "\"\(s)\""
        case .integer(let i): return String(i)
        case .float(let d): return String(d)
        case .size(let s): return "[\(s.height), \(s.width)]"
        }
    }
}

/// One configuration key: its name (snake_case, as in `config.toml`), help, value kind, and how
/// to read and write it on a `TrainingConfig`.
public struct ConfigKey: Sendable {
    public enum Kind: String, Sendable { case string, integer, float, size }

    public let name: String
    public let kind: Kind
    public let help: String
    /// For keys with a closed set of values.
    public let choices: [String]?
    let get: @Sendable (TrainingConfig) -> ConfigValue
    let set: @Sendable (inout TrainingConfig, ConfigValue) throws(ConfigError) -> Void

    /// What the key accepts, for messages.
    public var allowed: String {
        if let choices { return choices.joined(separator: ", ") }
        switch kind {
        case .string: return "a string"
        case .integer: return "an integer"
        case .float: return "a number"
        case .size: return "[height, width] in TOML, HxW or N on the command line"
        }
    }

    public func value(in config: TrainingConfig) -> ConfigValue { get(config) }
}

extension ConfigKey {
    static func string(_ name: String, _ help: String, _ path: WritableKeyPath<TrainingConfig, String> & Sendable) -> ConfigKey {
        ConfigKey(name: name, kind: .string, help: help, choices: nil, get: { .string($0[keyPath: path]) }) { config, value throws(ConfigError) in
            guard case .string(let s) = value else { throw ConfigError(key: name, message: "expected a string, got \(value)", allowed: "a string") }
            config[keyPath: path] = s
        }
    }

    static func choice<E: RawRepresentable & CaseIterable & Sendable>(
        _ name: String, _ help: String, _ path: WritableKeyPath<TrainingConfig, E> & Sendable
    ) -> ConfigKey where E.RawValue == String {
        let choices = E.allCases.map(\.rawValue)
        return ConfigKey(name: name, kind: .string, help: help, choices: choices, get: { .string($0[keyPath: path].rawValue) }) { config, value throws(ConfigError) in
            guard case .string(let s) = value, let e = E(rawValue: s) else {
                throw ConfigError(key: name, message: "\(value) is not one of the choices", allowed: choices.joined(separator: ", "))
            }
            config[keyPath: path] = e
        }
    }

    static func integer(_ name: String, _ help: String, _ path: WritableKeyPath<TrainingConfig, Int> & Sendable) -> ConfigKey {
        ConfigKey(name: name, kind: .integer, help: help, choices: nil, get: { .integer($0[keyPath: path]) }) { config, value throws(ConfigError) in
            guard case .integer(let i) = value else { throw ConfigError(key: name, message: "expected an integer, got \(value)", allowed: "an integer") }
            config[keyPath: path] = i
        }
    }

    static func float(_ name: String, _ help: String, _ path: WritableKeyPath<TrainingConfig, Double> & Sendable) -> ConfigKey {
        ConfigKey(name: name, kind: .float, help: help, choices: nil, get: { .float($0[keyPath: path]) }) { config, value throws(ConfigError) in
            switch value {
            case .float(let d): config[keyPath: path] = d
            case .integer(let i): config[keyPath: path] = Double(i)
            default: throw ConfigError(key: name, message: "expected a number, got \(value)", allowed: "a number")
            }
        }
    }

    static func size(_ name: String, _ help: String, _ path: WritableKeyPath<TrainingConfig, PixelSize> & Sendable) -> ConfigKey {
        ConfigKey(name: name, kind: .size, help: help, choices: nil, get: { .size($0[keyPath: path]) }) { config, value throws(ConfigError) in
            switch value {
            case .size(let s): config[keyPath: path] = s
            case .integer(let n): config[keyPath: path] = PixelSize(square: n)
            default: throw ConfigError(key: name, message: "expected [height, width], got \(value)", allowed: "[height, width] in TOML, HxW or N on the command line")
            }
        }
    }
}

extension TrainingConfig {
    /// Every key, in the order `config.toml` lists them.
    public static let keys: [ConfigKey] = [
        .string("model", "network to train: xunet (Keras Oxford-Pets U-Net), unet (TF2 U-Net), fcn-resnet18 (d2l FCN), fcn- / deeplabv3-resnet50 / 101, lraspp-mobilenet-v3-large (torchvision)", \.model),
        .string("data", "dataset directory; empty = the demo set in the cache directory", \.data),
        .choice("format", "dataset layout", \.format),
        .string("split", "split to train on", \.split),
        .string("val_split", "split to evaluate on", \.valSplit),
        .size("crop", "random training crop [height, width]", \.crop),
        .choice("small_images", "images smaller than the crop: pad (mean / void 255) or drop (d2l's filter)", \.smallImages),
        .integer("batch", "images per iteration", \.batch),
        .integer("epochs", "passes over the training split (0 when iterations is set)", \.epochs),
        .integer("iterations", "iterations to train (0 when epochs is set)", \.iterations),
        .choice("optimizer", "update rule", \.optimizer),
        .float("lr", "base learning rate", \.lr),
        .string("lr_changes", "changes of the base learning rate while training (cockpit L, attach --send lr=…), recorded by the engine as ITER:RATE,…: from iteration ITER + 1 on the base is RATE; replayed, so this file reproduces the run's rates; empty = none", \.lrChanges),
        .choice("schedule", "learning-rate schedule over the run (poly: torchvision's reference, per iteration)", \.schedule),
        .float("poly_power", "exponent of the poly schedule", \.polyPower),
        .integer("step_size", "iterations between decays of the step schedule", \.stepSize),
        .float("step_gamma", "factor of each step decay", \.stepGamma),
        .integer("warmup_iterations", "linear warm-up from 0 over this many iterations", \.warmupIterations),
        .float("weight_decay", "L2 penalty (SGD, Adam, RMSprop) or decoupled decay (AdamW)", \.weightDecay),
        .float("momentum", "SGD / RMSprop momentum", \.momentum),
        .integer("seed", "seed for initialisation, shuffling and augmentation", \.seed),
        .integer("threads", "threads for BLAS and parallel loops; 0 = every core", \.threads),
        .integer("eval_interval", "evaluate every N epochs (or N iterations when iterations is set); 0 = every 2 epochs, or a tenth of the iterations", \.evalInterval),
        .choice("eval_mode", "validation inference: whole image or sliding window", \.evalMode),
        .size("eval_stride", "sliding-window stride [height, width]; [0, 0] = two thirds of the crop", \.evalStride),
        .integer("max_whole_image_pixels", "most pixels in one forward pass: larger images are predicted in overlapping tiles; crop × batch must fit", \.maxWholeImagePixels),
        .choice("checkpoint", "checkpoints to keep", \.checkpoint),
        .integer("keep_predictions", "sample-prediction folders to keep: the best evaluation's and the last N evaluations'; 0 = every evaluation's", \.keepPredictions),
        .integer("precise_bn_images", "before each evaluation, recompute batch-norm statistics from this many training crops (precise BN); 0 = keep the running averages", \.preciseBNImages),
        .choice("batch_norm", "batch norm in training: batch (each batch's statistics; per rank when distributed), sync (statistics over all ranks' batches; as batch in one process) or frozen (running statistics, affine still trained)", \.batchNorm),
        .integer("early_stopping_patience", "stop after this many evaluations without a better val mIoU; 0 = never", \.earlyStoppingPatience),
        .choice("backend", "numeric backend: dnnl (oneDNN; reference when the library is missing) or reference (OpenBLAS im2col)", \.backend),
        .choice("precision", "convolution arithmetic: fp32, or bf16 (oneDNN AVX512-BF16 / AMX kernels; fp32 master weights, optimizer state, loss and metrics; fp32 with a notice on CPUs without them)", \.precision),
        .string("runs_dir", "directory that holds run directories", \.runsDir),
        .string("resume", "checkpoints/last.resume.safetensors of a run to continue exactly; empty = fresh run", \.resume),
        .string("backbone_weights", "torchvision ImageNet classifier weights (safetensors or .pth) for the backbone: resnet18 for fcn-resnet18, resnet50 / 101 for the fcn / deeplabv3 models (fc.* ignored), mobilenet_v3_large for lraspp-mobilenet-v3-large (classifier.* ignored); empty = none", \.backboneWeights),
        .string("backbone_weights_key", "the state dict inside a PyTorch checkpoint given as backbone_weights that wraps it ('model', 'state_dict', 'a/b' for nested entries); empty = found automatically", \.backboneWeightsKey),
    ] + recipeKeys

    public static func key(named name: String) -> ConfigKey? { keys.first { $0.name == name } }

    /// Sets one key from a typed value (TOML or JSON).
    public mutating func set(_ name: String, to value: ConfigValue) throws(ConfigError) {
        guard let key = Self.key(named: name) else { throw Self.unknownKey(name) }
        try key.set(&self, value)
    }

    /// Sets one key from command-line text: `--set lr=0.01`, `--crop 160x160`, `--optimizer sgd`.
    public mutating func set(_ name: String, text: String) throws(ConfigError) {
        guard let key = Self.key(named: name) else { throw Self.unknownKey(name) }
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let value: ConfigValue
        switch key.kind {
        case .string:
            value = .string(trimmed)
        case .integer:
            guard let i = Int(trimmed) else {
                throw ConfigError(key: name, message: "'\(text)' is not an integer", allowed: key.allowed)
            }
            value = .integer(i)
        case .float:
            guard let d = Double(trimmed) else {
                throw ConfigError(key: name, message: "'\(text)' is not a number", allowed: key.allowed)
            }
            value = .float(d)
        case .size:
            guard let s = PixelSize(parsing: trimmed) else {
                throw ConfigError(key: name, message: "'\(text)' is not a size", allowed: "HxW (e.g. 160x240) or N")
            }
            value = .size(s)
        }
        try key.set(&self, value)
    }

    /// Applies `key=value` overrides (from `--set` or dedicated flags), reporting every bad one.
    public func applying(overrides: [(key: String, value: String)]) throws -> TrainingConfig {
        var config = self
        var errors: [ConfigError] = []
        // A recipe goes under the other overrides (D-251).
        if let recipe = overrides.last(where: { $0.key == "recipe" }) {
            do throws(ConfigErrors) { config = try config.applying(recipe: recipe.value) } catch { errors += error.errors }
        }
        for (key, value) in overrides where key != "recipe" {
            do throws(ConfigError) { try config.set(key, text: value) } catch { errors.append(error) }
        }
        if !errors.isEmpty { throw ConfigErrors(errors) }
        return config
    }

    /// Names other tools use for our keys, for "did you mean".
    static let synonyms = [
        "learning_rate": "lr", "base_lr": "lr", "batch_size": "batch", "dataset": "data", "data_dir": "data",
        "data_root": "data", "crop_size": "crop", "max_iters": "iterations", "max_epochs": "epochs",
        "val_interval": "eval_interval", "patience": "early_stopping_patience", "work_dir": "runs_dir",
        "lr_schedule": "schedule", "scheduler": "schedule", "num_threads": "threads", "resume_from": "resume",
        "pretrained": "backbone_weights", "backbone": "backbone_weights",
        "loss_decode": "loss", "class_weight": "class_weights", "thresh": "ohem_thresh", "min_kept": "ohem_min_kept",
        "lr_mult": "head_lr_mult", "ratio_range": "resize_ratio_min", "scale": "resize_scale", "prob": "flip_prob",
        "flip": "flip_prob", "tta": "eval_tta", "aug_test": "eval_tta",
    ]

    static func unknownKey(_ name: String, source: String? = nil) -> ConfigError {
        let names = keys.map(\.name)
        var close = names.min { editDistance($0, name) < editDistance($1, name) }
        if let close0 = close, editDistance(close0, name) > max(2, name.count / 3) { close = nil }
        if let synonym = synonyms[name.lowercased()] { close = synonym }
        var message = "unknown key"
        if let close { message += " (did you mean '\(close)'?)" }
        return ConfigError(key: name, message: message, allowed: names.joined(separator: ", "), source: source)
    }

    /// Checks every value; returns all problems (empty when the config is usable).
    public func problems() -> [ConfigError] {
        var errors: [ConfigError] = []
        func check(_ ok: Bool, _ key: String, _ message: @autoclosure () -> String, _ allowed: String) {
            if !ok { errors.append(ConfigError(key: key, message: message(), allowed: allowed)) }
        }
        check(Self.modelNames.contains(model), "model", "'\(model)' is not a known model", Self.modelNames.joined(separator: ", "))
        check(!split.isEmpty, "split", "must not be empty", "a split name such as train or trainval")
        check(!valSplit.isEmpty, "val_split", "must not be empty", "a split name such as val or test")
        for (name, size) in [("crop", crop)] {
            check((8...4096).contains(size.height) && (8...4096).contains(size.width), name,
                  "\(size) is out of range", "height and width between 8 and 4096")
        }
        // The network's stride rule: a crop it does not divide would fail deep in the first
        // forward pass (a skip concat of unequal sizes). The multiple is a model fact the
        // protocol holds (`ModelFacts`; Models' registry owns it, a test keeps the two equal).
        if let facts = ModelFacts.named(model), let reason = facts.sizeProblem(crop) {
            errors.append(ConfigError(key: "crop", message: "\(crop) does not suit \(model): \(reason)",
                                      allowed: "height and width divisible by \(facts.sizeMultiple) for \(model)"))
        }
        check((1...1024).contains(batch), "batch", "\(batch) is out of range", "an integer from 1 to 1024")
        check((0...Self.maxEpochs).contains(epochs), "epochs", epochs < 0 ? "\(epochs) is negative" : "\(epochs) is too large",
              "an integer from 0 to \(Self.maxEpochs)")
        check((0...Self.maxIterations).contains(iterations), "iterations",
              iterations < 0 ? "\(iterations) is negative" : "\(iterations) is too large", "an integer from 0 to \(Self.maxIterations)")
        if epochs >= 0 && iterations >= 0 {
            check((epochs > 0) != (iterations > 0), epochs > 0 ? "iterations" : "epochs",
                  epochs > 0 ? "both epochs (\(epochs)) and iterations (\(iterations)) are set" : "neither epochs nor iterations is set",
                  "exactly one of epochs / iterations positive, the other 0")
        }
        check(LearningRateLimit.allows(lr), "lr", "\(lr) is out of range", LearningRateLimit.allowed)
        do throws(ConfigError) { _ = try LearningRateChange.parse(lrChanges) } catch { errors.append(error) }
        check(polyPower.isFinite && polyPower > 0, "poly_power", "\(polyPower) is out of range", "a number > 0")
        if schedule == .step {
            check(stepSize > 0, "step_size", "must be set when schedule is step (got \(stepSize))", "an integer ≥ 1")
        }
        check(stepGamma.isFinite && stepGamma > 0 && stepGamma <= 1, "step_gamma", "\(stepGamma) is out of range", "a number > 0 and ≤ 1")
        check(warmupIterations >= 0, "warmup_iterations", "\(warmupIterations) is negative", "an integer ≥ 0")
        check(weightDecay.isFinite && weightDecay >= 0 && weightDecay < 1, "weight_decay", "\(weightDecay) is out of range", "a number ≥ 0 and < 1")
        check(momentum.isFinite && momentum >= 0 && momentum < 1, "momentum", "\(momentum) is out of range", "a number ≥ 0 and < 1")
        check(seed >= 0, "seed", "\(seed) is negative", "an integer ≥ 0")
        let cores = Self.availableCores
        check((0...cores).contains(threads), "threads",
              threads < 0 ? "\(threads) is negative" : "\(threads) is more than the \(cores) cores of this machine (oversubscribed threads run many times slower)",
              "0 (every core) or 1 to \(cores)")
        check((0...Self.maxIterations).contains(evalInterval), "eval_interval", "\(evalInterval) is out of range",
              "an integer ≥ 1, or 0 for every 2 epochs / a tenth of the iterations")
        let stride = evalStride
        let strideUnset = stride.height == 0 && stride.width == 0
        // At least a quarter of the crop: a stride of 1 means one forward pass per pixel (hours
        // per image with no progress to show). MMSegmentation uses two thirds.
        let minStride = PixelSize(height: max(1, crop.height / 4), width: max(1, crop.width / 4))
        check(strideUnset || ((minStride.height...max(minStride.height, crop.height)).contains(stride.height)
                              && (minStride.width...max(minStride.width, crop.width)).contains(stride.width)),
              "eval_stride", "\(stride) does not fit the crop \(crop)",
              "[0, 0] (two thirds of the crop), or a quarter of the crop (\(minStride)) to the crop size in each direction")
        errors += sizeLimitProblems()
        check(keepPredictions >= 0, "keep_predictions", "\(keepPredictions) is negative",
              "an integer ≥ 0 (the last N evaluations' predictions and the best one's are kept; 0 = keep every evaluation's)")
        check(preciseBNImages >= 0, "precise_bn_images", "\(preciseBNImages) is negative", "an integer ≥ 0 (0 = off)")
        check(earlyStoppingPatience >= 0, "early_stopping_patience", "\(earlyStoppingPatience) is negative", "an integer ≥ 0 (0 = off)")
        check(!runsDir.isEmpty, "runs_dir", "must not be empty", "a directory path")
        let withBackbone = ModelFacts.all.filter(\.hasBackbone).map(\.name)
        check(backboneWeights.isEmpty || withBackbone.contains(model), "backbone_weights",
              "is for a model with an ImageNet backbone, not \(model)",
              "empty, or a weights file (safetensors or .pth) with model = one of \(withBackbone.joined(separator: ", "))")
        check(backboneWeightsKey.isEmpty || !backboneWeights.isEmpty, "backbone_weights_key",
              "is set without backbone_weights", "empty, or the key of the state dict inside the backbone_weights checkpoint")
        errors += recipeProblems()
        errors += recipeNameProblems()
        return errors
    }

    /// Throws every problem at once.
    public func validated() throws -> TrainingConfig {
        let errors = problems()
        if !errors.isEmpty { throw ConfigErrors(errors) }
        return self
    }
}

/// Levenshtein distance, for "did you mean".
func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + [Int](repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}

// MARK: - JSON (commands, events): the same snake_case keys as config.toml

struct ConfigCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension TrainingConfig {
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: ConfigCodingKey.self)
        for codingKey in c.allKeys {
            guard let key = Self.key(named: codingKey.stringValue) else {
                throw DecodingError.dataCorruptedError(forKey: codingKey, in: c, debugDescription: Self.unknownKey(codingKey.stringValue).description)
            }
            let value: ConfigValue
            switch key.kind {
            case .string where key.isFlag:
                if let b = try? c.decode(Bool.self, forKey: codingKey) { value = .string(b ? "true" : "false") }
                else { value = .string(try c.decode(String.self, forKey: codingKey)) }
            case .string: value = .string(try c.decode(String.self, forKey: codingKey))
            case .integer: value = .integer(try c.decode(Int.self, forKey: codingKey))
            case .float: value = .float(try c.decode(Double.self, forKey: codingKey))
            case .size:
                let pair = try c.decode([Int].self, forKey: codingKey)
                guard pair.count == 2 else {
                    throw DecodingError.dataCorruptedError(forKey: codingKey, in: c, debugDescription: "config key '\(key.name)': expected [height, width]")
                }
                value = .size(PixelSize(height: pair[0], width: pair[1]))
            }
            do throws(ConfigError) { try key.set(&self, value) } catch {
                throw DecodingError.dataCorruptedError(forKey: codingKey, in: c, debugDescription: error.description)
            }
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: ConfigCodingKey.self)
        for key in Self.keys {
            let codingKey = ConfigCodingKey(stringValue: key.name)
            switch key.get(self) {
            case .string(let s) where key.isFlag: try c.encode(s == "true", forKey: codingKey)
            case .string(let s): try c.encode(s, forKey: codingKey)
            case .integer(let i): try c.encode(i, forKey: codingKey)
            case .float(let d): try c.encode(d, forKey: codingKey)
            case .size(let s): try c.encode([s.height, s.width], forKey: codingKey)
            }
        }
    }
}
