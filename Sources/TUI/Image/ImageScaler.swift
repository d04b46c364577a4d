import Datasets

/// Downscaling for previews. Photos are area-averaged (every source pixel counts, so thin
/// details do not alias away); masks are mode-pooled (each target pixel takes the most common
/// class of its box, so a preview only ever shows real class colours, never blends of them).
public enum ImageScaler {
    /// Source column / row ranges covered by each target column / row: `[lo, hi)`, never empty.
    static func spans(source: Int, target: Int) -> [(Int, Int)] {
        (0..<target).map { t in
            let lo = t * source / target
            let hi = max(lo + 1, (t + 1) * source / target)
            return (min(lo, source - 1), min(hi, source))
        }
    }

    /// `image` resized to `width` × `height` by averaging the source pixels each target pixel
    /// covers (nearest neighbour when enlarging).
    public static func areaAverage(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        guard width > 0, height > 0, image.width > 0, image.height > 0 else {
            return RGBImage(width: max(0, width), height: max(0, height))
        }
        let xs = spans(source: image.width, target: width)
        let ys = spans(source: image.height, target: height)
        var out = [UInt8](repeating: 0, count: width * height * 3)
        let sw = image.width
        image.pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                var rowSums = [UInt32](repeating: 0, count: width * 3)
                for ty in 0..<height {
                    let (y0, y1) = ys[ty]
                    for i in 0..<rowSums.count { rowSums[i] = 0 }
                    for sy in y0..<y1 {
                        let row = sy * sw * 3
                        for tx in 0..<width {
                            let (x0, x1) = xs[tx]
                            var r: UInt32 = 0, g: UInt32 = 0, b: UInt32 = 0
                            var p = row + x0 * 3
                            for _ in x0..<x1 {
                                r += UInt32(src[p])
                                g += UInt32(src[p + 1])
                                b += UInt32(src[p + 2])
                                p += 3
                            }
                            rowSums[tx * 3] += r
                            rowSums[tx * 3 + 1] += g
                            rowSums[tx * 3 + 2] += b
                        }
                    }
                    for tx in 0..<width {
                        let (x0, x1) = xs[tx]
                        let n = UInt32((x1 - x0) * (y1 - y0))
                        let o = (ty * width + tx) * 3
                        dst[o] = UInt8((rowSums[tx * 3] + n / 2) / n)
                        dst[o + 1] = UInt8((rowSums[tx * 3 + 1] + n / 2) / n)
                        dst[o + 2] = UInt8((rowSums[tx * 3 + 2] + n / 2) / n)
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// `label` resized to `width` × `height`: each target pixel takes the most frequent value of
    /// the source box it covers. Ties go to the smaller class index; void (255) loses every tie.
    public static func modePool(_ label: LabelMap, width: Int, height: Int) -> LabelMap {
        guard width > 0, height > 0, label.width > 0, label.height > 0 else {
            return LabelMap(width: max(0, width), height: max(0, height))
        }
        let xs = spans(source: label.width, target: width)
        let ys = spans(source: label.height, target: height)
        var out = [UInt8](repeating: 0, count: width * height)
        var counts = [Int32](repeating: 0, count: 256)
        var touched = [UInt8]()
        touched.reserveCapacity(64)
        let sw = label.width
        label.values.withUnsafeBufferPointer { src in
            for ty in 0..<height {
                let (y0, y1) = ys[ty]
                for tx in 0..<width {
                    let (x0, x1) = xs[tx]
                    touched.removeAll(keepingCapacity: true)
                    for sy in y0..<y1 {
                        let row = sy * sw
                        for sx in x0..<x1 {
                            let v = src[row + sx]
                            if counts[Int(v)] == 0 { touched.append(v) }
                            counts[Int(v)] += 1
                        }
                    }
                    var best = touched[0]
                    var bestCount = counts[Int(best)]
                    for v in touched.dropFirst() {
                        let c = counts[Int(v)]
                        if c > bestCount || (c == bestCount && ModePreference.beats(v, best)) {
                            best = v
                            bestCount = c
                        }
                    }
                    for v in touched { counts[Int(v)] = 0 }
                    out[ty * width + tx] = best
                }
            }
        }
        return LabelMap(width: width, height: height, values: out)
    }

    /// Nearest-neighbour resize (for sixel masks, where every pixel must stay a class colour).
    public static func nearest(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        guard width > 0, height > 0, image.width > 0, image.height > 0 else {
            return RGBImage(width: max(0, width), height: max(0, height))
        }
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            let sy = min(image.height - 1, (2 * y + 1) * image.height / (2 * height))
            for x in 0..<width {
                let sx = min(image.width - 1, (2 * x + 1) * image.width / (2 * width))
                let s = (sy * image.width + sx) * 3, d = (y * width + x) * 3
                out[d] = image.pixels[s]
                out[d + 1] = image.pixels[s + 1]
                out[d + 2] = image.pixels[s + 2]
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// The largest `width` × `height` with the image's aspect ratio inside `maxWidth` × `maxHeight`.
    public static func fit(width w: Int, height h: Int, maxWidth: Int, maxHeight: Int) -> (width: Int, height: Int) {
        guard w > 0, h > 0, maxWidth > 0, maxHeight > 0 else { return (0, 0) }
        if w * maxHeight <= h * maxWidth {
            // Height-limited.
            return (max(1, min(maxWidth, (w * maxHeight + h / 2) / h)), maxHeight)
        }
        return (maxWidth, max(1, min(maxHeight, (h * maxWidth + w / 2) / w)))
    }
}

enum ModePreference {
    /// Whether value `a` should win a tie against `b`.
    @inline(__always) static func beats(_ a: UInt8, _ b: UInt8) -> Bool {
        if a == LabelMap.void { return false }
        if b == LabelMap.void { return true }
        return a < b
    }
}

/// Colouring masks and laying them over photos.
public enum MaskPainter {
    /// VOC's colour for void (255) pixels.
    public static let voidColor = RGB(224, 224, 192)

    /// Each label value drawn in its palette colour (void in `void`; values beyond the palette grey).
    public static func colorize(_ label: LabelMap, palette: [RGB], void: RGB = voidColor) -> RGBImage {
        let table = colorTable(palette: palette, void: void)
        var out = [UInt8](repeating: 0, count: label.width * label.height * 3)
        for (i, v) in label.values.enumerated() {
            let c = table[Int(v)]
            out[3 * i] = c.r
            out[3 * i + 1] = c.g
            out[3 * i + 2] = c.b
        }
        return RGBImage(width: label.width, height: label.height, pixels: out)
    }

    static func colorTable(palette: [RGB], void: RGB) -> [RGB] {
        (0..<256).map { v in
            if v == Int(LabelMap.void) { return void }
            return v < palette.count ? palette[v] : RGB(128, 128, 128)
        }
    }

    /// `image` with `label` painted over it at `opacity` (0 = image only, 1 = mask only).
    /// Values in `transparent` (typically background and void) leave the image untouched.
    /// Both must have the same size.
    public static func overlay(image: RGBImage, label: LabelMap, palette: [RGB], opacity: Double,
                               transparent: Set<UInt8>, void: RGB = voidColor) -> RGBImage {
        precondition(image.width == label.width && image.height == label.height, "overlay needs equal sizes")
        let table = colorTable(palette: palette, void: void)
        var skip = [Bool](repeating: false, count: 256)
        for v in transparent { skip[Int(v)] = true }
        let a = UInt32(max(0, min(1, opacity)) * 256)
        var out = image.pixels
        for (i, v) in label.values.enumerated() where !skip[Int(v)] {
            let c = table[Int(v)]
            let o = 3 * i
            out[o] = UInt8((UInt32(out[o]) * (256 - a) + UInt32(c.r) * a) >> 8)
            out[o + 1] = UInt8((UInt32(out[o + 1]) * (256 - a) + UInt32(c.g) * a) >> 8)
            out[o + 2] = UInt8((UInt32(out[o + 2]) * (256 - a) + UInt32(c.b) * a) >> 8)
        }
        return RGBImage(width: image.width, height: image.height, pixels: out)
    }
}
