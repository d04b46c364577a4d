import Datasets
import Foundation
import TestSupport
import XCTest

/// `segscope predict --model M --weights FILE` (the torchvision tutorial's flow) against
/// torchvision: its fcn_resnet50 on formula weights (the fill specs of
/// Tests/ModelsTests/Golden/tv/predict/fcn-resnet50.json, written here to a safetensors file;
/// the real 141 MB file is not committed) on a real VOC photo, preprocessed by torchvision's
/// Resize / CenterCrop on the PIL image at reduced sizes, its masks at the photo's size
/// (`scripts/golden/torchvision_golden.py --predict`). And the errors a new user meets.
final class PredictWeightsTests: XCTestCase {
    struct Golden: Decodable {
        struct Case: Decodable { var resize: Int; var center_crop: Int?; var mask: String; var counts: [String: Int] }
        var photo: String
        var cases: [String: Case]
        var state_dict: [ParityFill.Spec]
    }

    static let directory = Fixtures.repositoryRoot.appendingPathComponent("Tests/ModelsTests/Golden/tv/predict")
    private var work: URL!

    override func setUpWithError() throws { work = try makeTemporaryDirectory("predict-weights") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    func golden() throws -> Golden {
        try JSONDecoder().decode(Golden.self, from: Data(contentsOf: Self.directory.appendingPathComponent("fcn-resnet50.json")))
    }

    /// Both cases (resize 160; resize 128 + centre crop 112): Segscope's mask equals
    /// torchvision's on at least 99.9 % of the photo's pixels (void outside the crop included),
    /// and the printed per-class counts are the mask's.
    func testMasksMatchTorchvision() throws {
        let doc = try golden()
        let weights = work.appendingPathComponent("fcn-resnet50-formula.safetensors")
        try ParityFill.writeWeights(doc.state_dict, to: weights)
        let photo = Fixtures.root.appendingPathComponent(doc.photo)
        for (name, c) in doc.cases.sorted(by: { $0.key < $1.key }) {
            let out = work.appendingPathComponent(name)
            var args = ["predict", "--model", "fcn-resnet50", "--weights", weights.path, "--resize", "\(c.resize)"]
            if let crop = c.center_crop { args += ["--center-crop", "\(crop)"] }
            let result = try CLI.run(args + [photo.path, "--out", out.path])
            XCTAssertEqual(result.status, 0, result.stderr)
            let mine = try ImageCodec.readPNG(out.appendingPathComponent("2007_000032.png"))
            let theirs = try ImageCodec.readPNG(Self.directory.appendingPathComponent(c.mask))
            XCTAssertEqual(mine.width, 500)
            XCTAssertEqual(mine.height, 281)
            XCTAssertEqual(mine.width, theirs.width)
            XCTAssertEqual(mine.height, theirs.height)
            let a = mine.samples, b = theirs.samples
            XCTAssertEqual(a.count, b.count)
            let same = zip(a, b).filter { $0 == $1 }.count
            let agreement = Double(same) / Double(max(1, b.count))
            print("predict \(name): \(same) of \(b.count) pixels as torchvision (\(String(format: "%.4f", 100 * agreement)) %)")
            XCTAssertGreaterThanOrEqual(agreement, 0.999, name)
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("2007_000032_overlay.png").path))
            // The printed counts are this mask's; the classes torchvision found are there.
            var counts: [Int: Int] = [:]
            for v in a { counts[Int(v), default: 0] += 1 }
            for (label, count) in counts where label != 255 {
                let className = Palette.vocClassNames[label]
                XCTAssertTrue(result.stdout.contains("\(className) \(count)"), "\(className) \(count) in \(result.stdout)")
            }
            XCTAssertEqual(result.stdout.contains("void (outside the crop)"), c.center_crop != nil, result.stdout)
            XCTAssertEqual(Set(counts.keys.map(String.init)), Set(c.counts.keys), name)
        }
    }

    /// A `.pth` written by torch.save loads as it is; in a checkpoint that wraps two state
    /// dicts `--key` picks one, and a wrong key names the ones there are.
    func testTorchSavedWeightsAndKeys() throws {
        let photo = Fixtures.root.appendingPathComponent("voc/JPEGImages/2007_000033.jpg").path
        let layout = Fixtures.repositoryRoot.appendingPathComponent("Tests/ModelsTests/Golden/tv/fcn_resnet50-layout.pth").path
        let pth = try CLI.run(["predict", "--model", "fcn-resnet50", "--weights", layout, "--resize", "64", photo, "--out", work.path])
        XCTAssertEqual(pth.status, 0, pth.stderr)
        XCTAssertTrue(pth.stdout.contains("2007_000033.jpg: 500x366 → 2007_000033.png"), pth.stdout)

        let two = Self.directory.appendingPathComponent("xunet-student-teacher.pth").path
        let picked = try CLI.run(["predict", "--model", "xunet", "--weights", two, "--key", "teacher", "--resize", "64",
                                  photo, "--out", work.path])
        XCTAssertEqual(picked.status, 0, picked.stderr)
        let unpicked = try CLI.run(["predict", "--model", "xunet", "--weights", two, photo, "--out", work.path])
        XCTAssertNotEqual(unpicked.status, 0)
        XCTAssertTrue(unpicked.stderr.contains("student") && unpicked.stderr.contains("teacher"), unpicked.stderr)
        let bad = try CLI.run(["predict", "--model", "xunet", "--weights", two, "--key", "ema", photo, "--out", work.path])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.stderr.contains("ema") && bad.stderr.contains("student"), bad.stderr)
    }

    /// What a new user gets wrong: no weights, both kinds, --weights without --model, weights
    /// of another model (the line says what is missing / unexpected and which model they fit),
    /// an unknown model, a crop larger than the resized photo.
    func testClearErrors() throws {
        let photo = Fixtures.root.appendingPathComponent("voc/JPEGImages/2007_000033.jpg").path
        let layout = Fixtures.repositoryRoot.appendingPathComponent("Tests/ModelsTests/Golden/tv/fcn_resnet50-layout.pth").path
        func run(_ args: [String]) throws -> CLI.Result {
            let r = try CLI.run(["predict"] + args + [photo, "--out", work.path])
            XCTAssertNotEqual(r.status, 0, "\(args): \(r.stdout)")
            return r
        }
        let neither = try run([])
        XCTAssertTrue(neither.stderr.contains("--checkpoint") && neither.stderr.contains("--weights"), neither.stderr)
        let both = try run(["--checkpoint", layout, "--model", "fcn-resnet50", "--weights", layout])
        XCTAssertTrue(both.stderr.contains("both given"), both.stderr)
        let noModel = try run(["--weights", layout])
        XCTAssertTrue(noModel.stderr.contains("--weights needs --model") && noModel.stderr.contains("weights inspect"), noModel.stderr)
        let wrong = try run(["--model", "deeplabv3-resnet50", "--weights", layout])
        XCTAssertTrue(wrong.stderr.contains("does not fit --model deeplabv3-resnet50") && wrong.stderr.contains("missing")
                      && wrong.stderr.contains("unexpected") && wrong.stderr.contains("it fits --model fcn-resnet50"), wrong.stderr)
        XCTAssertLessThan(wrong.stderr.split(separator: "\n").count, 4, "one line, not hundreds: \(wrong.stderr)")
        XCTAssertTrue(wrong.stderr.contains("2 of the wrong shape or type (classifier.1.weight, classifier.4.weight)"), wrong.stderr)
        let unknown = try run(["--model", "fcn-resnet34", "--weights", layout])
        XCTAssertTrue(unknown.stderr.contains("unknown model 'fcn-resnet34'") && unknown.stderr.contains("fcn-resnet50"), unknown.stderr)
        let crop = try run(["--model", "fcn-resnet50", "--weights", layout, "--resize", "64", "--center-crop", "100"])
        XCTAssertTrue(crop.stderr.contains("--center-crop 100 is larger than the resized image") && crop.stderr.contains("87x64"),
                      crop.stderr)
    }
}
