import Foundation

/// torchvision's preprocessing of a photo for its segmentation weights, as the tutorials run it
/// on a PIL image: `Resize(N)` (shorter side to N, the longer `int(N · long / short)`, Pillow's
/// antialiased bilinear resize), optionally `CenterCrop(C)`, then ImageNet mean / std. The preset
/// of the weights (`SemanticSegmentation(resize_size=520)`) is `resize: 520` without a crop;
/// torchvision's segmentation tutorial uses `Resize(256)` + `CenterCrop(224)`.
public struct TorchvisionPreprocessing: Sendable, Equatable {
    /// The shorter side of torchvision's segmentation preset.
    public static let presetResize = 520

    /// The shorter side after resizing; nil keeps the photo's size.
    public var resize: Int?
    /// The side of the centre crop taken from the resized image; nil takes all of it.
    public var centerCrop: Int?

    public init(resize: Int? = TorchvisionPreprocessing.presetResize, centerCrop: Int? = nil) {
        self.resize = resize
        self.centerCrop = centerCrop
    }

    /// Where the network's input comes from: the resized size, the crop in it, and the crop's
    /// box in the photo (what the logits are resized back onto).
    public struct Plan: Sendable, Equatable {
        public var resized: Size2D
        /// The crop in the resized image: left, top and its size.
        public var cropX: Int, cropY: Int
        public var crop: Size2D
        /// The crop's box in the photo, `[x0, x1) × [y0, y1)`: the whole photo without a crop.
        public var box: (x0: Int, y0: Int, x1: Int, y1: Int)

        public static func == (a: Plan, b: Plan) -> Bool {
            a.resized == b.resized && a.cropX == b.cropX && a.cropY == b.cropY && a.crop == b.crop
                && a.box == b.box
        }
    }

    /// torchvision's `Resize(n)` output size for a `width × height` image (`_compute_resized_output_size`).
    public static func resizedSize(width: Int, height: Int, shorter n: Int) -> Size2D {
        let (short, long) = width <= height ? (width, height) : (height, width)
        let newLong = Int(Double(n * long) / Double(short))
        return width <= height ? Size2D(height: newLong, width: n) : Size2D(height: n, width: newLong)
    }

    /// The plan for a `width × height` photo; a crop larger than the resized image is refused
    /// (torchvision would pad it with zeros, which the network never saw in training).
    public func plan(width: Int, height: Int) throws -> Plan {
        if let resize, resize < 1 { throw DatasetError("--resize \(resize): the shorter side must be at least 1 pixel") }
        if let centerCrop, centerCrop < 1 { throw DatasetError("--center-crop \(centerCrop): the crop must be at least 1 pixel") }
        let resized = resize.map { Self.resizedSize(width: width, height: height, shorter: $0) }
            ?? Size2D(height: height, width: width)
        guard let side = centerCrop else {
            return Plan(resized: resized, cropX: 0, cropY: 0, crop: resized, box: (0, 0, width, height))
        }
        guard side <= resized.width, side <= resized.height else {
            let how = resize.map { "--resize \($0) makes it \(resized)" } ?? "without --resize it is \(resized)"
            throw DatasetError("--center-crop \(side) is larger than the resized image (the \(width)x\(height) photo; \(how)); "
                               + "use a crop of at most \(min(resized.width, resized.height)) or a larger --resize")
        }
        // torchvision's CenterCrop: int(round((size - crop) / 2)), Python's round half to even.
        let top = Int((Double(resized.height - side) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(resized.width - side) / 2).rounded(.toNearestOrEven))
        let sx = Double(width) / Double(resized.width), sy = Double(height) / Double(resized.height)
        func back(_ v: Int, _ s: Double) -> Int { Int((Double(v) * s + 0.5).rounded(.down)) }
        return Plan(resized: resized, cropX: left, cropY: top, crop: Size2D(height: side, width: side),
                    box: (back(left, sx), back(top, sy), back(left + side, sx), back(top + side, sy)))
    }

    /// The network's input image (resized, cropped; normalise it with `.imagenet`) and its plan.
    public func apply(_ image: RGBImage) throws -> (input: RGBImage, plan: Plan) {
        let plan = try plan(width: image.width, height: image.height)
        var input = plan.resized.width == image.width && plan.resized.height == image.height
            ? image : Transforms.resizePillowBilinear(image, to: plan.resized)
        if plan.crop != plan.resized {
            input = Transforms.crop(input, x: plan.cropX, y: plan.cropY, size: plan.crop)
        }
        return (input, plan)
    }
}

