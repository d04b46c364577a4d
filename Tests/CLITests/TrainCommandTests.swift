import Foundation
import TestSupport
import XCTest

/// `segscope train | eval | predict` end to end on a tiny demo set (the real engine, model and
/// loader; a few iterations of xunet on 64×64 crops).
final class TrainCommandTests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws {
        work = try makeTemporaryDirectory("train")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    private func makeDemo() throws -> URL {
        let demo = work.appendingPathComponent("demo")
        let result = try CLI.run(["data", "demo", "--out", demo.path, "--train", "8", "--val", "4"])
        XCTAssertEqual(result.status, 0, result.stderr)
        return demo
    }

    private func train(_ demo: URL, extra: [String] = []) throws -> (CLI.Result, URL) {
        let runs = work.appendingPathComponent("runs")
        let result = try CLI.run([
            "train", "--data", demo.path, "--model", "xunet", "--iterations", "6", "--batch", "2",
            "--crop", "64", "--threads", "2", "--runs-dir", runs.path, "--set", "eval_interval=3",
            "--set", "eval_mode=whole", "--events", "jsonl",
        ] + extra)
        let run = try XCTUnwrap(try FileManager.default.contentsOfDirectory(at: runs, includingPropertiesForKeys: nil).first,
                                "no run directory in \(runs.path); stderr:\n\(result.stderr)")
        return (result, run)
    }

