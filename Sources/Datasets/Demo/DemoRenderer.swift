import Foundation

/// Draws one demo sample: textured shapes of five classes on a textured background.
///
/// What makes a class is its **shape** (disc, box, triangle, star, ring) and its **texture**
/// (each class has its own of five textures). Colours are not a cue: the two colours of every
/// texture, object or background, come from the same range, so no colour threshold separates
/// the classes. Objects overlap (later ones occlude earlier ones), vary from tiny to a third of
/// the image, and the label map gets VOC's void band (255, ~3 px) along every border between
/// different labels.
public enum DemoRenderer {
    public static let classNames = ["background", "disc", "box", "triangle", "star", "ring"]

    enum Shape: Int, CaseIterable { case disc = 1, box, triangle, star, ring }
    enum Texture: Int, CaseIterable {
        case stripes, checker, dots, waves, diagonal

        /// Pixels per repeat.
        var period: Float {
            switch self {
            case .stripes: return 6
            case .checker: return 7
            case .dots: return 8
            case .waves: return 7
            case .diagonal: return 5
            }
        }

        /// Radians: stripes run horizontally, waves vertically, diagonal stripes at 45°; the grids
        /// are axis-aligned.
        var angle: Float {
            switch self {
            case .stripes: return .pi / 2
            case .diagonal: return .pi / 4
            default: return 0
            }
        }
    }

    /// The texture of each class.
    static func preferredTexture(_ shape: Shape) -> Texture {
        switch shape {
        case .disc: return .stripes
        case .box: return .checker
        case .triangle: return .dots
        case .star: return .waves
        case .ring: return .diagonal
        }
    }

    /// A random colour from the range every texture draws from.
    static func color(_ rng: inout SeededRandom) -> SIMD3<Float> {
        SIMD3(rng.uniform(25, 230), rng.uniform(25, 230), rng.uniform(25, 230))
    }

