import Foundation

/// A height and width in pixels.
public struct Size2D: Sendable, Codable, Equatable, CustomStringConvertible {
    public var height: Int
    public var width: Int
    public init(height: Int, width: Int) {
        self.height = height
        self.width = width
    }
    public var description: String { "\(width)x\(height)" }

    /// Parses "W", "WxH" (e.g. "320x480" is 320 wide, 480 high).
    public init?(parsing text: String) {
        let parts = text.lowercased().split(separator: "x").map { Int($0) }
        if parts.count == 1, let s = parts[0], s > 0 {
            self.init(height: s, width: s)
        } else if parts.count == 2, let w = parts[0], let h = parts[1], w > 0, h > 0 {
            self.init(height: h, width: w)
        } else {
            return nil
        }
    }
}

/// How image tensors are scaled.
public enum Normalization: String, Sendable, Codable, CaseIterable {
    /// (x / 255 − mean) / std with ImageNet's statistics (torchvision, d2l).
    case imagenet
    /// x / 255, in [0, 1] (the Keras / TF2 examples).
    case unit

    public static let imagenetMean: SIMD3<Float> = [0.485, 0.456, 0.406]
    public static let imagenetStd: SIMD3<Float> = [0.229, 0.224, 0.225]
}

/// What happens to an image smaller than the crop.
public enum SmallImagePolicy: String, Sendable, Codable, CaseIterable {
    /// Skip it (d2l's `filter`); the loader counts how many.
    case drop
    /// Pad it to the crop size: the image with the ImageNet mean colour, the label with 255.
    case pad
}

/// The transforms a loader applies, in this order: random scale → resize → crop → flip →
/// normalize. Image and label always move together.
public struct TransformConfig: Sendable, Codable, Equatable {
    /// Random scale factor range, e.g. 0.5…2.0 (nil: none).
    public var scaleRange: ClosedRange<Float>?
    /// Resize every sample to this size first (bilinear image, nearest label).
    public var resize: Size2D?
    /// Crop this size: a random rectangle when `random`, else the centre.
    public var crop: Size2D?
    public var smallImages: SmallImagePolicy
    /// Flip horizontally with probability 1/2 (only when `random`).
    public var horizontalFlip: Bool
    public var normalization: Normalization
    /// Random (training) or deterministic (evaluation) crops, no flip and no scale.
    public var random: Bool

    public init(scaleRange: ClosedRange<Float>? = nil, resize: Size2D? = nil, crop: Size2D? = nil,
                smallImages: SmallImagePolicy = .pad, horizontalFlip: Bool = false,
                normalization: Normalization = .imagenet, random: Bool = true) {
        self.scaleRange = scaleRange
        self.resize = resize
        self.crop = crop
        self.smallImages = smallImages
        self.horizontalFlip = horizontalFlip
        self.normalization = normalization
        self.random = random
    }

    /// The output size when it is fixed (crop or resize set).
    public var outputSize: Size2D? { crop ?? resize }

    /// Applies the transforms; nil when the sample is dropped for being smaller than the crop.
    public func apply(_ sample: Sample, rng: inout SeededRandom) -> Sample? {
        var s = sample
        if random, let range = scaleRange, range.upperBound > 0 {
            let factor = rng.uniform(range.lowerBound, range.upperBound)
            let w = max(1, Int((Float(s.image.width) * factor).rounded()))
            let h = max(1, Int((Float(s.image.height) * factor).rounded()))
            s = Transforms.resize(s, to: Size2D(height: h, width: w))
        }
        if let resize { s = Transforms.resize(s, to: resize) }
        if let crop {
            if s.image.width < crop.width || s.image.height < crop.height {
                guard smallImages == .pad else { return nil }
                s = Transforms.pad(s, to: crop)
            }
            let x = random ? rng.int(0...(s.image.width - crop.width)) : (s.image.width - crop.width) / 2
            let y = random ? rng.int(0...(s.image.height - crop.height)) : (s.image.height - crop.height) / 2
            s = Transforms.crop(s, x: x, y: y, size: crop)
        }
        if random && horizontalFlip && rng.chance(0.5) { s = Transforms.flipHorizontally(s) }
        return s
    }
}

