import Foundation

/// A rectangle of an image, in pixels: rows `y ..< y + height`, columns `x ..< x + width`.
public struct PixelRect: Sendable, Equatable, CustomStringConvertible {
    public var x: Int, y: Int, width: Int, height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var description: String { "(\(x),\(y)) \(width)x\(height)" }
}

/// Inference geometry for images of any size, independent of the model: the model is a closure
/// from an image region to logits for that region.
public enum Inference {
    public struct GeometryError: Error, CustomStringConvertible, Equatable {
        public let message: String
        public var description: String { message }
    }

    /// The windows of MMSegmentation's `slide_inference` (mmseg/models/segmentors/encoder_decoder.py):
    ///
    ///     h_grids = max(H − h_crop + h_stride − 1, 0) // h_stride + 1      (same for w)
    ///     y1 = h_idx · h_stride;  y2 = min(y1 + h_crop, H);  y1 = max(y2 − h_crop, 0)
    ///
    /// so the last window in each direction is shifted back to end at the image border, and an
    /// image smaller than the window gets one window of the image's own size.
    public static func slidingWindows(height: Int, width: Int, window: PixelSize, stride: PixelSize) throws -> [PixelRect] {
        guard height > 0, width > 0 else { throw GeometryError(message: "image is \(width)x\(height); nothing to predict") }
        guard window.height > 0, window.width > 0, stride.height > 0, stride.width > 0 else {
            throw GeometryError(message: "window \(window) and stride \(stride) must be positive")
        }
        let hGrids = max(height - window.height + stride.height - 1, 0) / stride.height + 1
        let wGrids = max(width - window.width + stride.width - 1, 0) / stride.width + 1
        var rects: [PixelRect] = []
        rects.reserveCapacity(hGrids * wGrids)
        for h in 0..<hGrids {
            for w in 0..<wGrids {
                var y1 = h * stride.height, x1 = w * stride.width
                let y2 = min(y1 + window.height, height), x2 = min(x1 + window.width, width)
                y1 = max(y2 - window.height, 0)
                x1 = max(x2 - window.width, 0)
                rects.append(PixelRect(x: x1, y: y1, width: x2 - x1, height: y2 - y1))
            }
        }
        return rects
    }

    /// Sliding-window logits: each window's logits (`classes × h × w`, CHW, for exactly that
    /// window's size) are summed into a full-size map, then divided by how many windows covered
    /// each pixel. Returns `classes × height × width`.
    public static func slidingWindowLogits(height: Int, width: Int, classes: Int, window: PixelSize, stride: PixelSize,
                                           logits: (PixelRect) throws -> [Float]) throws -> [Float] {
        guard classes > 0 else { throw GeometryError(message: "classes must be positive, got \(classes)") }
        let rects = try slidingWindows(height: height, width: width, window: window, stride: stride)
        let plane = height * width
        var sum = [Float](repeating: 0, count: classes * plane)
        var count = [Float](repeating: 0, count: plane)
        for rect in rects {
            let crop = try logits(rect)
            let cropPlane = rect.width * rect.height
            guard crop.count == classes * cropPlane else {
                throw GeometryError(message: "logits for window \(rect) have \(crop.count) values; expected \(classes)×\(rect.height)×\(rect.width) = \(classes * cropPlane)")
            }
            sum.withUnsafeMutableBufferPointer { s in
                crop.withUnsafeBufferPointer { c in
                    for k in 0..<classes {
                        for row in 0..<rect.height {
                            let dst = k * plane + (rect.y + row) * width + rect.x
                            let src = k * cropPlane + row * rect.width
                            for col in 0..<rect.width { s[dst + col] += c[src + col] }
                        }
                    }
                }
            }
            for row in 0..<rect.height {
                let base = (rect.y + row) * width + rect.x
                for col in 0..<rect.width { count[base + col] += 1 }
            }
        }
        // Every pixel is covered by construction; guard anyway so a geometry bug cannot divide by 0.
        guard !count.contains(0) else { throw GeometryError(message: "some pixels are covered by no window") }
        for k in 0..<classes {
            for i in 0..<plane { sum[k * plane + i] /= count[i] }
        }
        return sum
    }

