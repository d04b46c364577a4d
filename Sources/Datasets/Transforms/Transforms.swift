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
    /// MMSegmentation's `RandomResize` (applied after `scaleRange`, before `resize`; only when `random`).
    public var randomResize: RandomResize? = nil
    /// MMSegmentation's `RandomCrop(cat_max_ratio)`: up to 10 more draws while one class covers
    /// at least this share of the crop's labelled pixels; 1 = off.
    public var catMaxRatio: Float = 1
    /// Probability of the horizontal flip when `horizontalFlip` is on.
    public var flipProbability: Float = 0.5
    /// MMSegmentation's `PhotoMetricDistortion` with its defaults, after the flip (image only).
    public var photometric: Bool = false

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
        if random, let randomResize {
            s = Transforms.resize(s, to: randomResize.size(height: s.image.height, width: s.image.width, rng: &rng))
        }
        if let resize { s = Transforms.resize(s, to: resize) }
        if let crop {
            if s.image.width < crop.width || s.image.height < crop.height {
                guard smallImages == .pad else { return nil }
                s = Transforms.pad(s, to: crop)
            }
            var x = random ? rng.int(0...(s.image.width - crop.width)) : (s.image.width - crop.width) / 2
            var y = random ? rng.int(0...(s.image.height - crop.height)) : (s.image.height - crop.height) / 2
            if random && catMaxRatio < 1 {
                // MMSeg: at most 10 redraws; the last draw is kept when none passes.
                for _ in 0..<10 {
                    if Transforms.largestClassShare(s.label, x: x, y: y, size: crop).passes(catMaxRatio) { break }
                    x = rng.int(0...(s.image.width - crop.width))
                    y = rng.int(0...(s.image.height - crop.height))
                }
            }
            s = Transforms.crop(s, x: x, y: y, size: crop)
        }
        if random && horizontalFlip && rng.chance(flipProbability) { s = Transforms.flipHorizontally(s) }
        if random && photometric { s.image = PhotoMetricDistortion().apply(s.image, rng: &rng) }
        return s
    }
}

/// MMSegmentation's `RandomResize(scale, ratio_range, keep_ratio)`: a ratio r uniform in
/// `ratioRange` scales the target `scale` (nil: the image's own size); with `keepRatio` the
/// image is rescaled to fit inside it (mmcv's `rescale_size`: factor min(long / long side,
/// short / short side)), else resized to it exactly.
public struct RandomResize: Sendable, Codable, Equatable {
    public var scale: Size2D?
    public var ratioRange: ClosedRange<Float>
    public var keepRatio: Bool

    public init(scale: Size2D?, ratioRange: ClosedRange<Float>, keepRatio: Bool = true) {
        self.scale = scale
        self.ratioRange = ratioRange
        self.keepRatio = keepRatio
    }

    /// The size an image of `height × width` is resized to for ratio `r`.
    public func size(height: Int, width: Int, ratio r: Float) -> Size2D {
        guard let scale else {
            return Size2D(height: max(1, Int((Float(height) * r).rounded())), width: max(1, Int((Float(width) * r).rounded())))
        }
        let th = Float(scale.height) * r, tw = Float(scale.width) * r
        guard keepRatio else { return Size2D(height: max(1, Int(th)), width: max(1, Int(tw))) }
        let factor = min(max(th, tw) / Float(max(height, width)), min(th, tw) / Float(min(height, width)))
        return Size2D(height: max(1, Int(Float(height) * factor + 0.5)), width: max(1, Int(Float(width) * factor + 0.5)))
    }

    /// Draws the ratio and returns the size.
    public func size(height: Int, width: Int, rng: inout SeededRandom) -> Size2D {
        let r = ratioRange.lowerBound == ratioRange.upperBound ? ratioRange.lowerBound
            : rng.uniform(ratioRange.lowerBound, ratioRange.upperBound)
        return size(height: height, width: width, ratio: r)
    }
}

/// MMSegmentation's `PhotoMetricDistortion` with its defaults: brightness (p 0.5, +U(−32, 32)),
/// contrast (p 0.5, ×U(0.5, 1.5)) before or after (p 0.5 each) saturation (p 0.5, ×U(0.5, 1.5))
/// and hue (p 0.5, + an integer in [−18, 18) on OpenCV's 0…180 scale). Brightness and contrast
/// clip to 0…255 and truncate to bytes as mmseg's `convert` does; saturation and hue go through
/// HSV in floating point (OpenCV rounds its 8-bit HSV; the difference is within a grey level or two).
public struct PhotoMetricDistortion: Sendable, Equatable {
    public var brightnessDelta: Float = 32
    public var contrastRange: ClosedRange<Float> = 0.5...1.5
    public var saturationRange: ClosedRange<Float> = 0.5...1.5
    public var hueDelta: Int = 18

    public init() {}

