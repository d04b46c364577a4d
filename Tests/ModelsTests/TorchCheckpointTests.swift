import Foundation
import XCTest
import NN
@testable import Models

/// The PyTorch checkpoint reader against files written by torch.save
/// (scripts/golden/torch_checkpoints.py; values in Golden/torch/expected.json).
final class TorchCheckpointTests: XCTestCase {
    static let directory = Bundle.module.url(forResource: "Golden", withExtension: nil)!.appendingPathComponent("torch")

    func url(_ name: String) -> URL { Self.directory.appendingPathComponent(name) }

    func expected(_ group: String) throws -> [String: (dtype: String, shape: [Int], values: [Double])] {
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url("expected.json"))) as! [String: Any]
        let tensors = json[group] as! [String: [String: Any]]
        return tensors.mapValues { ($0["dtype"] as! String, $0["shape"] as! [Int], $0["values"] as! [Double]) }
    }

    /// Every tensor with its dtype, shape and exact values (f64 compared after rounding to Float).
    func assertTensors(_ file: SafetensorsFile, equal group: String, _ where_: String) throws {
        let want = try expected(group)
        XCTAssertEqual(Set(file.names), Set(want.keys), where_)
        for (name, spec) in want {
            let entry = try file.entry(name)
            XCTAssertEqual(entry.dtype.rawValue, spec.dtype, "\(where_) \(name)")
            XCTAssertEqual(entry.shape, spec.shape, "\(where_) \(name)")
            XCTAssertEqual(entry.floats(), spec.values.map { Float($0) }, "\(where_) \(name)")
        }
    }

    func testZipAndLegacyReturnExactlyTheSavedTensors() throws {
        for (name, format) in [("zip.pth", TorchCheckpoint.Format.zip), ("legacy.pth", .legacy)] {
            let checkpoint = try TorchCheckpoint.read(from: url(name))
            XCTAssertEqual(checkpoint.format, format)
            XCTAssertNil(checkpoint.key)
            try assertTensors(checkpoint.tensors, equal: "tensors", name)
        }
        // State-dict order is kept.
        XCTAssertEqual(try TorchCheckpoint.read(from: url("zip.pth")).tensors.names.prefix(3),
                       ["conv.weight", "conv.bias", "half.weight"])
    }

    func testTarFormat() throws {
        let checkpoint = try TorchCheckpoint.read(from: url("tar.pth"))
        XCTAssertEqual(checkpoint.format, .tar)
        try assertTensors(checkpoint.tensors, equal: "tar", "tar.pth")
    }

    func testWrappedCheckpointIsSelectedAndPrefixStripped() throws {
        let checkpoint = try TorchCheckpoint.read(from: url("wrapped.pth"))
        XCTAssertEqual(checkpoint.key, "model")
        XCTAssertEqual(checkpoint.strippedPrefix, "module.")
        try assertTensors(checkpoint.tensors, equal: "small1", "wrapped.pth")
        XCTAssertTrue(checkpoint.otherEntries.contains("args: argparse.Namespace"), "\(checkpoint.otherEntries)")
        XCTAssertTrue(checkpoint.otherEntries.contains("epoch: int"), "\(checkpoint.otherEntries)")
    }

    func testSeveralStateDictsNeedKey() throws {
        XCTAssertThrowsError(try TorchCheckpoint.read(from: url("two-models.pth"))) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("two-models.pth") && text.contains("'student'") && text.contains("'teacher'")
                          && text.contains("--key"), text)
        }
        try assertTensors(try WeightsFile.read(from: url("two-models.pth"), key: "teacher"), equal: "small2", "--key teacher")
        XCTAssertThrowsError(try TorchCheckpoint.read(from: url("two-models.pth"), key: "pupil")) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("no entry 'pupil'") && text.contains("'student'"), text)
        }
    }

    func testMaliciousPickleIsRefused() throws {
        XCTAssertThrowsError(try WeightsFile.read(from: url("malicious.pth"))) { error in
            XCTAssertEqual(error as? TorchCheckpointError,
                           .refusedGlobal(file: self.url("malicious.pth").path, global: "posix.system"))
            XCTAssertTrue(String(describing: error).contains("nothing was executed"))
        }
    }

    func testOtherFilesGetAMessageNamingWhatWasFound() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("torch-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let gif = dir.appendingPathComponent("photo.pth")
        try Data("GIF89a-not-weights".utf8).write(to: gif)
        XCTAssertThrowsError(try WeightsFile.read(from: gif)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains(gif.path) && text.contains("GIF89a") && text.contains("neither a PyTorch checkpoint"), text)
        }
        // A truncated zip checkpoint.
        let zip = try Data(contentsOf: url("zip.pth"))
        let cut = dir.appendingPathComponent("cut.pth")
        try zip.prefix(zip.count / 2).write(to: cut)
        XCTAssertThrowsError(try WeightsFile.read(from: cut)) { error in
            XCTAssertTrue(String(describing: error).contains("cut.pth"), String(describing: error))
        }
        // A plain pickle that is not a torch.save file.
        let plain = dir.appendingPathComponent("plain.pkl")
        try Data([0x80, 0x02, 0x4b, 0x05, 0x2e]).write(to: plain)
        XCTAssertThrowsError(try WeightsFile.read(from: plain)) { error in
            XCTAssertTrue(String(describing: error).contains("not a torch.save file"), String(describing: error))
        }
    }

    /// The parity fixture's tensors saved by torch.save read back equal to the safetensors file.
    func testPthHoldsWhatSafetensorsHolds() throws {
        let golden = Bundle.module.url(forResource: "Golden", withExtension: nil)!
        let pth = try WeightsFile.open(url("xunet.pth"))
        XCTAssertEqual(pth.kind, .torch(.zip))
        let reference = try WeightsFile.open(golden.appendingPathComponent("xunet.safetensors"))
        XCTAssertEqual(reference.kind, .safetensors)
        XCTAssertEqual(Set(pth.tensors.names), Set(reference.tensors.names))
        for name in reference.tensors.names {
            let a = try pth.tensors.entry(name), b = try reference.tensors.entry(name)
            XCTAssertEqual(a.shape, b.shape, name)
            XCTAssertEqual(a.floats(), b.floats(), name)
        }
    }
}
