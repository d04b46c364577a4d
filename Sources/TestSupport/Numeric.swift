import Foundation
import NN
import XCTest

/// Numeric comparisons for tests, printing what a failing case needs to be understood (llm.c's
/// `check_tensor`): the shape, the first mismatches with their indices, and the largest difference.
public enum Numeric {
    /// Indices where `|a − b| > atol + rtol·|b|`, and the max abs difference.
    public static func compare(_ a: [Float], _ b: [Float], rtol: Float, atol: Float) -> (bad: [Int], maxDiff: Float, maxAt: Int) {
        var bad: [Int] = []
        var maxDiff: Float = 0, maxAt = 0
        for i in 0..<min(a.count, b.count) {
            let d = abs(a[i] - b[i])
            if d > maxDiff || d.isNaN { maxDiff = d; maxAt = i }
            if !(d <= atol + rtol * abs(b[i])) { bad.append(i) }
        }
        return (bad, maxDiff, maxAt)
    }
}

/// Asserts `actual` ≈ `expected` elementwise (`|a − e| ≤ atol + rtol·|e|`), shapes equal.
public func assertClose(_ actual: [Float], _ expected: [Float], shape: [Int] = [], rtol: Float = 1e-4, atol: Float = 1e-5,
                        _ label: String = "", file: StaticString = #filePath, line: UInt = #line) {
    guard actual.count == expected.count else {
        XCTFail("\(label): \(actual.count) values vs \(expected.count) expected (shape \(shape))", file: file, line: line)
        return
    }
    let (bad, maxDiff, maxAt) = Numeric.compare(actual, expected, rtol: rtol, atol: atol)
    if bad.isEmpty { return }
    let first = bad.prefix(5).map { i in "[\(i)] \(actual[i]) vs \(expected[i])" }.joined(separator: ", ")
    XCTFail("\(label): \(bad.count)/\(actual.count) mismatches (shape \(shape), rtol \(rtol), atol \(atol)); first: \(first); "
            + "max |diff| \(maxDiff) at [\(maxAt)] (\(actual[maxAt]) vs \(expected[maxAt]))", file: file, line: line)
}

/// Asserts two tensors are close (shapes must match).
public func assertClose(_ actual: Tensor, _ expected: Tensor, rtol: Float = 1e-4, atol: Float = 1e-5,
                        _ label: String = "", file: StaticString = #filePath, line: UInt = #line) {
    guard actual.shape == expected.shape else {
        XCTFail("\(label): shape \(actual.shape) vs expected \(expected.shape)", file: file, line: line)
        return
    }
    assertClose(actual.array, expected.array, shape: actual.shape, rtol: rtol, atol: atol, label, file: file, line: line)
}

/// Asserts `actual` ≈ `expected` with an error bound relative to the expected values' magnitude:
/// `max |a − e| ≤ tol · max(1, max |e|)`.
public func assertCloseScaled(_ actual: [Float], _ expected: [Float], shape: [Int] = [], tol: Float = 1e-4,
                              _ label: String = "", file: StaticString = #filePath, line: UInt = #line) {
    let magnitude = max(1, expected.map { abs($0) }.max() ?? 0)
    assertClose(actual, expected, shape: shape, rtol: 0, atol: tol * magnitude, label, file: file, line: line)
}
