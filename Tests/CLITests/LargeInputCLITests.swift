import Foundation
import TestSupport
import XCTest

/// Issue #16 end to end, with a lowered `max_whole_image_pixels` standing in for an 8000×8000
/// image: `predict` runs an image above the limit in tiles, `data check` says which images will
/// be tiled, and an image above the decode limit is refused naming the file, size and limit.
final class LargeInputCLITests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws { work = try makeTemporaryDirectory("largeinput") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    private func demo() throws -> URL {
        let demo = work.appendingPathComponent("demo")
        let made = try CLI.run(["data", "demo", "--out", demo.path, "--train", "2", "--val", "1"])
        XCTAssertEqual(made.status, 0, made.stderr)
        return demo
    }

    func testPredictTilesAnImageAboveTheLimitAndKeepsItsSize() throws {
        let data = try demo()
        let runs = work.appendingPathComponent("runs")
        let trained = try CLI.run(["train", "--data", data.path, "--iterations", "1", "--batch", "1", "--crop", "32", "--threads", "1",
                                   "--runs-dir", runs.path, "--set", "checkpoint=last", "--set", "precise_bn_images=0",
                                   "--set", "max_whole_image_pixels=4096"])
        XCTAssertEqual(trained.status, 0, trained.stderr)
        let run = try XCTUnwrap(try FileManager.default.contentsOfDirectory(at: runs, includingPropertiesForKeys: nil).first)
        let config = try String(contentsOf: run.appendingPathComponent("config.toml"), encoding: .utf8)
        XCTAssertTrue(config.contains("max_whole_image_pixels = 4096"), config)

        var pixels = [UInt8](repeating: 0, count: 300 * 200 * 3)
        for i in pixels.indices { pixels[i] = UInt8(truncatingIfNeeded: i &* 31) }
        let image = work.appendingPathComponent("wide.png")
        try PNGWriter.rgb(width: 300, height: 200, pixels: pixels).write(to: image)
        let out = work.appendingPathComponent("out")
        let predicted = try CLI.run(["predict", "--checkpoint", run.appendingPathComponent("checkpoints/last.safetensors").path,
                                     image.path, "--out", out.path])
        XCTAssertEqual(predicted.status, 0, predicted.stderr)
        XCTAssertTrue(predicted.stdout.contains("300x200"), predicted.stdout)
        let mask = try Data(contentsOf: out.appendingPathComponent("wide.png"))
        XCTAssertEqual(Array(mask[16..<24]), [0, 0, 1, 44, 0, 0, 0, 200], "IHDR width 300, height 200")

        // A budget-sized refusal names the file: a limit below one window is out of range.
        let refused = try CLI.run(["predict", "--checkpoint", run.appendingPathComponent("checkpoints/last.safetensors").path,
                                   image.path, "--out", out.path, "--max-whole-image-pixels", "10"])
        XCTAssertEqual(refused.status, 64, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("--max-whole-image-pixels: 10 is out of range"), refused.stderr)
    }

    func testDataCheckNamesTiledImagesAndRefusesOversizedOnes() throws {
        let data = try demo()
        let tiled = try CLI.run(["data", "check", data.path, "--max-whole-image-pixels", "4096"])
        XCTAssertEqual(tiled.status, 0, tiled.stdout + tiled.stderr)
        XCTAssertTrue(tiled.stdout.contains("3 image(s) above max_whole_image_pixels (4096) are predicted in overlapping 64x64 tiles"),
                      tiled.stdout)

        let images = data.appendingPathComponent("JPEGImages")
        let first = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: images.path).sorted().first)
        let target = images.appendingPathComponent(first)
        try PNGWriter.rgbHeaderOnly(width: 20000, height: 20000).write(to: target)
        let refused = try CLI.run(["data", "check", data.path])
        XCTAssertEqual(refused.status, 1, refused.stdout + refused.stderr)
        for text in [first, "20000x20000", "above the limit of 268435456 pixels"] {
            XCTAssertTrue(refused.stdout.contains(text), "no '\(text)' in:\n\(refused.stdout)")
        }
    }
}
