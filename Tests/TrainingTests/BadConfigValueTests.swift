import Foundation
import XCTest
@testable import Training

/// Issue #16: values that used to crash, hang or mislead are refused by the config rules, naming
/// the key, the value and what to use instead.
final class BadConfigValueTests: XCTestCase {
    private func problem(_ config: TrainingConfig, _ key: String, file: StaticString = #filePath, line: UInt = #line) -> ConfigError? {
        let found = config.problems().filter { $0.key == key }
        XCTAssertEqual(found.count, 1, "\(config.problems())", file: file, line: line)
        return found.first
    }

    func testCropTheModelsStrideDoesNotDivideIsRefusedWithASuggestion() throws {
        var config = TrainingConfig()
        config.model = "unet"    // stride 64; the default crop 160 used to crash in concat
        let error = try XCTUnwrap(problem(config, "crop"))
        XCTAssertTrue(error.description.contains("divisible by 64"), error.description)
        XCTAssertTrue(error.description.contains("try 192x192"), error.description)
        config.crop = PixelSize(square: 192)
        XCTAssertEqual(config.problems(), [])

        config.model = "fcn-resnet18"
        config.crop = PixelSize(height: 320, width: 470)
        XCTAssertTrue(try XCTUnwrap(problem(config, "crop")).description.contains("divisible by 32"))
        config.model = "xunet"
        config.crop = PixelSize(square: 72)
        XCTAssertTrue(try XCTUnwrap(problem(config, "crop")).description.contains("divisible by 16"))
    }

    func testHugeEpochAndIterationCountsAreRefusedNotOverflowed() throws {
        var config = TrainingConfig()
        config.epochs = Int.max
        XCTAssertTrue(try XCTUnwrap(problem(config, "epochs")).description.contains("too large"))
        config.epochs = 0
        config.iterations = Int.max
        XCTAssertTrue(try XCTUnwrap(problem(config, "iterations")).description.contains("too large"))
        XCTAssertThrowsError(try TrainingConfig().applying(overrides: [("epochs", "9223372036854775808")]))
    }

    func testThreadsBeyondTheMachinesCoresAreRefused() throws {
        var config = TrainingConfig()
        config.threads = TrainingConfig.availableCores + 1
        let error = try XCTUnwrap(problem(config, "threads"))
        XCTAssertTrue(error.description.contains("more than the \(TrainingConfig.availableCores) cores"), error.description)
        config.threads = TrainingConfig.availableCores
        XCTAssertEqual(config.problems(), [])
    }

    func testATinySlidingWindowStrideIsRefused() throws {
        var config = TrainingConfig()
        config.evalMode = .slide
        config.evalStride = PixelSize(square: 1)   // one forward pass per pixel: hung with no progress
        XCTAssertTrue(try XCTUnwrap(problem(config, "eval_stride")).description.contains("a quarter of the crop (40x40)"))
        config.evalStride = PixelSize(square: 40)
        XCTAssertEqual(config.problems(), [])
    }

    func testEvalIntervalDefaultFollowsTheRunsUnit() throws {
        var config = TrainingConfig()
        XCTAssertEqual(config.evalInterval, 0)
        XCTAssertEqual(config.effectiveEvalInterval, 2, "every 2 epochs")
        config.epochs = 0
        config.iterations = 200
        XCTAssertEqual(config.effectiveEvalInterval, 20, "200 iterations: 10 evaluations, not 100")
        config.iterations = 5
        XCTAssertEqual(config.effectiveEvalInterval, 1)
        config.evalInterval = 7
        XCTAssertEqual(config.effectiveEvalInterval, 7)
        config.evalInterval = -1
        XCTAssertNotNil(problem(config, "eval_interval"))
    }

    func testRelativePathsAreStoredAbsolute() {
        var config = TrainingConfig()
        config.data = "data/pets"
        config.backboneWeights = "../w/resnet18.safetensors"
        config.resume = "/abs/x.safetensors"
        let resolved = config.resolvingPaths(relativeTo: "/home/me/work")
        XCTAssertEqual(resolved.data, "/home/me/work/data/pets")
        XCTAssertEqual(resolved.backboneWeights, "/home/me/w/resnet18.safetensors")
        XCTAssertEqual(resolved.resume, "/abs/x.safetensors")
        XCTAssertEqual(TrainingConfig().resolvingPaths().data, "", "empty keeps meaning the demo set")
    }
}

/// Crashes `segscope fuzz` found (issue #16), each replayed here.
final class FuzzFindingTests: XCTestCase {
    /// config-set case 1858 (seed 1): `crop=160x9223372036854775807` overflowed the stride rule's
    /// suggestion (a trap).
    func testAHugeCropIsRefusedNotOverflowed() throws {
        XCTAssertThrowsError(try TrainingConfig().applying(overrides: [("crop", "160x9223372036854775807")]).validated()) { error in
            XCTAssertTrue("\(error)".contains("config key 'crop'"), "\(error)")
        }
        var config = TrainingConfig()
        config.crop = PixelSize(height: -9223372036854775807, width: Int.max)
        XCTAssertFalse(config.problems().isEmpty)
    }

    /// config-toml case 416 (seed 1): toml++ aborted the process on `crop = [192,} 192]`
    /// (an assertion in its parse_value); the Swift parser names the line instead.
    func testMalformedTOMLIsASyntaxErrorNotAnAbort() {
        for text in ["model = \"slide\"\ncrop = [192,} 192]\n", "crop = [,]", "crop = [192,,192]", "lr = {", "a = [[[[", "x = \"\\u12\"",
                     "crop = [192, 192", "lr = 0.01 0.02", "\"unterminated = 1", "[table\nlr = 1", "lr = 1_", "batch = 99999999999999999999"] {
            do {
                _ = try TrainingConfig(toml: text, source: "fuzz.toml")
                XCTFail("accepted: \(text)")
            } catch let errors as ConfigErrors {
                XCTAssertFalse(errors.errors.isEmpty, text)
            } catch {
                XCTFail("\(text): \(error)")
            }
        }
        XCTAssertEqual((try? TrainingConfig(toml: "model = \"slide\"\ncrop = [192,} 192]\n")).map { _ in 0 }, nil)
    }

    /// The Swift parser reads what TOML allows and `tomlText` writes.
    func testTheConfigSubsetOfTOMLParses() throws {
        let config = try TrainingConfig(toml: """
            # comment
            "lr" = 1e-3   # trailing comment
            crop = [
              192,  # height
              256,  # width
            ]
            batch = 0x8
            seed = 1_000
            model = 'unet'
            [ignored]
            anything = { a = 1 }
            """.replacingOccurrences(of: "[ignored]\nanything = { a = 1 }", with: ""))
        XCTAssertEqual(config.lr, 0.001)
        XCTAssertEqual(config.crop, PixelSize(height: 192, width: 256))
        XCTAssertEqual(config.batch, 8)
        XCTAssertEqual(config.seed, 1000)
        XCTAssertEqual(config.model, "unet")
        var odd = TrainingConfig()
        odd.lr = 1e-5
        odd.data = "/data/with \"quotes\" and \\ back\\slash ü"
        XCTAssertEqual(try TrainingConfig(toml: odd.tomlText()), odd)
        // A table is not a config key.
        XCTAssertThrowsError(try TrainingConfig(toml: "[section]\nlr = 1\n")) { error in
            XCTAssertTrue("\(error)".contains("section"), "\(error)")
        }
    }
}