/// The image + label operations themselves.
public enum Transforms {
    /// The ImageNet mean as a colour, used to pad images.
    public static let meanColor: (r: UInt8, g: UInt8, b: UInt8) = (124, 116, 104)

    /// Crops the same rectangle from image and label. The rectangle must lie inside.
    public static func crop(_ sample: Sample, x: Int, y: Int, size: Size2D) -> Sample {
        let src = sample.image, w = size.width, h = size.height
        precondition(x >= 0 && y >= 0 && x + w <= src.width && y + h <= src.height, "crop outside the image")
        var pixels = [UInt8](repeating: 0, count: w * h * 3)
        var values = [UInt8](repeating: 0, count: w * h)
        src.pixels.withUnsafeBufferPointer { sp in
            pixels.withUnsafeMutableBufferPointer { dp in
                for row in 0..<h {
                    let from = ((y + row) * src.width + x) * 3
                    (dp.baseAddress! + row * w * 3).update(from: sp.baseAddress! + from, count: w * 3)
                }
            }
        }
        sample.label.values.withUnsafeBufferPointer { sp in
            values.withUnsafeMutableBufferPointer { dp in
                for row in 0..<h {
                    (dp.baseAddress! + row * w).update(from: sp.baseAddress! + (y + row) * sample.label.width + x, count: w)
                }
            }
        }
        var out = sample
        out.image = RGBImage(width: w, height: h, pixels: pixels)
        out.label = LabelMap(width: w, height: h, values: values)
        return out
    }

    /// Pads on the right and bottom to at least `size`: the image with the mean colour, the label with 255.
    public static func pad(_ sample: Sample, to size: Size2D) -> Sample {
        let w = max(size.width, sample.image.width), h = max(size.height, sample.image.height)
        var image = RGBImage(width: w, height: h, fill: meanColor)
        var label = LabelMap(width: w, height: h, fill: LabelMap.void)
        let sw = sample.image.width
        sample.image.pixels.withUnsafeBufferPointer { src in
            image.pixels.withUnsafeMutableBufferPointer { dst in
                for y in 0..<sample.image.height {
                    (dst.baseAddress! + y * w * 3).update(from: src.baseAddress! + y * sw * 3, count: sw * 3)
                }
            }
        }
        sample.label.values.withUnsafeBufferPointer { src in
            label.values.withUnsafeMutableBufferPointer { dst in
                for y in 0..<sample.label.height {
                    (dst.baseAddress! + y * w).update(from: src.baseAddress! + y * sw, count: sw)
                }
            }
        }
        var out = sample
        out.image = image
        out.label = label
        return out
    }

