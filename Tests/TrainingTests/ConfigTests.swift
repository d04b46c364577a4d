import Foundation
import NN
import TOMLKit
import XCTest
@testable import Training

final class ConfigTests: XCTestCase {
    func testDefaultsTargetTheDefaultModelOnTheDemoSetAndAreValid() throws {
        let config = TrainingConfig()
        XCTAssertEqual(config.model, "xunet")
        XCTAssertEqual(config.data, "")
        XCTAssertEqual(config.crop, PixelSize(square: 160))
        XCTAssertEqual(config.problems(), [])
        XCTAssertEqual(config.effectiveStride, PixelSize(square: 107))
    }

    func testTOMLRoundTripKeepsEveryKeyAndParsesWithTOMLKit() throws {
        var config = TrainingConfig()
        config.model = "fcn-resnet18"
        config.data = "/data/VOC \"2012\"\\x"
        config.format = .voc
        config.crop = PixelSize(height: 320, width: 480)
        config.epochs = 0
        config.iterations = 2000
        config.optimizer = .sgd
        config.lr = 1e-5
        config.schedule = .step
        config.stepSize = 500
        config.weightDecay = 5e-4
        config.evalStride = PixelSize(height: 200, width: 300)
        config.checkpoint = .last
        config.earlyStoppingPatience = 3
        config.backend = .fast
        let text = config.tomlText(header: "segscope train\nrun 1")
        XCTAssertTrue(text.hasPrefix("# segscope train\n# run 1\n\n# network to train"), text)
        XCTAssertTrue(text.contains("\ncrop = [320, 480]\n"), text)
        XCTAssertTrue(text.contains("\n# update rule (sgd | adam | adamw | rmsprop)\noptimizer = \"sgd\"\n"), text)
        XCTAssertEqual(try TrainingConfig(toml: text), config)

        // Every key is written, and TOMLKit sees them all.
        let table = try TOMLTable(string: text)
        XCTAssertEqual(Set(table.keys), Set(TrainingConfig.keys.map(\.name)))

        let url = FileManager.default.temporaryDirectory.appendingPathComponent("config-\(UUID().uuidString).toml")
        defer { try? FileManager.default.removeItem(at: url) }
        try config.save(to: url)
        XCTAssertEqual(try TrainingConfig(contentsOf: url), config)
    }

    func testMissingKeysKeepDefaultsAndIntegersAreAcceptedForNumbers() throws {
        let config = try TrainingConfig(toml: "lr = 1\nbatch = 4\ncrop = 96\n")
        XCTAssertEqual(config.lr, 1.0)
        XCTAssertEqual(config.batch, 4)
        XCTAssertEqual(config.crop, PixelSize(square: 96))
        XCTAssertEqual(config.optimizer, .adam)
    }

    func errors(_ toml: String, file: StaticString = #filePath, line: UInt = #line) -> [ConfigError] {
        do {
            _ = try TrainingConfig(toml: toml, source: "my.toml")
            XCTFail("expected errors", file: file, line: line)
            return []
        } catch let error as ConfigErrors {
            return error.errors
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
            return []
        }
    }

