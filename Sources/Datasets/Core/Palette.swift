/// Class palettes and the mapping from mask colours back to class indices.
public enum Palette {
    /// The 21 Pascal VOC classes, index 0 … 20.
    public static let vocClassNames = [
        "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
        "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
    ]

    /// The colour VOC draws the void label (255) with.
    public static let vocVoid = RGB(224, 224, 192)

    /// The standard VOC colormap for all 256 indices (the bit-interleaving construction of the
    /// VOC devkit's `labelcolormap.m`): 0 black, 1 (128,0,0), 2 (0,128,0), …, 255 (224,224,192).
    public static let voc: [RGB] = (0..<256).map { index in
        var r = 0, g = 0, b = 0, c = index
        for shift in stride(from: 7, through: 0, by: -1) {
            r |= (c & 1) << shift
            g |= ((c >> 1) & 1) << shift
            b |= ((c >> 2) & 1) << shift
            c >>= 3
        }
        return RGB(UInt8(r), UInt8(g), UInt8(b))
    }
}

/// Maps RGB mask colours to class indices (d2l's `colormap2label`): a 2^24-entry table is
/// avoided by a dictionary keyed on the packed colour. Colours not in the table become 255.
public struct ColorToLabel: Sendable {
    private var table: [UInt32: UInt8] = [:]

    /// `colors[i]` maps to class `i`; `void` (when given) maps to 255.
    public init(colors: [RGB], void: RGB? = Palette.vocVoid) {
        for (i, c) in colors.enumerated() where i < 255 && table[Self.key(c)] == nil {
            table[Self.key(c)] = UInt8(i)
        }
        if let void { table[Self.key(void)] = LabelMap.void }
    }

    @inline(__always) static func key(_ c: RGB) -> UInt32 { UInt32(c.r) << 16 | UInt32(c.g) << 8 | UInt32(c.b) }

    /// The label map of an RGB mask and the number of pixels whose colour was unknown (set to 255).
    public func labels(for image: RGBImage) -> (label: LabelMap, unknownPixels: Int, unknownColors: [RGB]) {
        let n = image.width * image.height
        var values = [UInt8](repeating: 0, count: n)
        var unknown = 0
        var unknownColors = Set<UInt32>()
        var lastKey = UInt32.max, lastValue: UInt8 = 0, lastKnown = true
        image.pixels.withUnsafeBufferPointer { p in
            for i in 0..<n {
                let k = UInt32(p[3 * i]) << 16 | UInt32(p[3 * i + 1]) << 8 | UInt32(p[3 * i + 2])
                if k != lastKey {
                    lastKey = k
                    if let v = table[k] {
                        lastValue = v
                        lastKnown = true
                    } else {
                        lastValue = LabelMap.void
                        lastKnown = false
                        if unknownColors.count < 64 { unknownColors.insert(k) }
                    }
                }
                values[i] = lastValue
                if !lastKnown { unknown += 1 }
            }
        }
        let colors = unknownColors.sorted().map { RGB(UInt8($0 >> 16), UInt8(($0 >> 8) & 255), UInt8($0 & 255)) }
        return (LabelMap(width: image.width, height: image.height, values: values), unknown, colors)
    }
}
