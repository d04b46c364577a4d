/// An 8-bit RGB image, rows top to bottom, pixels interleaved `R G B` (HWC).
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "RGBImage \(width)x\(height) needs \(width * height * 3) bytes, got \(pixels.count)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public init(width: Int, height: Int, fill: (r: UInt8, g: UInt8, b: UInt8) = (0, 0, 0)) {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            pixels[3 * i] = fill.r
            pixels[3 * i + 1] = fill.g
            pixels[3 * i + 2] = fill.b
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    @inlinable public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
        get {
            let i = 3 * (y * width + x)
            return (pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set {
            let i = 3 * (y * width + x)
            pixels[i] = newValue.r
            pixels[i + 1] = newValue.g
            pixels[i + 2] = newValue.b
        }
    }
}

/// A per-pixel class-index map (a segmentation mask). 255 (`LabelMap.void`) marks pixels that
/// losses and metrics ignore (VOC's boundary band).
public struct LabelMap: Sendable, Equatable {
    public static let void: UInt8 = 255

    public let width: Int
    public let height: Int
    /// `width * height` class indices, rows top to bottom.
    public var values: [UInt8]

    public init(width: Int, height: Int, values: [UInt8]) {
        precondition(width >= 0 && height >= 0 && values.count == width * height,
                     "LabelMap \(width)x\(height) needs \(width * height) values, got \(values.count)")
        self.width = width
        self.height = height
        self.values = values
    }

    public init(width: Int, height: Int, fill: UInt8 = 0) {
        self.init(width: width, height: height, values: [UInt8](repeating: fill, count: width * height))
    }

    @inlinable public subscript(x: Int, y: Int) -> UInt8 {
        get { values[y * width + x] }
        set { values[y * width + x] = newValue }
    }

    /// The distinct values present, ascending (255 included when present).
    public var presentValues: [UInt8] {
        var seen = [Bool](repeating: false, count: 256)
        for v in values { seen[Int(v)] = true }
        return (0..<256).filter { seen[$0] }.map(UInt8.init)
    }
}

/// An RGB colour.
public struct RGB: Sendable, Hashable, Codable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }
}