    private func events(_ stdout: String) throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "not JSON: \($0)")
        }
    }

    func testTrainWritesARunAndEvalReproducesItsFigures() throws {
        let demo = try makeDemo()
        let (result, run) = try train(demo)
        XCTAssertEqual(result.status, 0, result.stderr)
        let stream = try events(result.stdout)
        let types = stream.compactMap { $0["type"] as? String }
        XCTAssertEqual(types.first, "state")
        XCTAssertTrue(types.contains("runStarted"), "\(types)")
        XCTAssertEqual(types.filter { $0 == "evaluation" }.count, 2, "\(types)")
        XCTAssertEqual(types.last(where: { $0 != "state" }), "finished", "\(types)")
        for file in ["config.toml", "metrics.jsonl", "checkpoints/last.safetensors", "checkpoints/best.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: run.appendingPathComponent(file).path), "missing \(file)")
        }
        let tfevents = try FileManager.default.contentsOfDirectory(atPath: run.path).filter { $0.hasPrefix("events.out.tfevents.") }
        XCTAssertEqual(tfevents.count, 1)

        // The best checkpoint's logged mIoU is what `eval` computes from it.
        let saved = stream.filter { ($0["type"] as? String) == "checkpointSaved" && ($0["is_best"] as? Bool ?? $0["isBest"] as? Bool ?? false) }
        let logged = try XCTUnwrap(saved.last?["mIoU"] as? Double ?? saved.last?["miou"] as? Double,
                                   "no best checkpoint with mIoU in \(saved)")
        let eval = try CLI.run(["eval", "--checkpoint", run.appendingPathComponent("checkpoints/best.safetensors").path,
                                "--data", demo.path, "--json"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        let report = try XCTUnwrap(try events(eval.stdout).first)
        let metrics = try XCTUnwrap(report["metrics"] as? [String: Any])
        let mIoU = try XCTUnwrap(metrics["mIoU"] as? Double)
        XCTAssertEqual(mIoU, logged, accuracy: 1e-9)
        // The validation loss is logged with each evaluation, and `eval` reproduces it too.
        let evaluations = stream.filter { ($0["type"] as? String) == "evaluation" }
        let losses = evaluations.compactMap { $0["loss"] as? Double }
        XCTAssertEqual(losses.count, evaluations.count, "every evaluation has a loss: \(evaluations.map { $0["loss"] ?? "none" })")
        XCTAssertTrue(losses.allSatisfy { $0.isFinite && $0 > 0 }, "\(losses)")
        let evalLoss = try XCTUnwrap(report["loss"] as? Double, "eval --json reports the loss")
        XCTAssertTrue(evalLoss.isFinite && evalLoss > 0, "\(evalLoss)")
    }

    func testPredictWritesPalettedMasksOfTheInputSizes() throws {
        let demo = try makeDemo()
        let (result, run) = try train(demo, extra: ["--iterations", "2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let out = work.appendingPathComponent("pred")
        let ids = ["2007_000032", "2007_000033", "2007_000039", "2007_000042"]
        let images = ids.map { Fixtures.voc.appendingPathComponent("JPEGImages/\($0).jpg").path }
        let predict = try CLI.run(["predict", "--checkpoint", run.appendingPathComponent("checkpoints/last.safetensors").path,
                                   "--out", out.path] + images)
        XCTAssertEqual(predict.status, 0, predict.stderr)
        let sizes = ["2007_000032": (500, 281), "2007_000033": (500, 366), "2007_000039": (500, 375), "2007_000042": (500, 335)]
        for id in ids {
            let data = try Data(contentsOf: out.appendingPathComponent("\(id).png"))
            // IHDR: width and height (big-endian) at bytes 16–23, colour type at byte 25 (3 = paletted).
            let bytes = [UInt8](data)
            let width = Int(bytes[16]) << 24 | Int(bytes[17]) << 16 | Int(bytes[18]) << 8 | Int(bytes[19])
            let height = Int(bytes[20]) << 24 | Int(bytes[21]) << 16 | Int(bytes[22]) << 8 | Int(bytes[23])
            XCTAssertEqual(width, sizes[id]!.0, id)
            XCTAssertEqual(height, sizes[id]!.1, id)
            XCTAssertEqual(bytes[25], 3, "\(id).png is not paletted")
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("\(id)_overlay.png").path))
            XCTAssertTrue(predict.stdout.contains(id), predict.stdout)
        }
    }

    /// The PLTE entries of a paletted PNG, as (r, g, b) triples.
    private func pngPalette(_ url: URL) throws -> [[UInt8]] {
        let bytes = [UInt8](try Data(contentsOf: url))
        var at = 8
        while at + 8 <= bytes.count {
            let length = Int(bytes[at]) << 24 | Int(bytes[at + 1]) << 16 | Int(bytes[at + 2]) << 8 | Int(bytes[at + 3])
            if String(decoding: bytes[(at + 4)..<(at + 8)], as: UTF8.self) == "PLTE" {
                return stride(from: at + 8, to: at + 8 + length, by: 3).map { Array(bytes[$0..<($0 + 3)]) }
            }
            at += 12 + length
        }
        XCTFail("\(url.lastPathComponent) has no PLTE chunk")
        return []
    }

    /// classes.txt colours reach every mask a run writes: its sample predictions and `predict`'s
    /// output (through the checkpoint), D-250.
    func testMasksOfARunAndOfPredictTakeTheClassesTxtColours() throws {
        let demo = try makeDemo()
        let names = ["background", "disc", "box", "triangle", "star", "ring"]
        let colors: [[UInt8]] = [[0, 0, 0], [10, 20, 30], [40, 50, 60], [70, 80, 90], [100, 110, 120], [130, 140, 150]]
        let text = zip(names, colors).map { "\($0) \($1[0]) \($1[1]) \($1[2])" }.joined(separator: "\n") + "\n"
        try text.write(to: demo.appendingPathComponent("classes.txt"), atomically: true, encoding: .utf8)
        let (result, run) = try train(demo, extra: ["--iterations", "2", "--set", "eval_interval=2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let config = try String(contentsOf: run.appendingPathComponent("config.toml"), encoding: .utf8)
        XCTAssertTrue(config.contains("palette = \"auto\""), config)
        let saved = run.appendingPathComponent("predictions/000002")
        let mask = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: saved.path)
            .first { $0.hasSuffix(".png") && !$0.hasSuffix("_overlay.png") }, "no mask in \(saved.path)")
        XCTAssertEqual(Array(try pngPalette(saved.appendingPathComponent(mask)).prefix(6)), colors)

        let out = work.appendingPathComponent("pred")
        let image = Fixtures.voc.appendingPathComponent("JPEGImages/2007_000032.jpg").path
        let predict = try CLI.run(["predict", "--checkpoint", run.appendingPathComponent("checkpoints/last.safetensors").path,
                                   "--out", out.path, image])
        XCTAssertEqual(predict.status, 0, predict.stderr)
        XCTAssertEqual(Array(try pngPalette(out.appendingPathComponent("2007_000032.png")).prefix(6)), colors)
    }

    /// `--recipe NAME` goes under the flags and --set, and config.toml holds it expanded (D-251);
    /// `--recipe list` prints the recipes; a recipe for other models is refused naming them.
    func testRecipeIsWrittenExpandedUnderTheExplicitKeys() throws {
        let list = try CLI.run(["train", "--recipe", "list"])
        XCTAssertEqual(list.status, 0, list.stderr)
        for name in ["xunet", "unet", "fcn-resnet18", "torchvision", "mmseg-voc"] {
            XCTAssertTrue(list.stdout.contains("\(name)  (models: "), list.stdout)
        }
        XCTAssertTrue(list.stdout.contains("lr=0.02") && list.stdout.contains("cat_max_ratio=0.75"), list.stdout)

        let demo = try makeDemo()
        let wrong = try CLI.run(["train", "--data", demo.path, "--recipe", "torchvision"])
        XCTAssertEqual(wrong.status, 64, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("torchvision is a recipe for fcn-resnet50"), wrong.stderr)

        let (result, run) = try train(demo, extra: ["--recipe", "xunet", "--iterations", "2"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let config = try String(contentsOf: run.appendingPathComponent("config.toml"), encoding: .utf8)
        for line in ["recipe = \"xunet\"", "optimizer = \"rmsprop\"", "schedule = \"constant\"", "flip_prob = 0.0",
                     "resize_scale = [160, 160]", "keep_ratio = false", "batch = 2", "crop = [64, 64]", "iterations = 2", "epochs = 0"] {
            XCTAssertTrue(config.contains("\n\(line)\n"), "\(line) missing from:\n\(config)")
        }
    }

    func testTuiRefusesABadPetsBorderOrPalette() throws {
        let border = try CLI.run(["tui", "--pets-border", "maybe"])
        XCTAssertNotEqual(border.status, 0)
        XCTAssertTrue(border.stderr.contains("--pets-border maybe: expected one of class, void"), border.stderr)
        let palette = try CLI.run(["tui", "--palette", "rainbow"])
        XCTAssertNotEqual(palette.status, 0)
        XCTAssertTrue(palette.stderr.contains("--palette rainbow: expected one of auto, voc, ade20k, cityscapes"), palette.stderr)
    }

    func testBadConfigValueNamesTheKeyAndAllowedValues() throws {
        let result = try CLI.run(["train", "--data", work.path, "--set", "optimizer=lion"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("optimizer"), result.stderr)
        XCTAssertTrue(result.stderr.contains("adam"), result.stderr)
        // The pointer names the subcommand the user typed, not the root's "<subcommand>" usage.
        XCTAssertEqual(result.status, 64)
        XCTAssertTrue(result.stderr.contains("See 'segscope train --help'"), result.stderr)
        XCTAssertFalse(result.stderr.contains("<subcommand>"), result.stderr)
    }

    func testMissingCheckpointIsAClearError() throws {
        let result = try CLI.run(["eval", "--checkpoint", work.appendingPathComponent("nope.safetensors").path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("nope.safetensors"), result.stderr)
    }
}