    /// Renders the sample for `rng`: a `width`×`height` image in [minSide, maxSide].
    public static func render(rng: inout SeededRandom, minSide: Int = 96, maxSide: Int = 200) -> (RGBImage, LabelMap) {
        let width = rng.int(minSide...maxSide), height = rng.int(minSide...maxSide)
        var canvas = [SIMD3<Float>](repeating: .zero, count: width * height)
        var label = [UInt8](repeating: 0, count: width * height)
        drawBackground(&canvas, width: width, height: height, rng: &rng)
        let count = rng.int(2...5)
        for _ in 0..<count { drawObject(&canvas, &label, width: width, height: height, rng: &rng) }
        // Sensor noise, then quantise.
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            let noise = SIMD3(rng.uniform(-6, 6), rng.uniform(-6, 6), rng.uniform(-6, 6))
            let c = (canvas[i] + noise).clamped(lowerBound: SIMD3(repeating: 0), upperBound: SIMD3(repeating: 255))
            pixels[3 * i] = UInt8(c.x)
            pixels[3 * i + 1] = UInt8(c.y)
            pixels[3 * i + 2] = UInt8(c.z)
        }
        addVoidBand(&label, width: width, height: height)
        return (RGBImage(width: width, height: height, pixels: pixels), LabelMap(width: width, height: height, values: label))
    }

    // MARK: Background

    static func drawBackground(_ canvas: inout [SIMD3<Float>], width: Int, height: Int, rng: inout SeededRandom) {
        let a = color(&rng), b = color(&rng)
        let noise = ValueNoise(width: width, height: height, cell: rng.uniform(18, 40), rng: &rng)
        let grain = ValueNoise(width: width, height: height, cell: rng.uniform(6, 12), rng: &rng)
        for y in 0..<height {
            for x in 0..<width {
                let t = 0.8 * noise.sample(Float(x), Float(y)) + 0.2 * grain.sample(Float(x), Float(y))
                canvas[y * width + x] = a + (b - a) * t
            }
        }
        // Distractor lines: edges that belong to no object.
        if rng.chance(0.5) {
            for _ in 0..<rng.int(1...3) {
                let c = color(&rng)
                let angle = rng.uniform(0, .pi)
                let nx = cos(angle), ny = sin(angle)
                let offset = rng.uniform(0, 1) * Float(width) * abs(nx) + rng.uniform(0, 1) * Float(height) * abs(ny)
                let half = rng.uniform(0.6, 1.6)
                for y in 0..<height {
                    for x in 0..<width where abs(Float(x) * nx + Float(y) * ny - offset) < half {
                        canvas[y * width + x] = c
                    }
                }
            }
        }
    }

    // MARK: Objects

    static func drawObject(_ canvas: inout [SIMD3<Float>], _ label: inout [UInt8], width: Int, height: Int,
                           rng: inout SeededRandom) {
        guard let shape = Shape(rawValue: rng.int(1...5)) else { return }
        let side = Float(min(width, height))
        // Radii from 9 px (mostly void band once drawn) to 45 % of the short side.
        // Triangles and stars fill about half their circle, so they get larger radii to keep
        // the classes' pixel shares comparable.
        let areaScale: Float = shape == .triangle || shape == .star ? 1.35 : 1
        let r = (9 + (side * 0.45 - 9) * pow(rng.unit(), 0.9)) * areaScale
        let cx = rng.uniform(0.1, 0.9) * Float(width), cy = rng.uniform(0.1, 0.9) * Float(height)
        let angle = rng.uniform(0, 2 * .pi)
        let cosA = cos(angle), sinA = sin(angle)
        let aspect = rng.uniform(0.6, 1.0)
        let texture = preferredTexture(shape)
        let c1 = color(&rng)
        var c2 = color(&rng)
        // Keep the texture visible: push the second colour away when the two are close.
        if simd_length(c2 - c1) < 60 { c2 = SIMD3(255, 255, 255) - c1 }
        // Each texture has its own scale and orientation (up to a small jitter), so a first
        // conv layer can tell them apart whatever the two colours are.
        let period = texture.period * rng.uniform(0.92, 1.08)
        let textureAngle = texture.angle + rng.uniform(-0.12, 0.12)
        let shade = SIMD2(rng.uniform(-0.25, 0.25), rng.uniform(-0.25, 0.25))
        let star = starPolygon(outer: 1, inner: rng.uniform(0.38, 0.5))
        let x0 = max(0, Int(cx - r) - 1), x1 = min(width - 1, Int(cx + r) + 1)
        let y0 = max(0, Int(cy - r) - 1), y1 = min(height - 1, Int(cy + r) + 1)
        guard x0 <= x1, y0 <= y1 else { return }
        let ct = cos(textureAngle), st = sin(textureAngle)
        for y in y0...y1 {
            for x in x0...x1 {
                let dx = Float(x) + 0.5 - cx, dy = Float(y) + 0.5 - cy
                // Object-local coordinates scaled to the unit shape.
                let u = (dx * cosA + dy * sinA) / r, v = (-dx * sinA + dy * cosA) / (r * aspect)
                guard contains(shape, u: u, v: v, star: star) else { continue }
                let tu = dx * ct + dy * st, tv = -dx * st + dy * ct
                let t: Float
                switch texture {
                case .checker: t = (Int(floor(tu / period)) + Int(floor(tv / period))) & 1 == 0 ? 1 : 0
                case .dots:
                    let fu = tu / period - floor(tu / period) - 0.5, fv = tv / period - floor(tv / period) - 0.5
                    t = fu * fu + fv * fv < 0.09 ? 1 : 0
                case .waves: t = sin(2 * .pi * tu / period + 2.2 * sin(tv / period)) > 0 ? 1 : 0
                case .stripes, .diagonal: t = sin(2 * .pi * tu / period) > 0 ? 1 : 0
                }
                let light = 1 + shade.x * u + shade.y * v
                canvas[y * width + x] = (c1 + (c2 - c1) * t) * light
                label[y * width + x] = UInt8(shape.rawValue)
            }
        }
    }

    @inline(__always)
    static func contains(_ shape: Shape, u: Float, v: Float, star: [SIMD2<Float>]) -> Bool {
        switch shape {
        case .disc: return u * u + v * v <= 1
        case .box: return abs(u) <= 0.8 && abs(v) <= 0.8
        case .ring:
            let d = u * u + v * v
            return d <= 1 && d >= 0.25
        case .triangle:
            // Equilateral triangle inscribed in the unit circle, apex up.
            return v >= -0.5 && abs(u) * 1.7320508 <= 1 - v
        case .star: return pointInPolygon(SIMD2(u, v), star)
        }
    }

    static func starPolygon(outer: Float, inner: Float) -> [SIMD2<Float>] {
        (0..<10).map { i in
            let a = Float(i) * .pi / 5 - .pi / 2
            let r = i % 2 == 0 ? outer : inner
            return SIMD2(r * cos(a), r * sin(a))
        }
    }

    static func pointInPolygon(_ p: SIMD2<Float>, _ polygon: [SIMD2<Float>]) -> Bool {
        var inside = false
        var j = polygon.count - 1
        for i in 0..<polygon.count {
            let a = polygon[i], b = polygon[j]
            if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x { inside.toggle() }
            j = i
        }
        return inside
    }

    // MARK: Void band

    /// Marks pixels on a border between two different labels, then widens the marks by one pixel
    /// each way: a ~3 px void (255) band like VOC's.
    static func addVoidBand(_ label: inout [UInt8], width: Int, height: Int) {
        var edge = [Bool](repeating: false, count: width * height)
        for y in 0..<height {
            for x in 0..<width {
                let v = label[y * width + x]
                if (x + 1 < width && label[y * width + x + 1] != v) || (y + 1 < height && label[(y + 1) * width + x] != v) {
                    edge[y * width + x] = true
                }
            }
        }
        for y in 0..<height {
            for x in 0..<width where edge[y * width + x] {
                for yy in max(0, y - 1)...min(height - 1, y + 1) {
                    for xx in max(0, x - 1)...min(width - 1, x + 1) { label[yy * width + xx] = LabelMap.void }
                }
            }
        }
    }
}

