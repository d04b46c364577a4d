import Datasets

/// Which picture of a sample a preview shows.
public enum PreviewContent: Sendable {
    case photo(RGBImage)
    case mask(LabelMap, palette: [RGB])
    case overlay(RGBImage, LabelMap, palette: [RGB], opacity: Double, transparent: Set<UInt8>)

    var sourceSize: (width: Int, height: Int) {
        switch self {
        case .photo(let i): return (i.width, i.height)
        case .mask(let l, _): return (l.width, l.height)
        case .overlay(let i, _, _, _, _): return (i.width, i.height)
        }
    }

    /// The content at full resolution (for sixel).
    public var fullResolution: RGBImage {
        switch self {
        case .photo(let i): return i
        case .mask(let l, let p): return MaskPainter.colorize(l, palette: p)
        case .overlay(let i, let l, let p, let o, let t):
            return MaskPainter.overlay(image: i, label: l, palette: p, opacity: o, transparent: t)
        }
    }

    public var isMask: Bool { if case .mask = self { return true } else { return false } }
}

/// Draws pictures with the upper half block (U+2580): each cell shows two vertically stacked
/// pixels, the top one as the foreground colour and the bottom one as the background.
public enum HalfBlocks {
    /// Where a picture of `width` × `height` pixels lands inside `rect`, aspect kept (a cell is
    /// about twice as tall as wide, so one cell = one pixel wide, two pixels tall), centred.
    /// Returns the cell rectangle and the pixel size to scale to (`pixelHeight` ≤ 2 × rows).
    public static func layout(width: Int, height: Int, in rect: Rect) -> (cells: Rect, pixelWidth: Int, pixelHeight: Int) {
        let fit = ImageScaler.fit(width: width, height: height, maxWidth: rect.width, maxHeight: rect.height * 2)
        guard fit.width > 0, fit.height > 0 else { return (Rect(x: rect.x, y: rect.y, width: 0, height: 0), 0, 0) }
        let rows = (fit.height + 1) / 2
        let cells = Rect(x: rect.x + (rect.width - fit.width) / 2, y: rect.y + (rect.height - rows) / 2,
                         width: fit.width, height: rows)
        return (cells, fit.width, fit.height)
    }

    /// Scales `content` to fit `rect` and draws it; returns the cells used. `background` fills
    /// the lower half of the last row when the picture has an odd number of pixel rows.
    @discardableResult
    public static func draw(_ content: PreviewContent, in rect: Rect, grid: inout CellGrid,
                            depth: ColorDepth, background: TermColor) -> Rect {
        let size = content.sourceSize
        let place = layout(width: size.width, height: size.height, in: rect)
        guard place.pixelWidth > 0 else { return place.cells }
        if depth == .mono, case .mask(let label, _) = content {
            // Without colour, each class is its own glyph pattern (ClassDisplay.glyph), one
            // class per cell: the mask pooled to the cell grid.
            let pooled = ImageScaler.modePool(label, width: place.pixelWidth, height: place.cells.height)
            drawGlyphs(pooled, at: place.cells, grid: &grid)
            return place.cells
        }
        var pixels = scaled(content, width: place.pixelWidth, height: place.pixelHeight)
        if depth == .ansi16, !content.isMask {
            // Photos in 16 colours: nearest colour alone turns most of a photo into one or two
            // flat colours; ordered dithering keeps shading and edges recognisable.
            pixels = dither16(pixels)
        }
        draw(pixels: pixels, at: place.cells, grid: &grid, depth: depth, background: background)
        return place.cells
    }

    /// One glyph per cell from `label` (already pooled to `cells.width` × `cells.height`).
    static func drawGlyphs(_ label: LabelMap, at cells: Rect, grid: inout CellGrid) {
        for row in 0..<label.height {
            let y = cells.y + row
            guard y >= 0, y < grid.height else { continue }
            for col in 0..<label.width {
                let x = cells.x + col
                guard x >= 0, x < grid.width else { continue }
                grid.cells[y * grid.width + x] = Cell(ClassDisplay.glyph(Int(label[col, row])), Style())
            }
        }
    }

