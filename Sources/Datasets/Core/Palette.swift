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

/// Which colours classes are drawn and written in (config key `palette`, D-250). Every display
/// and written mask takes its colours from a dataset's `palette`, which this decides.
public enum ClassPalette: String, Sendable, Codable, CaseIterable {
    /// The dataset's own colours (`classes.txt` / `labelmap.txt` with a colour on every line; the
    /// Pets trimap colours), else the built-in palette whose class list the dataset has
    /// (`recognise`), else the VOC colormap.
    case auto
    case voc, ade20k, cityscapes

    /// The built-in colours, one per class in `classNames` order (all 256 for VOC); nil for auto.
    public var colors: [RGB]? {
        switch self {
        case .auto: return nil
        case .voc: return Palette.voc
        case .ade20k: return Palette.ade20k
        case .cityscapes: return Palette.cityscapes
        }
    }

    /// The class list the built-in palette is for; nil for auto.
    public var classNames: [String]? {
        switch self {
        case .auto: return nil
        case .voc: return Palette.vocClassNames
        case .ade20k: return Palette.ade20kClassNames
        case .cityscapes: return Palette.cityscapesClassNames
        }
    }

    /// The built-in palette whose classes `names` are, compared without case and with `_` as a
    /// space: ADE20K's 150 (also after one extra first class: ADE20K's 0 = "other" before
    /// `reduce_zero_label`), Cityscapes' 19 train ids, or VOC's 21; with the index of its first
    /// class in `names`.
    public static func recognise(_ names: [String]) -> (palette: ClassPalette, offset: Int)? {
        let given = names.map(normalized)
        for palette in [ClassPalette.ade20k, .cityscapes, .voc] {
            let own = (palette.classNames ?? []).map(normalized)
            if given == own { return (palette, 0) }
            if palette == .ade20k && given.count == own.count + 1 && Array(given.dropFirst()) == own { return (palette, 1) }
        }
        return nil
    }

    private static func normalized(_ name: String) -> String {
        name.lowercased().replacingOccurrences(of: "_", with: " ").split(separator: " ").joined(separator: " ")
    }

    /// The 256-entry palette for a dataset with classes `names` whose own palette is `own`:
    /// `own` for auto, else this palette's colours (from where `recognise` finds its classes in
    /// `names`, else from class 0) with the VOC colormap beyond them.
    public func palette(for names: [String], own: [RGB]) -> [RGB] {
        switch self {
        case .auto: return own
        case .voc: return Palette.voc
        case .ade20k, .cityscapes:
            let offset = Self.recognise(names).flatMap { $0.palette == self ? $0.offset : nil } ?? 0
            return Palette.filled(colors ?? [], from: offset)
        }
    }
}

extension Palette {
    /// 256 colours: `colors` from index `offset` on, the VOC colormap elsewhere (255 stays VOC's void).
    public static func filled(_ colors: [RGB], from offset: Int = 0) -> [RGB] {
        var p = voc
        for (i, c) in colors.enumerated() where offset + i < 255 { p[offset + i] = c }
        return p
    }

    /// The palette of a class list that brings no colours: the built-in one `ClassPalette.recognise`
    /// finds for `names`, else the VOC colormap.
    public static func automatic(for names: [String]) -> [RGB] {
        guard let (palette, offset) = ClassPalette.recognise(names), let colors = palette.colors else { return voc }
        return filled(colors, from: offset)
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
