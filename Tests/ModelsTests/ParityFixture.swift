import Foundation
import NN
import Models
import XCTest
import TestSupport

/// The golden files written by `scripts/golden/models_golden.py` for one model: the PyTorch
/// `state_dict` layout with fill specs and checksums, the loss and per-parameter gradient
/// summaries of one training step (`<model>.json`), and the tensors (`<model>.safetensors`:
/// input, labels, logits in eval and train mode, BN running stats after the train forward).
struct ParityFixture {
    struct StateEntry: Decodable {
        var name: String
        var shape: [Int]
        var dtype: String
        var offset: Double?
        var scale: Double?
        var checksum_sum: Double?
        var first: [Double]?
    }

    struct GradSummary: Decodable {
        var name: String
        var sum: Double
        var abs_sum: Double
        var sq_sum: Double
        var max_abs: Double
        var probe: Double
        var first: [Double]
        /// PyTorch float32's own error against a float64 reference (torchvision fixtures).
        var torch_f32_err: Double?
    }

    struct Document: Decodable {
        var model: String
        var classes: Int
        var batch: Int
        var size: [Int]
        var loss: Double
        var state_dict: [StateEntry]
        var grads: [GradSummary]
    }

    let doc: Document
    let tensors: SafetensorsFile

    static var goldenDirectory: URL {
        Bundle.module.url(forResource: "Golden", withExtension: nil)
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")
    }

    init(model: String) throws {
        let dir = ParityFixture.goldenDirectory
        doc = try JSONDecoder().decode(Document.self, from: Data(contentsOf: dir.appendingPathComponent("\(model).json")))
        tensors = try SafetensorsFile.read(from: dir.appendingPathComponent("\(model).safetensors"))
    }

    func tensor(_ name: String) throws -> Tensor {
        let entry = try tensors.entry(name)
        return Tensor(shape: entry.shape, values: entry.floats())
    }

    var labels: [UInt8] {
        get throws { [UInt8](try tensors.entry("labels").bytes) }
    }

    /// Fills every parameter and buffer of `model` by the script's formula (see ParityFill).
    func fill(_ model: Module) {
        let specs = Dictionary(uniqueKeysWithValues: doc.state_dict.map { ($0.name, $0) })
        for (name, tensor) in model.stateDict() {
            guard let spec = specs[name], let offset = spec.offset, let scale = spec.scale else {
                tensor.fill(0)  // num_batches_tracked
                continue
            }
            ParityFill.fill(tensor.data, count: tensor.count, name: name, offset: Float(offset), scale: Float(scale))
            tensor.storage.markModified()
        }
    }
}

/// The comparisons of the parity tests (ParityTests, TorchvisionModelTests).
enum ParityCheck {
    static func compareLogits(_ a: Tensor, _ b: Tensor) -> (maxAbs: Float, agreement: Double) {
        XCTAssertEqual(a.shape, b.shape)
        guard a.shape == b.shape else { return (.infinity, 0) }
        let x = a.array, y = b.array
        var maxAbs: Float = 0
        for i in 0..<x.count { maxAbs = max(maxAbs, abs(x[i] - y[i])) }
        let mine = argmaxChannels(a), theirs = argmaxChannels(b)
        let same = zip(mine, theirs).filter { $0 == $1 }.count
        return (maxAbs, Double(same) / Double(max(1, mine.count)))
    }

    /// Relative error of a gradient against PyTorch's summary: the sum of |g| and the L2 norm
    /// relative to themselves; the sum, a probe dot product and the first 16 values relative to
    /// the scale they are bounded by (Σ|g|, Σ|g| and max |g| respectively).
    static func gradError(_ g: [Float], _ s: ParityFixture.GradSummary) -> Double {
        let probe = ParityFill.values(s.name + "#probe", count: g.count)
        var sum = 0.0, absSum = 0.0, sqSum = 0.0, dot = 0.0
        for i in 0..<g.count {
            let v = Double(g[i])
            sum += v; absSum += abs(v); sqSum += v * v; dot += v * Double(probe[i])
        }
        let tiny = 1e-12
        var errs = [
            abs(absSum - s.abs_sum) / max(s.abs_sum, tiny),
            abs(sqSum.squareRoot() - s.sq_sum.squareRoot()) / max(s.sq_sum.squareRoot(), tiny),
            abs(sum - s.sum) / max(s.abs_sum, tiny),
            abs(dot - s.probe) / max(s.abs_sum, tiny),
        ]
        for (i, v) in s.first.enumerated() where i < g.count {
            errs.append(abs(Double(g[i]) - v) / max(s.max_abs, tiny))
        }
        return errs.max() ?? 0
    }
}

extension XCTestCase {
    /// Runs `body` on the oneDNN backend with released buffers poisoned (a read after release
    /// shows as NaN), and checks that no op fell back to the reference backend.
    func onDNNL(_ body: () throws -> Void) throws {
        let dnnl = try XCTUnwrap(DNNLBackend.shared, "oneDNN unavailable: \(DNNLBackend.unavailableReason ?? "?")")
        let saved = Backends.current
        Backends.current = dnnl
        BufferPool.shared.poisonsReturnedBuffers = true
        defer {
            Backends.current = saved
            BufferPool.shared.poisonsReturnedBuffers = false
        }
        try body()
        XCTAssertEqual(dnnl.fallbacks, [:], "ops fell back to the reference backend")
    }
}
