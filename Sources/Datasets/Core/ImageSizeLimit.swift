import Foundation

/// The one rule for how large an input Segscope takes (issue #16, D-144). Three bounds:
///
/// - **Decoding**: no image above `maxDecodedPixels` (2^28, 16384×16384) is decoded at all; the
///   C decoders (`CIMG_MAX_PIXELS` in `imageio.c`, the same number) refuse it from the header,
///   before any pixel buffer exists.
/// - **One forward pass**: at most `wholeImagePixels` (config key `max_whole_image_pixels`,
///   default 2^22 = 2048×2048) go through the network at once. Whole-image inference of a larger
///   image runs in overlapping tiles merged on the logits (`tile(multiple:)`); a training step's
///   `crop × batch` must fit.
/// - **One prediction's full-size buffers** (normalised input, summed logits, window counts):
///   at most `memoryBytes` (default: half of this machine's memory); above it the image is
///   refused with its file, size and this limit, before anything is allocated.
///
/// `data check`, `predict` / `eval` (the `Predictor`), training's config validation and the
/// launcher all ask this type.
public struct ImageSizeLimit: Sendable, Equatable {
    /// Largest image decoded (pixels). Mirrors `CIMG_MAX_PIXELS` in `Sources/CImageIO/imageio.c`.
    public static let maxDecodedPixels = 1 << 28
    /// Default for `max_whole_image_pixels`: 2048×2048.
    public static let defaultWholeImagePixels = 1 << 22
    /// Smallest sensible `max_whole_image_pixels`: one 64×64 window (unet's stride).
    public static let minWholeImagePixels = 64 * 64
    /// Half of the physical memory of this machine.
    public static var defaultMemoryBytes: Int { Int(min(ProcessInfo.processInfo.physicalMemory / 2, UInt64(Int.max))) }

    public var wholeImagePixels: Int
    public var memoryBytes: Int

    public init(wholeImagePixels: Int = ImageSizeLimit.defaultWholeImagePixels, memoryBytes: Int = ImageSizeLimit.defaultMemoryBytes) {
        self.wholeImagePixels = max(ImageSizeLimit.minWholeImagePixels, wholeImagePixels)
        self.memoryBytes = memoryBytes
    }

    /// How an image of this size is predicted.
    public enum Plan: Equatable, Sendable {
        /// One forward pass over the (stride-padded) image.
        case whole
        /// Overlapping square tiles of `tile` pixels a side, stride two thirds of it.
        case tiled(tile: Int, windows: Int)
        /// Not at all: `reason` names the size and the limit.
        case refused(reason: String)
    }

    /// Bytes whole-image or sliding-window inference holds at the image's own size: the
    /// normalised CHW input (3 floats a pixel), the summed logits (`classes` floats) and the
    /// window counts (1 float).
    public static func predictionBytes(height: Int, width: Int, classes: Int) -> Int {
        let pixels = height.multipliedReportingOverflow(by: width)
        let perPixel = (3 + max(1, classes) + 1) * MemoryLayout<Float>.size
        let bytes = pixels.partialValue.multipliedReportingOverflow(by: perPixel)
        return pixels.overflow || bytes.overflow ? Int.max : bytes.partialValue
    }

    /// The plan for an image of `height × width` and a network of total stride `multiple` with
    /// `classes` outputs.
    public func plan(height: Int, width: Int, classes: Int, multiple: Int) -> Plan {
        let m = max(1, multiple)
        guard height > 0, width > 0 else { return .refused(reason: "image is \(width)x\(height); nothing to predict") }
        let pixels = height.multipliedReportingOverflow(by: width)
        if pixels.overflow || pixels.partialValue > Self.maxDecodedPixels {
            return .refused(reason: "\(width)x\(height) is above the limit of \(Self.describe(pixels: Self.maxDecodedPixels)) an image may have")
        }
        let bytes = Self.predictionBytes(height: height, width: width, classes: classes)
        if bytes > memoryBytes {
            return .refused(reason: "\(width)x\(height) needs \(Self.describe(bytes: bytes)) for its full-size prediction buffers "
                            + "(\(classes) classes), above the limit of \(Self.describe(bytes: memoryBytes)) for one prediction; "
                            + "downscale or split the image")
        }
        let paddedH = (height + m - 1) / m * m, paddedW = (width + m - 1) / m * m
        if paddedH * paddedW <= wholeImagePixels { return .whole }
        let side = tile(multiple: m)
        let stride = Self.tileStride(side)
        let rows = max(height - side + stride - 1, 0) / stride + 1
        let columns = max(width - side + stride - 1, 0) / stride + 1
        return .tiled(tile: side, windows: rows * columns)
    }

    /// The tile side for images above `wholeImagePixels`: the largest multiple of `multiple`
    /// whose square fits (at least one `multiple`).
    public func tile(multiple: Int) -> Int {
        let m = max(1, multiple)
        let side = Int(Double(wholeImagePixels).squareRoot())
        return max(m, side / m * m)
    }

    /// Tiles overlap by a third, as MMSegmentation's sliding window (512 / 341).
    public static func tileStride(_ side: Int) -> Int { max(1, (side * 2 + 2) / 3) }

    /// Why a training step of `batch` crops of `height × width` is one forward pass too large,
    /// or nil when it fits.
    public func trainingProblem(cropHeight: Int, cropWidth: Int, batch: Int) -> String? {
        let pixels = cropHeight.multipliedReportingOverflow(by: cropWidth)
        let total = pixels.partialValue.multipliedReportingOverflow(by: max(1, batch))
        if pixels.overflow || total.overflow || total.partialValue > wholeImagePixels {
            return "crop \(cropHeight)x\(cropWidth) × batch \(batch) = \(total.overflow ? "too many" : String(total.partialValue)) pixels "
                + "in one forward pass, above max_whole_image_pixels (\(wholeImagePixels))"
        }
        return nil
    }

    static func describe(pixels: Int) -> String {
        let side = Int(Double(pixels).squareRoot())
        return side * side == pixels ? "\(pixels) pixels (\(side)x\(side))" : "\(pixels) pixels"
    }

    static func describe(bytes: Int) -> String {
        if bytes == Int.max { return "more memory than can be addressed" }
        return String(format: "%.1f GB", Double(bytes) / 1e9)
    }
}

/// An input refused by `ImageSizeLimit`: which file or sample, its size, and the limit.
public struct InputTooLargeError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
