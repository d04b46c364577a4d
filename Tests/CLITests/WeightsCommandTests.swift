import Foundation
import TestSupport
import XCTest

/// `segscope weights inspect | convert` on the checkpoints written by torch.save
/// (Tests/ModelsTests/Golden/torch, made by scripts/golden/torch_checkpoints.py).
final class WeightsCommandTests: XCTestCase {
    private var work: URL!
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ModelsTests/Golden")
    static let torchFixtures = golden.appendingPathComponent("torch")

    override func setUpWithError() throws { work = try makeTemporaryDirectory("weights") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func fixture(_ name: String) -> String { Self.torchFixtures.appendingPathComponent(name).path }
    /// Full state dicts saved by torch.save with stride-0 tensors (scripts/golden/torchvision_golden.py).
    func layout(_ name: String) -> String { Self.golden.appendingPathComponent("tv/\(name)-layout.pth").path }

    func json(_ result: CLI.Result) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
    }

    /// The xunet state dict saved by torch.save: its kind, one line per module group, and one
    /// summary line per registered model — xunet fits, the others say what is wrong.
    func testInspectTellsWhichModelAFileFits() throws {
        let result = try CLI.run(["weights", "inspect", layout("xunet")])
        XCTAssertEqual(result.status, 0, result.stderr)
        let out = result.stdout
        XCTAssertTrue(out.contains("PyTorch checkpoint (zip format)"), out)
        XCTAssertTrue(out.contains("xunet:") && out.contains("fits ("), out)
        XCTAssertTrue(out.contains("Loads with: --model xunet --weights"), out)
        let unetLine = try XCTUnwrap(out.split(separator: "\n").first { $0.hasPrefix("unet:") }, out)
        XCTAssertTrue(unetLine.contains("missing") && unetLine.contains("unexpected"), String(unetLine))
        // Hundreds of tensors, a few dozen lines: one per module group and model.
        XCTAssertLessThan(out.split(separator: "\n").count, 60, out)

        let report = try json(try CLI.run(["weights", "inspect", layout("xunet"), "--json"]))
        let fits = try XCTUnwrap(report["fits"] as? [[String: Any]])
        let xunet = try XCTUnwrap(fits.first { $0["model"] as? String == "xunet" })
        XCTAssertEqual(xunet["fits"] as? Bool, true)
        XCTAssertEqual((xunet["missing"] as? [String])?.count, 0)
        XCTAssertEqual(fits.filter { $0["fits"] as? Bool == true }.count, 1, "\(fits)")
        XCTAssertEqual((report["tensors"] as? [Any])?.count, report["dtypes"].flatMap { ($0 as? [String: Int])?.values.reduce(0, +) })
    }

    /// torchvision's fcn_resnet50 state dict fits fcn-resnet50 (and nothing else); an ImageNet
    /// resnet50 file fits the backbones of the ResNet-50 models, fc.* ignored; both load.
    func testTorchvisionFilesFitTheirModelsAndLoad() throws {
        let fcn = try CLI.run(["weights", "inspect", layout("fcn_resnet50")])
        XCTAssertEqual(fcn.status, 0, fcn.stderr)
        let fcnLine = try XCTUnwrap(fcn.stdout.split(separator: "\n").first { $0.hasPrefix("fcn-resnet50:") }, fcn.stdout)
        XCTAssertTrue(fcnLine.contains("fits (334 tensors) (21 classes)"), String(fcnLine))
        XCTAssertTrue(fcn.stdout.contains("Loads with: --model fcn-resnet50 --weights"), fcn.stdout)
        XCTAssertTrue(fcn.stdout.contains("55 I64") && fcn.stdout.contains("279 F32"), fcn.stdout)

        let resnet = try json(try CLI.run(["weights", "inspect", layout("resnet50"), "--json"]))
        let fitting = (resnet["fits"] as? [[String: Any]] ?? []).filter { $0["fits"] as? Bool == true }
            .map { "\($0["model"] ?? "") \($0["as"] ?? "")" }
        XCTAssertEqual(fitting, ["fcn-resnet50 backbone", "deeplabv3-resnet50 backbone"])

        let summary = try CLI.run(["model", "summary", "fcn-resnet50", "--input", "32", "--weights", layout("fcn_resnet50")])
        XCTAssertEqual(summary.status, 0, summary.stderr)
        XCTAssertTrue(summary.stdout.contains("all 334 tensors matched"), summary.stdout)
        let out = work.appendingPathComponent("deeplab.safetensors")
        let initResult = try CLI.run(["model", "init", "deeplabv3-resnet50", "--classes", "2", "--out", out.path,
                                      "--backbone-weights", layout("resnet50")])
        XCTAssertEqual(initResult.status, 0, initResult.stderr)
        let wrong = try CLI.run(["model", "init", "deeplabv3-resnet101", "--out", out.path, "--backbone-weights", layout("resnet50")])
        XCTAssertNotEqual(wrong.status, 0)
        XCTAssertTrue(wrong.stderr.contains("resnet50-layout.pth") && wrong.stderr.contains("missing tensor 'layer3.6.conv1.weight'"),
                      wrong.stderr)
    }

