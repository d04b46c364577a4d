import Foundation
import TestSupport
import XCTest

/// `segscope train --backbone-weights FILE` (config key `backbone_weights`): fcn-resnet18 starts
/// from torchvision ResNet-18 weights; anything else is a clear error.
final class TrainBackboneTests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws {
        work = try makeTemporaryDirectory("backbone")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func testBackboneWeightsAreLoadedIntoFCNAndRejectedElsewhere() throws {
        // torchvision-named weights, made from `model init` output (names mapped back).
        let fcn = work.appendingPathComponent("fcn.safetensors")
        let initResult = try CLI.run(["model", "init", "fcn-resnet18", "--classes", "6", "--out", fcn.path])
        XCTAssertEqual(initResult.status, 0, initResult.stderr)
        let torchvision = work.appendingPathComponent("resnet18.safetensors")
        try TorchvisionWeights.resnet18(fromFCN: fcn, to: torchvision)
        let demo = work.appendingPathComponent("demo")
        XCTAssertEqual(try CLI.run(["data", "demo", "--out", demo.path, "--train", "4", "--val", "2"]).status, 0)
        let runs = work.appendingPathComponent("runs")
        func train(_ model: String, _ weights: String) throws -> CLI.Result {
            try CLI.run(["train", "--data", demo.path, "--model", model, "--backbone-weights", weights, "--iterations", "1",
                         "--batch", "2", "--crop", "64", "--threads", "2", "--runs-dir", runs.path,
                         "--set", "lr=1e-9", "--set", "eval_mode=whole", "--set", "checkpoint=last"])
        }

        let ok = try train("fcn-resnet18", torchvision.path)
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let run = try XCTUnwrap(try FileManager.default.contentsOfDirectory(at: runs, includingPropertiesForKeys: nil).first)
        // One step at lr 1e-9 leaves the loaded stem convolution as the file had it.
        let conv1 = try TorchvisionWeights.floats("0.weight", in: run.appendingPathComponent("checkpoints/last.safetensors"))
        XCTAssertEqual(conv1.count, 64 * 3 * 7 * 7)
        let worst = conv1.indices.map { abs(conv1[$0] - TorchvisionWeights.marker($0)) }.max() ?? .infinity
        XCTAssertLessThan(worst, 1e-5, "conv1.weight was not loaded into 0.weight")
        let config = try String(contentsOf: run.appendingPathComponent("config.toml"), encoding: .utf8)
        XCTAssertTrue(config.contains("backbone_weights = \"\(torchvision.path)\""), config)

        let wrongModel = try train("xunet", torchvision.path)
        XCTAssertNotEqual(wrongModel.status, 0)
        XCTAssertTrue(wrongModel.stderr.contains("backbone_weights") && wrongModel.stderr.contains("fcn-resnet18"), wrongModel.stderr)

        // Our own fcn-resnet18 file is not torchvision's: the error names the file and the missing names.
        let wrongNames = try train("fcn-resnet18", fcn.path)
        XCTAssertNotEqual(wrongNames.status, 0)
        XCTAssertTrue(wrongNames.stderr.contains(fcn.path) && wrongNames.stderr.contains("conv1.weight"), wrongNames.stderr)

        let missing = try train("fcn-resnet18", work.appendingPathComponent("nope.safetensors").path)
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("nope.safetensors"), missing.stderr)
    }

    /// `--backbone-weights-key` (config key `backbone_weights_key`) picks the state dict inside
    /// the backbone file; a key the file lacks is named in the error, and the key alone is
    /// refused as a config problem.
    func testBackboneWeightsKey() throws {
        let resnet = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ModelsTests/Golden/tv/resnet50-layout.pth").path
        let demo = work.appendingPathComponent("demo")
        XCTAssertEqual(try CLI.run(["data", "demo", "--out", demo.path, "--train", "2", "--val", "1"]).status, 0)
        let common = ["train", "--data", demo.path, "--model", "fcn-resnet50", "--iterations", "1", "--batch", "2",
                      "--crop", "64", "--threads", "2", "--runs-dir", work.appendingPathComponent("runs").path]
        let badKey = try CLI.run(common + ["--backbone-weights", resnet, "--backbone-weights-key", "ema"])
        XCTAssertNotEqual(badKey.status, 0)
        XCTAssertTrue(badKey.stderr.contains("backbone_weights") && badKey.stderr.contains("ema")
                      && badKey.stderr.contains("resnet50-layout.pth"), badKey.stderr)
        let keyAlone = try CLI.run(common + ["--backbone-weights-key", "model"])
        XCTAssertNotEqual(keyAlone.status, 0)
        XCTAssertTrue(keyAlone.stderr.contains("backbone_weights_key") && keyAlone.stderr.contains("without backbone_weights"),
                      keyAlone.stderr)
    }
}
