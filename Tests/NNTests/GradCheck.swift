import XCTest
@testable import NN
import TestSupport

/// Central finite-difference gradient checks: loss = Σ f(inputs)·w with a fixed random `w`;
/// every input element is perturbed by ±h and (L(x+h) − L(x−h)) / 2h compared with the
/// analytic gradient: max |analytic − numeric| ≤ rtol · max(max |numeric|, floor).
func gradCheck(_ label: String, _ inputs: [Tensor], h: Float = 1e-2, rtol: Float = 1e-3, floor: Float = 1e-2,
               seed: UInt64 = 7, before: () -> Void = {}, file: StaticString = #filePath, line: UInt = #line,
               _ f: ([Tensor]) -> Tensor) {
    before()
    let probe = GradMode.withoutGrad { f(inputs) }
    let w = Tensor(zeros: probe.shape)
    Generator(seed: seed).fillUniform(w.data, count: w.count, low: -1, high: 1)
    for t in inputs { t.requiresGrad = true; t.grad = nil }
    before()
    weightedSum(f(inputs), w).backward()
    for (k, t) in inputs.enumerated() {
        guard let analytic = t.grad?.array else { XCTFail("\(label): input \(k) got no gradient", file: file, line: line); continue }
        var numeric = [Float](repeating: 0, count: t.count)
        for i in 0..<t.count {
            let saved = t.data[i]
            t.data[i] = saved + h; t.storage.markModified()
            before()
            let lp = GradMode.withoutGrad { weightedSum(f(inputs), w).item }
            t.data[i] = saved - h; t.storage.markModified()
            before()
            let lm = GradMode.withoutGrad { weightedSum(f(inputs), w).item }
            t.data[i] = saved; t.storage.markModified()
            numeric[i] = (lp - lm) / (2 * h)
        }
        let scale = max(numeric.map { abs($0) }.max() ?? 0, floor)
        assertClose(analytic, numeric, shape: t.shape, rtol: 0, atol: rtol * scale, "\(label) d/dinput\(k)", file: file, line: line)
    }
    for t in inputs { t.requiresGrad = false; t.grad = nil }
}

/// A seeded tensor with values in [-1, 1).
func randomTensor(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1) -> Tensor {
    let t = Tensor(zeros: shape)
    Generator(seed: seed).fillUniform(t.data, count: t.count, low: low, high: high)
    return t
}

/// A seeded tensor whose values are distinct and at least `gap` apart, none within `gap` of 0
/// (finite differences of max / ReLU never cross a kink).
func separatedTensor(_ shape: [Int], seed: UInt64, gap: Float = 0.05) -> Tensor {
    let n = shape.reduce(1, *)
    var values = (0..<n).map { Float($0 - n / 2) * gap + (($0 - n / 2) >= 0 ? gap / 2 : -gap / 2) }
    let g = Generator(seed: seed)
    for i in stride(from: n - 1, to: 0, by: -1) { values.swapAt(i, g.int(below: i + 1)) }
    return Tensor(shape: shape, values: values)
}
