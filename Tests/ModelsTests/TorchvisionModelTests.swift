import Foundation
import TestSupport
import XCTest
import NN
@testable import Models

/// torchvision's segmentation models (`fcn-resnet50` … `deeplabv3-resnet101`) against
/// torchvision itself. Golden values (torchvision's own builders, name-seeded weights):
///     /root/torch-venv/bin/python scripts/golden/torchvision_golden.py
/// Parameter counts and state_dict layouts (names in order, shapes) at the default 21 classes
/// with the aux head, as the published checkpoints have them; logits of the main and aux heads
/// within 1e-3 in inference mode on both backends; for the ResNet-50 models also train mode
/// (batch statistics, dropout off in both frameworks), running statistics and every gradient
/// of one step of torchvision's loss, CE(out) + 0.5 · CE(aux), against the step in float64
/// (logits within max(1e-3, 3 × PyTorch float32's own error), gradients within
/// max(1e-3, 2 × PyTorch float32's worst gradient error)) — at this tiny size the train step is
/// ill-conditioned in float32 (DECISIONS D-101).
final class TorchvisionModelTests: XCTestCase {
    // MARK: Layout

    /// torchvision's counts with aux (the numbers), and every state_dict name, in
    /// order, with its shape: the checkpoints torchvision saves load with nothing missing or
    /// unexpected. An ImageNet classifier's file fits the backbone with only `fc.*` left over.
    func testFCNResNet50Layout() throws { try checkLayout("fcn-resnet50", parameters: 35_322_218, backbone: "resnet50") }
    func testFCNResNet101Layout() throws { try checkLayout("fcn-resnet101", parameters: 54_314_346, backbone: "resnet101") }
    func testDeepLabV3ResNet50Layout() throws { try checkLayout("deeplabv3-resnet50", parameters: 42_004_074, backbone: "resnet50") }
    func testDeepLabV3ResNet101Layout() throws { try checkLayout("deeplabv3-resnet101", parameters: 60_996_202, backbone: "resnet101") }
    func testLRASPPMobileNetV3LargeLayout() throws {
        try checkLayout("lraspp-mobilenet-v3-large", parameters: 3_221_538, backbone: "mobilenet_v3_large")
    }