/// Smooth random values in [0, 1] on a grid of `cell` px, interpolated with a smoothstep.
struct ValueNoise {
    let columns: Int
    let cell: Float
    let values: [Float]

    init(width: Int, height: Int, cell: Float, rng: inout SeededRandom) {
        self.cell = cell
        columns = Int(Float(width) / cell) + 2
        let rows = Int(Float(height) / cell) + 2
        values = (0..<(columns * rows)).map { _ in rng.unit() }
    }

    @inline(__always) func sample(_ x: Float, _ y: Float) -> Float {
        let gx = max(0, x / cell), gy = max(0, y / cell)
        let ix = Int(gx), iy = Int(gy)
        var fx = gx - Float(ix), fy = gy - Float(iy)
        fx = fx * fx * (3 - 2 * fx)
        fy = fy * fy * (3 - 2 * fy)
        let rows = values.count / columns
        let x0 = min(ix, columns - 1), x1 = min(ix + 1, columns - 1)
        let y0 = min(iy, rows - 1), y1 = min(iy + 1, rows - 1)
        let top = values[y0 * columns + x0] + (values[y0 * columns + x1] - values[y0 * columns + x0]) * fx
        let bottom = values[y1 * columns + x0] + (values[y1 * columns + x1] - values[y1 * columns + x0]) * fx
        return top + (bottom - top) * fy
    }
}

@inline(__always) private func simd_length(_ v: SIMD3<Float>) -> Float { (v * v).sum().squareRoot() }