    /// The 4×4 Bayer threshold matrix (values 0–15).
    static let bayer4: [Int] = [0, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5]
    /// Spread of the dither offset in RGB units (about half the gap between ANSI levels).
    static let ditherSpread = 96

    /// `pixels` with every pixel replaced by the exact RGB of an ANSI colour, chosen as the
    /// nearest one to the pixel plus a position-dependent Bayer offset (ordered dithering). The
    /// encoder then maps each pixel back to that ANSI index exactly.
    public static func dither16(_ pixels: RGBImage) -> RGBImage {
        var out = pixels.pixels
        let w = pixels.width
        for y in 0..<pixels.height {
            for x in 0..<w {
                let offset = ((2 * bayer4[(y & 3) * 4 + (x & 3)] + 1) * ditherSpread) / 32 - ditherSpread / 2
                let o = (y * w + x) * 3
                func channel(_ v: UInt8) -> UInt8 { UInt8(max(0, min(255, Int(v) + offset))) }
                let i = ColorMapping.index16(channel(out[o]), channel(out[o + 1]), channel(out[o + 2]))
                let c = ColorMapping.ansi16[i]
                out[o] = c.0
                out[o + 1] = c.1
                out[o + 2] = c.2
            }
        }
        return RGBImage(width: w, height: pixels.height, pixels: out)
    }

    /// `content` at the given pixel size: photos area-averaged, masks mode-pooled, overlays
    /// blending the averaged photo with the pooled mask.
    public static func scaled(_ content: PreviewContent, width: Int, height: Int) -> RGBImage {
        switch content {
        case .photo(let image):
            return ImageScaler.areaAverage(image, width: width, height: height)
        case .mask(let label, let palette):
            return MaskPainter.colorize(ImageScaler.modePool(label, width: width, height: height), palette: palette)
        case .overlay(let image, let label, let palette, let opacity, let transparent):
            let photo = ImageScaler.areaAverage(image, width: width, height: height)
            let pooled: LabelMap
            if label.width == image.width && label.height == image.height {
                pooled = ImageScaler.modePool(label, width: width, height: height)
            } else {
                pooled = ImageScaler.modePool(label, width: width, height: height)
            }
            return MaskPainter.overlay(image: photo, label: pooled, palette: palette, opacity: opacity,
                                       transparent: transparent)
        }
    }

    /// Shading glyphs for monochrome terminals, darkest first.
    static let shades: [Unicode.Scalar] = [" ", "░", "▒", "▓", "█"]

    /// Draws already-scaled `pixels` (width = cells, height ≤ 2 × rows) at `cells`.
    public static func draw(pixels: RGBImage, at cells: Rect, grid: inout CellGrid, depth: ColorDepth,
                            background: TermColor) {
        let w = pixels.width, h = pixels.height
        pixels.pixels.withUnsafeBufferPointer { px in
            for row in 0..<((h + 1) / 2) {
                let y = cells.y + row
                guard y >= 0, y < grid.height else { continue }
                let topRow = 2 * row, bottomRow = 2 * row + 1
                for col in 0..<w {
                    let x = cells.x + col
                    guard x >= 0, x < grid.width else { continue }
                    let t = (topRow * w + col) * 3
                    let top = TermColor.rgb(px[t], px[t + 1], px[t + 2])
                    if depth == .mono {
                        var l = ColorMapping.luma(px[t], px[t + 1], px[t + 2])
                        if bottomRow < h {
                            let b = (bottomRow * w + col) * 3
                            l = (l + ColorMapping.luma(px[b], px[b + 1], px[b + 2])) / 2
                        }
                        grid.cells[y * grid.width + x] = Cell(shades[min(4, l * 5 / 256)], Style())
                        continue
                    }
                    let bottom: TermColor
                    if bottomRow < h {
                        let b = (bottomRow * w + col) * 3
                        bottom = .rgb(px[b], px[b + 1], px[b + 2])
                    } else {
                        bottom = background
                    }
                    grid.cells[y * grid.width + x] = Cell(Cell.upperHalf, Style(fg: top, bg: bottom))
                }
            }
        }
    }
}