    public static func flipHorizontally(_ sample: Sample) -> Sample {
        var out = sample
        let w = sample.image.width, h = sample.image.height
        sample.image.pixels.withUnsafeBufferPointer { src in
            out.image.pixels.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    let row = y * w * 3
                    for x in 0..<w {
                        let d = row + 3 * x, s = row + 3 * (w - 1 - x)
                        dst[d] = src[s]
                        dst[d + 1] = src[s + 1]
                        dst[d + 2] = src[s + 2]
                    }
                }
            }
        }
        sample.label.values.withUnsafeBufferPointer { src in
            out.label.values.withUnsafeMutableBufferPointer { dst in
                for y in 0..<h {
                    for x in 0..<w { dst[y * w + x] = src[y * w + w - 1 - x] }
                }
            }
        }
        return out
    }

    /// Resizes image (bilinear, half-pixel centres as PIL and `tf.image.resize`) and label (nearest).
    public static func resize(_ sample: Sample, to size: Size2D) -> Sample {
        if sample.image.width == size.width && sample.image.height == size.height { return sample }
        var out = sample
        out.image = resizeBilinear(sample.image, to: size)
        out.label = resizeNearest(sample.label, to: size)
        return out
    }

    public static func resizeBilinear(_ image: RGBImage, to size: Size2D) -> RGBImage {
        let sw = image.width, sh = image.height, dw = size.width, dh = size.height
        let sx = Float(sw) / Float(dw), sy = Float(sh) / Float(dh)
        var x0 = [Int](repeating: 0, count: dw), x1 = x0, fx = [Float](repeating: 0, count: dw)
        for x in 0..<dw {
            let p = max(0, (Float(x) + 0.5) * sx - 0.5)
            x0[x] = min(Int(p), sw - 1)
            x1[x] = min(x0[x] + 1, sw - 1)
            fx[x] = p - Float(Int(p))
        }
        var pixels = [UInt8](repeating: 0, count: dw * dh * 3)
        image.pixels.withUnsafeBufferPointer { src in
            pixels.withUnsafeMutableBufferPointer { dst in
                for y in 0..<dh {
                    let p = max(0, (Float(y) + 0.5) * sy - 0.5)
                    let y0 = min(Int(p), sh - 1), y1 = min(y0 + 1, sh - 1)
                    let fy = p - Float(Int(p))
                    let r0 = y0 * sw * 3, r1 = y1 * sw * 3
                    for x in 0..<dw {
                        let a = x0[x] * 3, b = x1[x] * 3, f = fx[x]
                        for c in 0..<3 {
                            let top = Float(src[r0 + a + c]) + (Float(src[r0 + b + c]) - Float(src[r0 + a + c])) * f
                            let bottom = Float(src[r1 + a + c]) + (Float(src[r1 + b + c]) - Float(src[r1 + a + c])) * f
                            dst[(y * dw + x) * 3 + c] = UInt8(min(255, max(0, top + (bottom - top) * fy + 0.5)))
                        }
                    }
                }
            }
        }
        return RGBImage(width: dw, height: dh, pixels: pixels)
    }

    public static func resizeNearest(_ label: LabelMap, to size: Size2D) -> LabelMap {
        let sw = label.width, sh = label.height, dw = size.width, dh = size.height
        let xs = (0..<dw).map { min(sw - 1, Int((Float($0) + 0.5) * Float(sw) / Float(dw))) }
        var values = [UInt8](repeating: 0, count: dw * dh)
        for y in 0..<dh {
            let sy = min(sh - 1, Int((Float(y) + 0.5) * Float(sh) / Float(dh)))
            for x in 0..<dw { values[y * dw + x] = label.values[sy * sw + xs[x]] }
        }
        return LabelMap(width: dw, height: dh, values: values)
    }

    /// Writes the image as planar CHW Float32 (`3 * height * width` values) normalised by `mode`.
    public static func normalize(_ image: RGBImage, _ mode: Normalization, into out: UnsafeMutablePointer<Float>) {
        let n = image.width * image.height
        let scale: SIMD3<Float>, shift: SIMD3<Float>
        switch mode {
        case .unit:
            scale = SIMD3(repeating: 1 / 255)
            shift = .zero
        case .imagenet:
            scale = 1 / (255 * Normalization.imagenetStd)
            shift = -Normalization.imagenetMean / Normalization.imagenetStd
        }
        image.pixels.withUnsafeBufferPointer { p in
            let r = out, g = out + n, b = out + 2 * n
            for i in 0..<n {
                r[i] = Float(p[3 * i]) * scale.x + shift.x
                g[i] = Float(p[3 * i + 1]) * scale.y + shift.y
                b[i] = Float(p[3 * i + 2]) * scale.z + shift.z
            }
        }
    }

    /// The image as a CHW Float32 array.
    public static func normalized(_ image: RGBImage, _ mode: Normalization) -> [Float] {
        [Float](unsafeUninitializedCapacity: 3 * image.width * image.height) { buffer, count in
            normalize(image, mode, into: buffer.baseAddress!)
            count = 3 * image.width * image.height
        }
    }
}