    /// The size whole-image inference pads to so a network with total stride `multiple` (32 for
    /// FCN-ResNet18, 16 for xunet) sees whole cells; logits are cropped back to the image.
    public static func paddedSize(height: Int, width: Int, multiple: Int) -> PixelSize {
        let m = max(1, multiple)
        return PixelSize(height: (height + m - 1) / m * m, width: (width + m - 1) / m * m)
    }

    /// Crops `classes × paddedHeight × paddedWidth` logits to the top-left `height × width`.
    public static func crop(_ logits: [Float], classes: Int, from padded: PixelSize, toHeight height: Int, width: Int) throws -> [Float] {
        guard logits.count == classes * padded.height * padded.width, height <= padded.height, width <= padded.width else {
            throw GeometryError(message: "cannot crop \(classes)×\(padded) logits (\(logits.count) values) to \(height)x\(width)")
        }
        var out = [Float](repeating: 0, count: classes * height * width)
        for k in 0..<classes {
            for y in 0..<height {
                let src = (k * padded.height + y) * padded.width
                let dst = (k * height + y) * width
                for x in 0..<width { out[dst + x] = logits[src + x] }
            }
        }
        return out
    }

    /// Cross-entropy of CHW logits against a label map, summed over the labelled pixels (labels
    /// below `classes`; void 255 and anything else ignored, as `ignore_index=255`), with the
    /// number of those pixels. Log-sum-exp with the maximum subtracted, in Double.
    public static func crossEntropySum(_ logits: [Float], classes: Int, labels: [UInt8]) -> (sum: Double, pixels: Int) {
        let plane = labels.count
        guard classes > 0, logits.count >= classes * plane else { return (0, 0) }
        var sum = 0.0, pixels = 0
        for i in 0..<plane where Int(labels[i]) < classes {
            var top = -Float.infinity
            for k in 0..<classes { top = max(top, logits[k * plane + i]) }
            var total = 0.0
            for k in 0..<classes { total += exp(Double(logits[k * plane + i] - top)) }
            sum += log(total) + Double(top) - Double(logits[Int(labels[i]) * plane + i])
            pixels += 1
        }
        return (sum, pixels)
    }

    /// The softmax probability of each labelled pixel's own label (cleanlab's self-confidence),
    /// in pixel order; void / out-of-range labels are left out.
    public static func selfConfidence(_ logits: [Float], classes: Int, labels: [UInt8]) -> [Double] {
        let plane = labels.count
        guard classes > 0, logits.count >= classes * plane else { return [] }
        var out: [Double] = []
        out.reserveCapacity(plane)
        for i in 0..<plane where Int(labels[i]) < classes {
            var top = -Float.infinity
            for k in 0..<classes { top = max(top, logits[k * plane + i]) }
            var total = 0.0
            for k in 0..<classes { total += exp(Double(logits[k * plane + i] - top)) }
            out.append(exp(Double(logits[Int(labels[i]) * plane + i] - top)) / total)
        }
        return out
    }

    /// Per-pixel argmax over classes of CHW logits (first maximum wins, as `torch.argmax`).
    public static func argmax(_ logits: [Float], classes: Int, height: Int, width: Int) -> [UInt8] {
        let plane = height * width
        var out = [UInt8](repeating: 0, count: plane)
        guard classes > 0, logits.count >= classes * plane else { return out }
        var best = Array(logits[0..<plane])
        for k in 1..<max(1, classes) {
            let base = k * plane
            for i in 0..<plane where logits[base + i] > best[i] {
                best[i] = logits[base + i]
                out[i] = UInt8(truncatingIfNeeded: k)
            }
        }
        return out
    }
}
