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