    /// A wrapped checkpoint: where the state dict was found, the prefix removed, the rest; `--key`.
    func testInspectShowsTheChosenStateDictAndHonoursKey() throws {
        let result = try CLI.run(["weights", "inspect", fixture("wrapped.pth"), "--tensors"])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("state dict at 'model'") && result.stdout.contains("prefix 'module.' removed"), result.stdout)
        XCTAssertTrue(result.stdout.contains("other entries:") && result.stdout.contains("optimizer"), result.stdout)
        XCTAssertTrue(result.stdout.contains("Fits no registered model."), result.stdout)
        let missing = try CLI.run(["weights", "inspect", fixture("wrapped.pth"), "--key", "nothing"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("wrapped.pth") && missing.stderr.contains("nothing"), missing.stderr)
    }

    /// convert keeps names, dtypes (F16, BF16, I64) and values; the result inspects as safetensors
    /// and loads where the original did.
    func testConvertKeepsEveryTensor() throws {
        let out = work.appendingPathComponent("zip.safetensors")
        let result = try CLI.run(["weights", "convert", fixture("zip.pth"), out.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stdout.contains("wrote \(out.path)"), result.stdout)
        let before = try json(try CLI.run(["weights", "inspect", fixture("zip.pth"), "--json"]))
        let after = try json(try CLI.run(["weights", "inspect", out.path, "--json"]))
        XCTAssertEqual(after["kind"] as? String, "safetensors")
        XCTAssertEqual(after["dtypes"] as? [String: Int], before["dtypes"] as? [String: Int])
        XCTAssertEqual((after["dtypes"] as? [String: Int])?["F16"], 1)
        XCTAssertEqual(NSArray(array: after["tensors"] as? [Any] ?? []), NSArray(array: before["tensors"] as? [Any] ?? []))
        XCTAssertEqual(after["values"] as? Int, before["values"] as? Int)
        // No temporary file left beside it.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work.path), ["zip.safetensors"])

        let xunet = work.appendingPathComponent("xunet.safetensors")
        XCTAssertEqual(try CLI.run(["weights", "convert", layout("xunet"), xunet.path]).status, 0)
        let summary = try CLI.run(["model", "summary", "xunet", "--input", "32", "--weights", xunet.path])
        XCTAssertEqual(summary.status, 0, summary.stderr)
        XCTAssertTrue(summary.stdout.contains("tensors matched"), summary.stdout)
        let key = try CLI.run(["model", "summary", "xunet", "--input", "32", "--weights", layout("xunet"), "--key", "model"])
        XCTAssertNotEqual(key.status, 0)
        XCTAssertTrue(key.stderr.contains("model"), key.stderr)
    }

    /// Bad input: the malicious pickle, a file that is no weights file, a missing file — each
    /// a message naming the file, and no output written.
    func testBadFilesAreRefusedByName() throws {
        let out = work.appendingPathComponent("out.safetensors")
        let malicious = try CLI.run(["weights", "convert", fixture("malicious.pth"), out.path])
        XCTAssertNotEqual(malicious.status, 0)
        XCTAssertTrue(malicious.stderr.contains("malicious.pth") && malicious.stderr.contains("system"), malicious.stderr)
        let text = work.appendingPathComponent("notes.pth")
        try Data("just some text, not weights\n".utf8).write(to: text)
        let notWeights = try CLI.run(["weights", "inspect", text.path])
        XCTAssertNotEqual(notWeights.status, 0)
        XCTAssertTrue(notWeights.stderr.contains("notes.pth") && notWeights.stderr.contains("neither"), notWeights.stderr)
        let absent = try CLI.run(["weights", "inspect", work.appendingPathComponent("absent.pth").path])
        XCTAssertNotEqual(absent.status, 0)
        XCTAssertTrue(absent.stderr.contains("absent.pth"), absent.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }
}