    public func apply(_ image: RGBImage, rng: inout SeededRandom) -> RGBImage {
        var out = image
        if rng.int(0...1) == 1 { Self.convert(&out, alpha: 1, beta: rng.uniform(-brightnessDelta, brightnessDelta)) }
        let contrastFirst = rng.int(0...1) == 1
        if contrastFirst, rng.int(0...1) == 1 {
            Self.convert(&out, alpha: rng.uniform(contrastRange.lowerBound, contrastRange.upperBound), beta: 0)
        }
        var saturation: Float = 1, hue = 0
        if rng.int(0...1) == 1 { saturation = rng.uniform(saturationRange.lowerBound, saturationRange.upperBound) }
        if rng.int(0...1) == 1 { hue = rng.int(-hueDelta...(hueDelta - 1)) }
        if saturation != 1 || hue != 0 { Self.adjustHSV(&out, saturation: saturation, hueShift: hue) }
        if !contrastFirst, rng.int(0...1) == 1 {
            Self.convert(&out, alpha: rng.uniform(contrastRange.lowerBound, contrastRange.upperBound), beta: 0)
        }
        return out
    }

    /// x · alpha + beta, clipped to 0…255 and truncated (mmseg's `convert`).
    public static func convert(_ image: inout RGBImage, alpha: Float, beta: Float) {
        image.pixels.withUnsafeMutableBufferPointer { p in
            for i in p.indices { p[i] = UInt8(min(255, max(0, Float(p[i]) * alpha + beta))) }
        }
    }

    /// Saturation × `saturation` (clipped to 1) and hue + `hueShift` steps of 2° (OpenCV's 8-bit hue scale).
    public static func adjustHSV(_ image: inout RGBImage, saturation: Float, hueShift: Int) {
        let shift = Float(hueShift) * 2
        image.pixels.withUnsafeMutableBufferPointer { p in
            for i in stride(from: 0, to: p.count, by: 3) {
                let r = Float(p[i]), g = Float(p[i + 1]), b = Float(p[i + 2])
                let v = max(r, g, b), mn = min(r, g, b), d = v - mn
                guard d > 0 else { continue }   // grey: no hue, no saturation
                var h: Float
                if v == r { h = 60 * (g - b) / d } else if v == g { h = 120 + 60 * (b - r) / d } else { h = 240 + 60 * (r - g) / d }
                h += shift
                h = h.truncatingRemainder(dividingBy: 360)
                if h < 0 { h += 360 }
                let s = min(1, d / v * saturation)
                // HSV → RGB.
                let c = v * s, x = c * (1 - abs((h / 60).truncatingRemainder(dividingBy: 2) - 1)), m = v - c
                let (r1, g1, b1): (Float, Float, Float)
                switch Int(h / 60) {
                case 0: (r1, g1, b1) = (c, x, 0)
                case 1: (r1, g1, b1) = (x, c, 0)
                case 2: (r1, g1, b1) = (0, c, x)
                case 3: (r1, g1, b1) = (0, x, c)
                case 4: (r1, g1, b1) = (x, 0, c)
                default: (r1, g1, b1) = (c, 0, x)
                }
                p[i] = UInt8(min(255, max(0, (r1 + m).rounded())))
                p[i + 1] = UInt8(min(255, max(0, (g1 + m).rounded())))
                p[i + 2] = UInt8(min(255, max(0, (b1 + m).rounded())))
            }
        }
    }
}

/// The image + label operations themselves.
public enum Transforms {
    /// The ImageNet mean as a colour, used to pad images.
    public static let meanColor: (r: UInt8, g: UInt8, b: UInt8) = (124, 116, 104)

    /// The largest class's pixel count and the labelled (non-void) pixel count of a rectangle
    /// of `label`, and how many classes it holds (MMSeg's `cat_max_ratio` test).
    public static func largestClassShare(_ label: LabelMap, x: Int, y: Int, size: Size2D) -> ClassShare {
        var counts = [Int](repeating: 0, count: 256)
        label.values.withUnsafeBufferPointer { v in
            for row in y..<(y + size.height) {
                let start = row * label.width + x
                for i in start..<(start + size.width) { counts[Int(v[i])] += 1 }
            }
        }
        counts[Int(LabelMap.void)] = 0
        return ClassShare(largest: counts.max() ?? 0, labelled: counts.reduce(0, +), classes: counts.filter { $0 > 0 }.count)
    }

    public struct ClassShare: Sendable, Equatable {
        public var largest: Int, labelled: Int, classes: Int
        /// MMSeg's test: more than one class and the largest below `ratio` of the labelled pixels.
        public func passes(_ ratio: Float) -> Bool { classes > 1 && Float(largest) / Float(labelled) < ratio }
    }

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

    /// The image mirrored left–right.
    public static func flipHorizontally(image: RGBImage) -> RGBImage {
        flipHorizontally(Sample(id: "", image: image, label: LabelMap(width: image.width, height: image.height))).image
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
