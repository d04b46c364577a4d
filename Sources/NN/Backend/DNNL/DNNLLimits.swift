import Foundation

/// The largest tensor handed to oneDNN (issue #16, D-144): 2^31 − 1 elements. oneDNN 2.6's x64
/// kernels compute parts of their offsets in 32-bit `int` (brgemm convolution's `dim_od = nb_oh *
/// dim_oh`, oneDNN issue #1468 against v2.6), so a larger tensor may index out of bounds (a
/// segfault, not an error status). Every memory descriptor is made by `dnnlDesc`, which asks
/// `check`: a larger tensor makes the primitive fail to build, so optional primitives fall back
/// to the reference backend and required ones stop with this message — never a segfault.
/// `ImageSizeLimit` (Datasets) keeps inputs far below this (tiles of at most
/// `max_whole_image_pixels`), so reaching it means a caller skipped that rule.
public enum DNNLLimits {
    public static let maxElements = Int(Int32.max)

    public struct TooLarge: Error, CustomStringConvertible, Equatable {
        public let dims: [Int]
        public var description: String {
            let count = dims.reduce(1) { $0.multipliedReportingOverflow(by: max(0, $1)).partialValue }
            return "tensor \(dims) has \(count) elements, above the \(DNNLLimits.maxElements) oneDNN's 32-bit offsets can index; "
                + "predict large images in tiles (max_whole_image_pixels) or select --backend reference"
        }
    }

    /// Throws `TooLarge` when `dims` hold more than `maxElements` elements (or overflow `Int`).
    public static func check(_ dims: [Int]) throws {
        var count = 1
        for d in dims {
            let (product, overflow) = count.multipliedReportingOverflow(by: max(0, d))
            if overflow || product > maxElements { throw TooLarge(dims: dims) }
            count = product
        }
    }
}
