import Foundation
import TestSupport
import XCTest
import NN
@testable import Models

final class WeightsTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-weights-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func testSaveLoadRoundTrip() throws {
        let a = try ModelRegistry.build("xunet", seed: 1)
        // Non-default buffers too.
        a.train()
        _ = GradMode.withoutGrad { a(Tensor(shape: [2, 3, 32, 32], values: ParityFill.values("x", count: 2 * 3 * 32 * 32))) }
        let url = directory.appendingPathComponent("xunet.safetensors")
        try a.saveWeights(to: url)
        let file = try SafetensorsFile.read(from: url)
        XCTAssertEqual(file.names, a.stateDict().map(\.name), "state_dict order")
        XCTAssertEqual(file.metadata["segscope.model"], "xunet")
        XCTAssertEqual(file.metadata["format"], "pt")
        XCTAssertEqual(file["entry_bn.num_batches_tracked"]?.shape, [])

        let b = try ModelRegistry.build("xunet", seed: 2)
        XCTAssertNotEqual(a.stateDict()[0].tensor.array, b.stateDict()[0].tensor.array)
        try b.loadWeights(from: url)
        for ((name, x), (_, y)) in zip(a.stateDict(), b.stateDict()) {
            XCTAssertEqual(x.array, y.array, name)
        }
    }

    /// A file for a 5-class model with one tensor renamed and one extra: every problem is
    /// listed in one error and the model is left as it was.
    func testMismatchesAreAllReportedAndNothingChanges() throws {
        let other = try ModelRegistry.build("xunet", classes: 5, seed: 1)
        var tensors = other.stateDict().map { SafetensorsTensor(name: $0.name, shape: $0.tensor.shape, values: $0.tensor.array) }
        tensors = tensors.map { t in
            var t = t
            if t.name == "down.1.bn2.running_var" { t.name = "down.1.bn2.running_variance" }
            return t
        }
        tensors.append(SafetensorsTensor(name: "head.extra", shape: [2], values: [1, 2]))
        let url = directory.appendingPathComponent("bad.safetensors")
        try Safetensors.write(tensors, to: url)

        let model = try ModelRegistry.build("xunet", seed: 7)
        let before = model.stateDict().map { $0.tensor.array }
        XCTAssertThrowsError(try model.loadWeights(from: url)) { error in
            guard case let ModelError.weightsMismatch(file, _, problems) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, url.path)
            XCTAssertEqual(problems.count, 5, problems.joined(separator: "\n"))
            let text = String(describing: error)
            for needle in ["'out_conv.weight': shape [5, 32, 3, 3] in the file, the model needs [3, 32, 3, 3]",
                           "'out_conv.bias': shape [5]", "missing tensor 'down.1.bn2.running_var' [128]",
                           "unexpected tensor 'down.1.bn2.running_variance'", "unexpected tensor 'head.extra'"] {
                XCTAssertTrue(text.contains(needle), "missing “\(needle)” in:\n\(text)")
            }
        }
        XCTAssertEqual(model.stateDict().map { $0.tensor.array }, before, "a failed load changes nothing")
        // Tensors that are not weights can be skipped on purpose.
        XCTAssertThrowsError(try model.loadWeights(from: url, ignoring: { $0.hasPrefix("head.") }))
    }

    /// PyTorch writes `num_batches_tracked` as int64 scalars: accepted; an integer weight is not.
    func testPyTorchDTypes() throws {
        let model = try ModelRegistry.build("xunet", seed: 1)
        var entries: [RawTensor] = model.stateDict().map { name, t in
            name.hasSuffix("num_batches_tracked") ? RawTensor(name: name, dtype: "I64", shape: [], int64: [12])
                : RawTensor(name: name, shape: t.shape, floats: t.array)
        }
        let good = directory.appendingPathComponent("torch.safetensors")
        try encodeSafetensors(entries).write(to: good)
        let loaded = try ModelRegistry.build("xunet", seed: 2)
        try loaded.loadWeights(from: good)
        XCTAssertEqual(loaded.stateDict().first { $0.name == "up.3.bn2.num_batches_tracked" }?.tensor.array, [12])
        XCTAssertEqual(loaded.stateDict()[0].tensor.array, model.stateDict()[0].tensor.array)

        entries[0] = RawTensor(name: entries[0].name, dtype: "I64", shape: model.stateDict()[0].tensor.shape,
                               int64: [Int64](repeating: 0, count: model.stateDict()[0].tensor.count))
        let bad = directory.appendingPathComponent("int-weights.safetensors")
        try encodeSafetensors(entries).write(to: bad)
        XCTAssertThrowsError(try loaded.loadWeights(from: bad)) { error in
            XCTAssertTrue(String(describing: error).contains("'entry_conv.weight': dtype I64"), "\(error)")
        }
    }

    /// torchvision ResNet-18 names (the list PyTorch printed, committed by the golden script):
    /// `conv1` → `0`, `bn1` → `1`, `layerK` → `3+K`; `fc.*` ignored; the head is untouched.
    func testBackboneWeightsFromTorchvisionNames() throws {
        struct Key: Decodable { var name: String; var shape: [Int]; var dtype: String }
        let keys = try JSONDecoder().decode([Key].self, from: Data(contentsOf:
            ParityFixture.goldenDirectory.appendingPathComponent("resnet18_torchvision_keys.json")))
        XCTAssertEqual(keys.count, 122)
        XCTAssertTrue(keys.contains { $0.name == "fc.weight" && $0.shape == [1000, 512] })
        let entries = keys.map { k in
            k.dtype == "I64" ? RawTensor(name: k.name, dtype: "I64", shape: k.shape, int64: [3])
                : RawTensor(name: k.name, shape: k.shape, floats: ParityFill.values(k.name, count: k.shape.reduce(1, *)))
        }
        let url = directory.appendingPathComponent("resnet18.safetensors")
        try encodeSafetensors(entries).write(to: url)

        let model = try XCTUnwrap(try ModelRegistry.build("fcn-resnet18", seed: 1) as? FCNResNet18)
        let head = model.stateDict().filter { $0.name.hasPrefix("final_conv") || $0.name.hasPrefix("transpose_conv") }
            .map { $0.tensor.array }
        try model.loadBackbone(from: url)
        let state = Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.name, $0.tensor) })
        for (mine, theirs) in [("0.weight", "conv1.weight"), ("1.running_var", "bn1.running_var"),
                               ("4.0.conv1.weight", "layer1.0.conv1.weight"),
                               ("7.0.downsample.1.bias", "layer4.0.downsample.1.bias")] {
            let count = try XCTUnwrap(state[mine]).count
            XCTAssertEqual(state[mine]?.array, ParityFill.values(theirs, count: count), mine)
        }
        XCTAssertEqual(state["5.1.bn2.num_batches_tracked"]?.array, [3])
        XCTAssertEqual(model.stateDict().filter { $0.name.hasPrefix("final_conv") || $0.name.hasPrefix("transpose_conv") }
            .map { $0.tensor.array }, head, "the FCN head keeps its initialisation")

        // Every problem at once: a missing tensor, a wrong shape, a stray name.
        var broken = entries.filter { $0.name != "layer4.1.bn2.running_var" }
        broken[0] = RawTensor(name: "conv1.weight", shape: [64, 3, 3, 3], floats: [Float](repeating: 0, count: 64 * 27))
        broken.append(RawTensor(name: "avgpool.scale", shape: [1], floats: [1]))
        let bad = directory.appendingPathComponent("resnet18-bad.safetensors")
        try encodeSafetensors(broken).write(to: bad)
        XCTAssertThrowsError(try model.loadBackbone(from: bad)) { error in
            guard case let ModelError.weightsMismatch(_, _, problems) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(problems.count, 3, problems.joined(separator: "\n"))
            let text = problems.joined(separator: "\n")
            XCTAssertTrue(text.contains("'conv1.weight': shape [64, 3, 3, 3] in the file, the model needs [64, 3, 7, 7]"), text)
            XCTAssertTrue(text.contains("missing tensor 'layer4.1.bn2.running_var' [512]"), text)
            XCTAssertTrue(text.contains("unexpected tensor 'avgpool.scale'"), text)
        }
    }

    /// Full-size weights written by PyTorch (`models_golden.py --export DIR`, by hand; skipped
    /// unless `SEGSCOPE_TORCH_WEIGHTS=DIR`): they load, and equal the formula's values.
    func testLoadsPyTorchExportedWeights() throws {
        guard let dir = ProcessInfo.processInfo.environment["SEGSCOPE_TORCH_WEIGHTS"] else {
            throw XCTSkip("set SEGSCOPE_TORCH_WEIGHTS to the directory of models_golden.py --export")
        }
        for name in ModelRegistry.names {
            let fixture = try ParityFixture(model: name)
            let model = try ModelRegistry.build(name)
            try model.loadWeights(from: URL(fileURLWithPath: dir).appendingPathComponent("\(name).safetensors"))
            let expected = try ModelRegistry.build(name)
            fixture.fill(expected)
            for ((n, a), (_, b)) in zip(model.stateDict(), expected.stateDict()) where !n.hasSuffix("num_batches_tracked") {
                XCTAssertEqual(a.array, b.array, "\(name): \(n)")
            }
            let out = URL(fileURLWithPath: dir).appendingPathComponent("\(name)-segscope.safetensors")
            try model.saveWeights(to: out)
            print("wrote \(out.path): check with models_golden.py --check-load \(out.path) --model \(name)")
        }
        let fcn = try XCTUnwrap(try ModelRegistry.build("fcn-resnet18") as? FCNResNet18)
        try fcn.loadBackbone(from: URL(fileURLWithPath: dir).appendingPathComponent("resnet18-torchvision.safetensors"))
    }
}

/// One tensor of a hand-made safetensors file (for dtypes the writer does not produce).
struct RawTensor {
    var name: String
    var dtype: String
    var shape: [Int]
    var bytes: Data

    init(name: String, shape: [Int], floats: [Float]) {
        self.name = name; dtype = "F32"; self.shape = shape
        bytes = floats.withUnsafeBytes { Data($0) }
    }

    init(name: String, dtype: String, shape: [Int], int64: [Int64]) {
        self.name = name; self.dtype = dtype; self.shape = shape
        bytes = int64.withUnsafeBytes { Data($0) }
    }
}

/// The safetensors layout: u64 header length, JSON header, data.
func encodeSafetensors(_ tensors: [RawTensor]) throws -> Data {
    var header: [String: Any] = [:]
    var offset = 0
    for t in tensors {
        header[t.name] = ["dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, offset + t.bytes.count]]
        offset += t.bytes.count
    }
    var json = try JSONSerialization.data(withJSONObject: header)
    while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
    var out = Data()
    var length = UInt64(json.count).littleEndian
    withUnsafeBytes(of: &length) { out.append(contentsOf: $0) }
    out.append(json)
    for t in tensors { out.append(t.bytes) }
    return out
}