    func testBadValuesNameTheKeyAndTheAllowedValues() {
        let found = errors("""
            optimizer = "adamx"
            lr = -1.0
            batch = "eight"
            learning_rate = 0.1
            eval_mode = "tiles"
            crop = [1, 2, 3]
            """)
        let byKey = Dictionary(found.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        XCTAssertEqual(Set(byKey.keys), ["optimizer", "lr", "batch", "learning_rate", "eval_mode", "crop"])
        XCTAssertEqual(byKey["optimizer"]?.allowed, "sgd, adam, adamw, rmsprop")
        XCTAssertEqual(byKey["optimizer"]?.description,
                       "config key 'optimizer' in my.toml: \"adamx\" is not one of the choices; allowed: sgd, adam, adamw, rmsprop")
        XCTAssertEqual(byKey["lr"]?.allowed, "a number > 0 and ≤ 10")
        XCTAssertTrue(byKey["batch"]?.message.contains("expected integer") ?? false)
        XCTAssertTrue(byKey["learning_rate"]?.message.contains("did you mean 'lr'") ?? false, "\(byKey["learning_rate"]!)")
        XCTAssertEqual(byKey["eval_mode"]?.allowed, "whole, slide")
        XCTAssertEqual(byKey["crop"]?.source, "my.toml")
    }

    func testEpochsAndIterationsAreExclusive() {
        XCTAssertEqual(errors("iterations = 100").map(\.key), ["iterations"])
        XCTAssertEqual(errors("epochs = 0").map(\.key), ["epochs"])
        XCTAssertEqual(errors("schedule = \"step\"").map(\.key), ["step_size"])
        XCTAssertEqual(errors("model = \"resnet\"").first?.allowed, "xunet, unet, fcn-resnet18, fcn-resnet50, fcn-resnet101, deeplabv3-resnet50, deeplabv3-resnet101, lraspp-mobilenet-v3-large")
    }

    func testSyntaxErrorsSayWhere() {
        let found = errors("lr = = 3")
        XCTAssertEqual(found.first?.key, "(syntax)")
        XCTAssertTrue(found.first?.description.contains("line 1") ?? false, "\(found)")
    }

    func testCommandLineOverrides() throws {
        let config = try TrainingConfig().applying(overrides: [("crop", "256x320"), ("optimizer", "sgd"), ("lr", "0.02"),
                                                               ("iterations", "300"), ("epochs", "0")])
        XCTAssertEqual(config.crop, PixelSize(height: 256, width: 320))
        XCTAssertEqual(config.optimizer, .sgd)
        XCTAssertEqual(config.lr, 0.02)
        XCTAssertEqual(config.problems(), [])

        XCTAssertThrowsError(try TrainingConfig().applying(overrides: [("batch", "x"), ("nope", "1"), ("crop", "1x2x3")])) { error in
            let keys = (error as? ConfigErrors)?.errors.map(\.key)
            XCTAssertEqual(keys, ["batch", "nope", "crop"])
        }
    }

    func testValidationReportsAllProblems() {
        var config = TrainingConfig()
        config.batch = 0
        config.momentum = 1.5
        config.threads = -1
        config.evalStride = PixelSize(height: 500, width: 10)
        XCTAssertEqual(config.problems().map(\.key), ["batch", "momentum", "threads", "eval_stride"])
        XCTAssertThrowsError(try config.validated())
    }

    func testKeepPredictionsDefaultsToFiveAndRejectsNegativeValues() throws {
        XCTAssertEqual(TrainingConfig().keepPredictions, 5)
        XCTAssertEqual(try TrainingConfig(toml: "keep_predictions = 0\n").keepPredictions, 0, "0 keeps every evaluation")
        let found = errors("keep_predictions = -2")
        XCTAssertEqual(found.map(\.key), ["keep_predictions"])
        XCTAssertTrue(found.first?.description.contains("config key 'keep_predictions'") ?? false, "\(found)")
        XCTAssertTrue(found.first?.description.contains("-2 is negative") ?? false, "\(found)")
        XCTAssertTrue(found.first?.allowed.contains("0 = keep every evaluation") ?? false, "\(found)")
        XCTAssertEqual(errors("keep_predictions = \"all\"").map(\.key), ["keep_predictions"])
        XCTAssertThrowsError(try TrainingConfig().applying(overrides: [("keep_predictions", "five")])) { error in
            XCTAssertEqual((error as? ConfigErrors)?.errors.map(\.key), ["keep_predictions"])
            XCTAssertTrue("\(error)".contains("'five' is not an integer"), "\(error)")
        }
    }

    /// One table of backend spellings serves `--backend`, the config key and NN's selection.
    func testBackendSpellingsHaveOneOwner() throws {
        for (text, kind) in [("dnnl", BackendKind.dnnl), ("oneDNN", .dnnl), ("fast", .dnnl), ("Reference", .reference), ("ref", .reference)] {
            XCTAssertEqual(BackendKind(rawValue: text), kind, text)
            XCTAssertEqual(try BackendKind(option: text), kind, text)
            XCTAssertEqual(Backends.canonicalName(text), kind.rawValue, text)
        }
        XCTAssertNil(BackendKind(rawValue: "cuda"))
        XCTAssertThrowsError(try Backends.named("cuda"))
    }

    /// The learning-rate rule the config, the engine and the cockpit share.
    func testLearningRateLimit() {
        XCTAssertTrue(LearningRateLimit.allows(3e-4) && LearningRateLimit.allows(10))
        for bad in [0, -1, 10.5, .nan, .infinity] { XCTAssertFalse(LearningRateLimit.allows(bad), "\(bad)") }
        var config = TrainingConfig()
        config.lr = 11
        XCTAssertTrue(config.problems().contains { $0.key == "lr" && $0.allowed == LearningRateLimit.allowed })
    }

}