extension Transforms {
    /// Pillow's `Image.resize(size, BILINEAR)` byte for byte (`Resample.c`), what torchvision's
    /// `Resize` does to a PIL image: a triangle filter widened by the reduction factor (so
    /// reductions are antialiased), coefficients in 22-bit fixed point, a horizontal pass
    /// rounded to 8 bits, then a vertical one.
    public static func resizePillowBilinear(_ image: RGBImage, to size: Size2D) -> RGBImage {
        let (sw, sh, dw, dh) = (image.width, image.height, size.width, size.height)
        var pixels = image.pixels
        if dw != sw {
            // Along each row: taps 3 bytes apart, rows sw (in) / dw (out) pixels long.
            pixels = resamplePass(pixels, coefficients: PillowCoefficients(inSize: sw, outSize: dw), lines: sh, outputs: dw,
                                  inLineStride: sw * 3, tapStride: 3, outLineStride: dw * 3, outStride: 3)
        }
        if dh != sh {
            // Along each column of the (already resized) width dw: taps one row apart.
            pixels = resamplePass(pixels, coefficients: PillowCoefficients(inSize: sh, outSize: dh), lines: dw, outputs: dh,
                                  inLineStride: 3, tapStride: dw * 3, outLineStride: 3, outStride: dw * 3)
        }
        return RGBImage(width: dw, height: dh, pixels: pixels)
    }

    /// One of Resample.c's two passes over RGB bytes: for each of `lines` lines, `outputs` pixels,
    /// each the fixed-point weighted sum of its taps along the line, rounded and clipped to 8 bits.
    /// Strides are in bytes: between lines and between taps of the input, between lines and
    /// between pixels of the output.
    private static func resamplePass(_ pixels: [UInt8], coefficients k: PillowCoefficients, lines: Int, outputs: Int,
                                     inLineStride: Int, tapStride: Int, outLineStride: Int, outStride: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: lines * outputs * 3)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for line in 0..<lines {
                    for j in 0..<outputs {
                        let (start, count) = k.bounds[j]
                        var s0 = PillowCoefficients.half, s1 = s0, s2 = s0
                        for i in 0..<count {
                            let w = k.weights[j * k.size + i], p = line * inLineStride + (start + i) * tapStride
                            s0 += Int(src[p]) * w
                            s1 += Int(src[p + 1]) * w
                            s2 += Int(src[p + 2]) * w
                        }
                        let o = line * outLineStride + j * outStride
                        dst[o] = PillowCoefficients.clip(s0)
                        dst[o + 1] = PillowCoefficients.clip(s1)
                        dst[o + 2] = PillowCoefficients.clip(s2)
                    }
                }
            }
        }
        return out
    }

    /// The `x, y, size` part of an image.
    public static func crop(_ image: RGBImage, x: Int, y: Int, size: Size2D) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: size.width * size.height * 3)
        for row in 0..<size.height {
            let src = ((y + row) * image.width + x) * 3, dst = row * size.width * 3
            for i in 0..<(size.width * 3) { pixels[dst + i] = image.pixels[src + i] }
        }
        return RGBImage(width: size.width, height: size.height, pixels: pixels)
    }
}

/// Pillow's `precompute_coeffs` + `normalize_coeffs_8bpc` for the bilinear filter (support 1).
struct PillowCoefficients {
    static let precisionBits = 22
    static let half = 1 << (precisionBits - 1)
    /// Per output pixel: first input pixel and how many contribute.
    var bounds: [(start: Int, count: Int)] = []
    /// `size` fixed-point weights per output pixel.
    var weights: [Int] = []
    let size: Int

    init(inSize: Int, outSize: Int) {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = filterScale  // the bilinear filter's support is 1
        size = Int(support.rounded(.up)) * 2 + 1
        weights = [Int](repeating: 0, count: outSize * size)
        var k = [Double](repeating: 0, count: size)
        for x in 0..<outSize {
            let center = (Double(x) + 0.5) * scale
            let inverse = 1 / filterScale
            let lo = max(0, Int(center - support + 0.5))  // C's (int): towards zero, then clamped
            let count = min(inSize, Int(center + support + 0.5)) - lo
            var sum = 0.0
            for i in 0..<max(0, count) {
                let t = abs((Double(i + lo) - center + 0.5) * inverse)
                k[i] = t < 1 ? 1 - t : 0
                sum += k[i]
            }
            for i in 0..<max(0, count) {
                let w = sum != 0 ? k[i] / sum : k[i]
                weights[x * size + i] = Int(w < 0 ? -0.5 + w * Double(1 << Self.precisionBits)
                                                  : 0.5 + w * Double(1 << Self.precisionBits))
            }
            bounds.append((lo, max(0, count)))
        }
    }

    @inline(__always)
    static func clip(_ v: Int) -> UInt8 {
        if v >= 1 << (precisionBits + 8) { return 255 }
        if v <= 0 { return 0 }
        return UInt8(v >> precisionBits)
    }
}