    struct KeyList: Decodable {
        var parameters: Int?
        var state_dict: [[Entry]]
        enum Entry: Decodable {
            case text(String), shape([Int])
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let s = try? c.decode(String.self) { self = .text(s) } else { self = .shape(try c.decode([Int].self)) }
            }
        }
        var items: [WeightsFit.Item] {
            state_dict.compactMap { row in
                guard row.count == 3, case let .text(name) = row[0], case let .shape(shape) = row[1],
                      case let .text(dtype) = row[2] else { return nil }
                return WeightsFit.Item(name: name, shape: shape, dtype: dtype)
            }
        }
    }

    static let keys: [String: KeyList] = {
        let url = ParityFixture.goldenDirectory.appendingPathComponent("tv/keys.json")
        guard let data = try? Data(contentsOf: url), let keys = try? JSONDecoder().decode([String: KeyList].self, from: data) else {
            return [:]
        }
        return keys
    }()

    func checkLayout(_ name: String, parameters: Int, backbone: String) throws {
        let model = try XCTUnwrap(try ModelRegistry.build(name) as? any BackboneLoadable)
        XCTAssertEqual(model.classes, 21)
        XCTAssertEqual(model.trainableCount, parameters, "\(name): parameters (torchvision's count with aux)")
        let torchvision = try XCTUnwrap(Self.keys[name], "keys.json has no \(name)")
        XCTAssertEqual(torchvision.parameters, parameters, "\(name): the generator's count")
        let items = torchvision.items
        XCTAssertEqual(items.count, torchvision.state_dict.count)
        let mine = model.stateDict()
        XCTAssertEqual(mine.map(\.name), items.map(\.name), "\(name): state_dict names in torchvision's order")
        let fit = WeightsFit(items: items, model: model)
        XCTAssertTrue(fit.fits, "\(name): \(fit.summary)")
        XCTAssertEqual(fit.matched, items.count)
        XCTAssertEqual(fit.summary, "fits (\(items.count) tensors)")

        let imagenet = try XCTUnwrap(Self.keys[backbone], "keys.json has no \(backbone)").items
        let backboneFit = WeightsFit(items: imagenet, expected: model.backboneLayout(), ignoring: model.isClassifierTensor)
        XCTAssertTrue(backboneFit.fits, "\(name) backbone: \(backboneFit.summary)")
        let head = backbone.hasPrefix("resnet") ? 2 : 4  // fc.weight, fc.bias | classifier.0 / .3 weight and bias
        XCTAssertEqual(backboneFit.ignored, head, "the classifier's head")
        XCTAssertEqual(backboneFit.matched, imagenet.count - head)
        guard backbone.hasPrefix("resnet") else { return }
        // The other depth's classifier does not fit: layer3 has 6 or 23 blocks.
        let other = try XCTUnwrap(Self.keys[backbone == "resnet50" ? "resnet101" : "resnet50"]).items
        let wrongDepth = WeightsFit(items: other, expected: model.backboneLayout(), ignoring: { $0.hasPrefix("fc.") })
        XCTAssertFalse(wrongDepth.fits)
        XCTAssertTrue(wrongDepth.summary.contains(backbone == "resnet50" ? "unexpected" : "missing"), wrongDepth.summary)
    }

    /// The summary has a row per leaf layer whose counts add up to the model's, and the
    /// output has the input's size (any size: the logits are resized to it).
    func testSummaries() throws {
        for name in ["fcn-resnet50", "deeplabv3-resnet50"] {
            let model = try ModelRegistry.build(name, classes: 4)
            let summary = ModelSummary(model: model, input: InputSize(height: 40, width: 52))
            XCTAssertEqual(summary.outputShape, [1, 4, 40, 52], name)
            XCTAssertEqual(summary.layers.reduce(0) { $0 + $1.trainable } + auxTrainable(model), summary.trainable, name)
            XCTAssertTrue(summary.layers.contains { $0.name == "backbone.layer3.0.conv2" && $0.outputShape == [1, 256, 5, 7] },
                          "\(name): layer3 keeps stride 8")
            XCTAssertTrue(summary.layers.contains { $0.name == "backbone.layer4.2.add_relu" && $0.outputShape == [1, 2048, 5, 7] })
        }
    }

    /// The aux head runs only in the training forward, so inference summaries have no rows for it.
    func auxTrainable(_ model: SegmentationModel) -> Int {
        model.namedParameters().filter { $0.name.hasPrefix("aux_classifier.") }.reduce(0) { $0 + $1.tensor.count }
    }

    /// torch.save files with the full layouts (every tensor a stride-0 view of one value,
    /// scripts/golden/torchvision_golden.py): torchvision's fcn_resnet50 state dict loads whole;
    /// an ImageNet resnet50 file loads into `backbone.*` only (heads untouched, `fc.*` ignored);
    /// a file that does not fit is refused with every problem named and nothing changed.
    func testTorchSavedFilesLoad() throws {
        let dir = ParityFixture.goldenDirectory.appendingPathComponent("tv")
        // Value of the i-th state_dict entry in the layout files.
        func marker(_ i: Int) -> Float { Float(i % 7 + 1) / 64 }
        let model = try XCTUnwrap(try ModelRegistry.build("fcn-resnet50") as? TorchvisionSegmentation)
        try model.loadWeights(from: dir.appendingPathComponent("fcn_resnet50-layout.pth"))
        for (i, (name, tensor)) in model.stateDict().enumerated() {
            let want: Float = name.hasSuffix("num_batches_tracked") ? Float(i) : marker(i)
            XCTAssertTrue(tensor.array.allSatisfy { $0 == want }, "\(name): expected \(want), got \(tensor.array.prefix(3))")
        }

        let deeplab = try XCTUnwrap(try ModelRegistry.build("deeplabv3-resnet50", classes: 2) as? TorchvisionSegmentation)
        let headBefore = deeplab.stateDict().first { $0.name == "classifier.4.weight" }!.tensor.array
        let resnet = dir.appendingPathComponent("resnet50-layout.pth")
        try deeplab.loadBackbone(from: resnet)
        let loaded = deeplab.backboneTensors()
        XCTAssertEqual(loaded.count, 318)
        for (i, (name, tensor)) in loaded.enumerated() where !name.hasSuffix("num_batches_tracked") {
            XCTAssertTrue(tensor.array.allSatisfy { $0 == marker(i) }, "backbone.\(name)")
        }
        XCTAssertEqual(deeplab.stateDict().first { $0.name == "classifier.4.weight" }!.tensor.array, headBefore)

        let deeper = try XCTUnwrap(try ModelRegistry.build("fcn-resnet101", classes: 2) as? TorchvisionSegmentation)
        let before = deeper.stateDict().first { $0.name == "backbone.conv1.weight" }!.tensor.array
        XCTAssertThrowsError(try deeper.loadBackbone(from: resnet)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("resnet50-layout.pth") && text.contains("missing tensor 'layer3.22.conv1.weight'")
                          && text.contains("torchvision resnet101"), text)
        }
        XCTAssertEqual(deeper.stateDict().first { $0.name == "backbone.conv1.weight" }!.tensor.array, before, "untouched")
        XCTAssertThrowsError(try deeper.loadWeights(from: dir.appendingPathComponent("fcn_resnet50-layout.pth"))) { error in
            XCTAssertTrue(String(describing: error).contains("missing tensor 'backbone.layer3.6.conv1.weight'"), "\(error)")
        }
    }

    // MARK: Parity

    func testFCNResNet50Parity() throws { try checkParity("fcn-resnet50") }
    func testDeepLabV3ResNet50Parity() throws { try checkParity("deeplabv3-resnet50") }
    func testFCNResNet101Parity() throws { try checkParity("fcn-resnet101") }
    func testDeepLabV3ResNet101Parity() throws { try checkParity("deeplabv3-resnet101") }
    func testFCNResNet50ParityOnDNNL() throws { try onDNNL { try checkParity("fcn-resnet50") } }
    func testDeepLabV3ResNet50ParityOnDNNL() throws { try onDNNL { try checkParity("deeplabv3-resnet50") } }
    func testFCNResNet101ParityOnDNNL() throws { try onDNNL { try checkParity("fcn-resnet101") } }
    func testDeepLabV3ResNet101ParityOnDNNL() throws { try onDNNL { try checkParity("deeplabv3-resnet101") } }
    func testLRASPPMobileNetV3LargeParity() throws { try checkParity("lraspp-mobilenet-v3-large") }
    func testLRASPPMobileNetV3LargeParityOnDNNL() throws { try onDNNL { try checkParity("lraspp-mobilenet-v3-large") } }

    struct Document: Decodable {
        struct Eval: Decodable { var batch: Int; var size: [Int]; var input_first: [Double] }
        struct Train: Decodable {
            var batch: Int
            var size: [Int]
            var loss: Double
            var torch_f32_logit_err: Double
            var torch_f32_aux_err: Double?
            var grads: [ParityFixture.GradSummary]
        }
        var model: String
        var classes: Int
        var eval: Eval
        var train: Train?
        var state_dict: [ParityFixture.StateEntry]
    }

    func checkParity(_ name: String) throws {
        let dir = ParityFixture.goldenDirectory.appendingPathComponent("tv")
        let doc = try JSONDecoder().decode(Document.self, from: Data(contentsOf: dir.appendingPathComponent("\(name).json")))
        let golden = try SafetensorsFile.read(from: dir.appendingPathComponent("\(name).safetensors"))
        func tensor(_ key: String) throws -> Tensor {
            let entry = try golden.entry(key)
            return Tensor(shape: entry.shape, values: entry.floats())
        }
        let backend = Backends.current.name
        let model = try ModelRegistry.build(name, classes: doc.classes)

        let mine = model.stateDict()
        XCTAssertEqual(mine.map(\.name), doc.state_dict.map(\.name), "\(name): state_dict names")
        let specs = Dictionary(uniqueKeysWithValues: doc.state_dict.map { ($0.name, $0) })
        for (tensorName, t) in mine {
            guard let spec = specs[tensorName] else { continue }
            XCTAssertEqual(t.shape, spec.shape, "\(name): shape of \(tensorName)")
            guard let offset = spec.offset, let scale = spec.scale, t.shape == spec.shape else {
                t.fill(0)  // num_batches_tracked
                continue
            }
            ParityFill.fill(t.data, count: t.count, name: tensorName, offset: Float(offset), scale: Float(scale))
            t.storage.markModified()
            if let first = spec.first {
                XCTAssertEqual(t.array.prefix(first.count).map(Double.init), first, "\(name): fill of \(tensorName)")
            }
        }

        // Inference: main and aux heads (lraspp has none).
        let e = doc.eval
        let inputValues = ParityFill.values("eval.input", count: e.batch * 3 * e.size[0] * e.size[1], scale: 1.7)
        XCTAssertEqual(inputValues.prefix(4).map(Double.init), e.input_first, "\(name): the input formula")
        let input = Tensor(shape: [e.batch, 3, e.size[0], e.size[1]], values: inputValues)
        model.eval()
        let out = GradMode.withoutGrad { model(input) }
        let both = GradMode.withoutGrad { model.forwardTraining(input) }
        let hasAux = golden.names.contains("eval.aux")
        XCTAssertEqual(both.aux != nil, hasAux, "\(name): an aux head as torchvision's")
        var evalCases = [("eval", out, "eval.out"), ("eval (training forward)", both.logits, "eval.out")]
        if hasAux { evalCases.append(("eval aux", try XCTUnwrap(both.aux), "eval.aux")) }
        for (label, mineLogits, key) in evalCases {
            let c = ParityCheck.compareLogits(mineLogits, try tensor(key))
            print("parity \(name) \(label) on \(backend): max abs err \(c.maxAbs), argmax agreement \(c.agreement)")
            XCTAssertLessThanOrEqual(c.maxAbs, 1e-3, "\(name) \(label) logits on \(backend)")
            XCTAssertGreaterThanOrEqual(c.agreement, 0.999, "\(name) \(label) argmax agreement on \(backend)")
        }

        guard let t = doc.train else { return }
        // Train mode: batch statistics; dropout off as in the generator.
        let x = Tensor(shape: [t.batch, 3, t.size[0], t.size[1]],
                       values: ParityFill.values("train.input", count: t.batch * 3 * t.size[0] * t.size[1], scale: 1.7))
        let labels = [UInt8](try golden.entry("train.labels").bytes)
        model.train()
        for (_, m) in model.namedModules() where m is Dropout { m.eval() }
        let (logits, aux) = model.forwardTraining(x)
        // The train-mode reference is float64 (see torchvision_golden.py: float32 is ill-conditioned
        // here); each tolerance is max(1e-3, 3 × PyTorch float32's own error against it).
        var trainCases = [("train", logits, "train.out", t.torch_f32_logit_err)]
        if let aux, let auxErr = t.torch_f32_aux_err { trainCases.append(("train aux", aux, "train.aux", auxErr)) }
        for (label, mineLogits, key, torchErr) in trainCases {
            let c = ParityCheck.compareLogits(mineLogits, try tensor(key))
            print("parity \(name) \(label) on \(backend): max abs err \(c.maxAbs) (PyTorch float32: \(torchErr))")
            XCTAssertLessThanOrEqual(Double(c.maxAbs), max(1e-3, 3 * torchErr), "\(name) \(label) logits on \(backend)")
        }
        for (bufferName, buffer) in model.namedBuffers() where !bufferName.hasSuffix("num_batches_tracked") {
            let expected = try tensor("after_train." + bufferName).array
            let err = zip(buffer.array, expected).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
            XCTAssertLessThanOrEqual(err, 1e-3, "\(name): \(bufferName) after the train-mode forward")
        }
        var loss = crossEntropy(logits, targets: labels, ignoreIndex: 255)
        if let aux { loss = loss + scale(crossEntropy(aux, targets: labels, ignoreIndex: 255), by: 0.5) }
        XCTAssertEqual(Double(loss.item), t.loss, accuracy: 1e-4 * max(1, t.loss), "\(name) loss")
        model.zeroGrad()
        loss.backward()
        let params = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.tensor) })
        XCTAssertEqual(Set(params.keys), Set(t.grads.map(\.name)), "\(name): trainable parameters")
        let zeroFloor = 1e-5 * (t.grads.map(\.max_abs).max() ?? 1)
        // Which parameter float32 noise hits hardest differs between any two float32
        // computations (PyTorch's own run included), so the bound is the model-wide noise level:
        // twice PyTorch float32's worst error. A wrong backward gives errors of order 1.
        // Gradients that are zero up to noise (checked as such below) are left out of it: their
        // relative errors are noise over nothing (~3e5 for lraspp) and would void the bound.
        let torchWorst = t.grads.filter { $0.max_abs >= zeroFloor }.compactMap(\.torch_f32_err).max() ?? 0
        let gradTolerance = max(1e-3, 2 * torchWorst)
        var worst = (err: 0.0, name: "", torch: 0.0)
        for summary in t.grads {
            guard let grad = params[summary.name]?.grad else {
                XCTFail("\(name): no gradient for \(summary.name)")
                continue
            }
            if summary.max_abs < zeroFloor {
                XCTAssertLessThan(grad.array.map { Double(abs($0)) }.max() ?? 0, zeroFloor, "\(name): \(summary.name) ≈ 0")
                continue
            }
            let err = ParityCheck.gradError(grad.array, summary)
            let torchErr = summary.torch_f32_err ?? 0
            if err > worst.err { worst = (err, summary.name, torchErr) }
            XCTAssertLessThanOrEqual(err, gradTolerance,
                                     "\(name): gradient of \(summary.name) on \(backend) (PyTorch float32: \(torchErr))")
        }
        print("parity \(name) grads on \(backend): max rel err \(worst.err) (\(worst.name); PyTorch float32 there: "
              + "\(worst.torch), worst anywhere \(torchWorst)), loss \(loss.item) vs \(t.loss)")
    }
}
