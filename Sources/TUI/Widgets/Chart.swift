import Foundation

/// One point of a chart series.
public struct ChartPoint: Equatable, Sendable {
    public var x: Double
    public var y: Double
    public init(_ x: Double, _ y: Double) {
        self.x = x
        self.y = y
    }
}

/// A line on a chart: its points (ascending x), colour, and whether it is drawn faint (raw
/// values under their smoothed curve).
public struct ChartSeries: Sendable {
    public var name: String
    public var points: [ChartPoint]
    public var color: TermColor
    public var faint: Bool

    public init(name: String, points: [ChartPoint], color: TermColor, faint: Bool = false) {
        self.name = name
        self.points = points
        self.color = color
        self.faint = faint
    }
}

/// How chart dots are drawn: braille (2 × 4 dots per cell) where the terminal speaks UTF-8,
/// else half blocks (1 × 2 per cell), which legacy code pages also carry.
public enum ChartGlyphs: String, Sendable, CaseIterable {
    case braille, blocks

    /// Dots per cell (columns, rows).
    var dots: (x: Int, y: Int) { self == .braille ? (2, 4) : (1, 2) }

    /// Braille when the locale is UTF-8 (`LC_ALL`, then `LC_CTYPE`, then `LANG`).
    public static func detect(environment: [String: String] = ProcessInfo.processInfo.environment) -> ChartGlyphs {
        for key in ["LC_ALL", "LC_CTYPE", "LANG"] {
            if let value = environment[key], !value.isEmpty {
                let v = value.lowercased()
                return v.contains("utf-8") || v.contains("utf8") ? .braille : .blocks
            }
        }
        return .blocks
    }
}

/// Smoothing and scale helpers for charts.
public enum ChartMath {
    /// Exponential moving average with TensorBoard's debiasing: `s_i = w·s_{i-1} + (1−w)·v_i`,
    /// divided by `1 − w^(i+1)` so the first values are not pulled towards 0. Non-finite values
    /// are skipped (they keep the previous average).
    public static func ema(_ values: [Double], weight: Double) -> [Double] {
        var out: [Double] = []
        out.reserveCapacity(values.count)
        var last = 0.0, n = 0
        for v in values {
            if v.isFinite {
                last = last * weight + (1 - weight) * v
                n += 1
            }
            let debias = 1 - pow(weight, Double(n))
            out.append(n == 0 ? .nan : (debias > 0 ? last / debias : v))
        }
        return out
    }

    /// The "nice" step (1, 2, 2.5 or 5 × 10^k) nearest to `raw`.
    public static func niceStep(_ raw: Double) -> Double {
        guard raw.isFinite, raw > 0 else { return 1 }
        let exponent = floor(log10(raw))
        let base = pow(10, exponent)
        let f = raw / base
        let nice: Double = f < 1.5 ? 1 : f < 2.25 ? 2 : f < 3.5 ? 2.5 : f < 7.5 ? 5 : 10
        return nice * base
    }

    /// Tick values covering `lo...hi` with about `count` ticks at nice steps; the returned range
    /// is widened to the outer ticks.
    public static func ticks(lo: Double, hi: Double, count: Int) -> (lo: Double, hi: Double, ticks: [Double]) {
        var lo = lo, hi = hi
        if !(lo.isFinite && hi.isFinite) { return (0, 1, [0, 1]) }
        if hi - lo < 1e-12 {
            let pad = max(abs(lo) * 0.1, 1e-3)
            lo -= pad
            hi += pad
        }
        let step = niceStep((hi - lo) / Double(max(1, count - 1)))
        let a = floor(lo / step + 1e-9) * step, b = ceil(hi / step - 1e-9) * step
        var ticks: [Double] = []
        var v = a
        while v <= b + step * 1e-6, ticks.count < 64 {
            ticks.append(abs(v) < step * 1e-9 ? 0 : v)
            v += step
        }
        return (a, b, ticks)
    }

    /// A short label for a tick: as few digits as the step needs (`0.25`, `1.5k`, `3e-4`).
    public static func label(_ v: Double, step: Double) -> String {
        if v == 0 { return "0" }
        let a = abs(v)
        if a >= 10_000 { return compact(v) }
        if a < 1e-3 { return String(format: "%.0e", v).replacingOccurrences(of: "e-0", with: "e-") }
        // As many decimals as the step needs to be written exactly (0.25 → 2, 0.5 → 1, 5 → 0).
        var decimals = 0
        while decimals < 4 {
            let scaled = step * pow(10, Double(decimals))
            if abs(scaled - scaled.rounded()) < 1e-6 * max(1, scaled) { break }
            decimals += 1
        }
        return String(format: "%.\(decimals)f", v)
    }

    /// `12.3k`, `4.5M` style.
    public static func compact(_ v: Double) -> String {
        let a = abs(v)
        if a >= 1e6 { return String(format: "%.1fM", v / 1e6) }
        if a >= 1e4 { return String(format: "%.0fk", v / 1e3) }
        if a >= 1e3 { return String(format: "%.1fk", v / 1e3) }
        return String(format: "%.0f", v)
    }
}

/// A line chart with a y axis (nice ticks and labels), an x axis with its range and label, and
/// any number of series drawn as braille dots (or half blocks). Later series are drawn over
/// earlier ones; a cell shows the colour of the topmost series that has a dot in it.
public struct LineChart: Sendable {
    public var series: [ChartSeries]
    /// Name of the x unit ("iteration", "epoch").
    public var xLabel: String
    public var glyphs: ChartGlyphs
    /// Fixed y range (e.g. 0...1 for accuracies); nil = from the data.
    public var yRange: ClosedRange<Double>?
    /// Text shown when no series has a point.
    public var emptyText: String

    public init(series: [ChartSeries], xLabel: String, glyphs: ChartGlyphs = .braille,
                yRange: ClosedRange<Double>? = nil, emptyText: String = "no data yet") {
        self.series = series
        self.xLabel = xLabel
        self.glyphs = glyphs
        self.yRange = yRange
        self.emptyText = emptyText
    }

    /// Finite points of every series.
    var allPoints: [ChartPoint] { series.flatMap { $0.points.filter { $0.x.isFinite && $0.y.isFinite } } }

    public func draw(in rect: Rect, grid: inout CellGrid, styles: Styles) {
        guard rect.width >= 8, rect.height >= 3 else { return }
        let points = allPoints
        guard !points.isEmpty else {
            grid.centered(emptyText, in: rect, y: rect.y + rect.height / 2, style: styles.dim)
            return
        }
        var ylo = points.map(\.y).min() ?? 0, yhi = points.map(\.y).max() ?? 1
        if let yRange {
            ylo = min(ylo, yRange.lowerBound)
            yhi = max(yhi, yRange.upperBound)
        }
        let plotRows = rect.height - 2
        let scale = ChartMath.ticks(lo: ylo, hi: yhi, count: max(2, min(5, plotRows / 2 + 1)))
        let step = scale.ticks.count > 1 ? scale.ticks[1] - scale.ticks[0] : 1
        let labels = scale.ticks.map { ChartMath.label($0, step: step) }
        let labelWidth = min(8, labels.map { TextWidth.width($0) }.max() ?? 1)
        let plot = Rect(x: rect.x + labelWidth + 1, y: rect.y, width: rect.width - labelWidth - 1, height: plotRows)
        guard plot.width >= 2, plot.height >= 1 else { return }
        let xlo = points.map(\.x).min() ?? 0
        var xhi = points.map(\.x).max() ?? 1
        if xhi <= xlo { xhi = xlo + 1 }

        // Axes: a tick mark and label per y tick, the x axis line and its range.
        let axis = styles.border
        for y in plot.y..<plot.maxY { grid.set(plot.x - 1, y, Cell("│", axis)) }
        for (i, v) in scale.ticks.enumerated() {
            let f = (v - scale.lo) / (scale.hi - scale.lo)
            let row = plot.maxY - 1 - Int((f * Double(plot.height - 1)).rounded())
            guard row >= plot.y, row < plot.maxY else { continue }
            grid.set(plot.x - 1, row, Cell("┤", axis))
            let text = TextWidth.truncate(labels[i], to: labelWidth)
            grid.put(text, x: plot.x - 1 - TextWidth.width(text), y: row, style: styles.dim)
        }
        let axisY = plot.maxY
        grid.set(plot.x - 1, axisY, Cell("└", axis))
        for x in plot.x..<plot.maxX { grid.set(x, axisY, Cell("─", axis)) }
        let xStep = ChartMath.niceStep((xhi - xlo) / 4)
        let left = ChartMath.label(xlo, step: xStep), right = ChartMath.label(xhi, step: xStep)
        let labelY = axisY + 1
        grid.put(left, x: plot.x, y: labelY, style: styles.dim)
        grid.put(right, x: plot.maxX - TextWidth.width(right), y: labelY, style: styles.dim)
        let unit = TextWidth.truncate(xLabel, to: max(0, plot.width - TextWidth.width(left) - TextWidth.width(right) - 4))
        grid.centered(unit, in: plot, y: labelY, style: styles.dim)

        // Dots, one layer per series.
        let (dx, dy) = glyphs.dots
        let w = plot.width * dx, h = plot.height * dy
        var owner = [Int](repeating: -1, count: plot.width * plot.height)
        var bits = [UInt8](repeating: 0, count: plot.width * plot.height)
        for (index, s) in series.enumerated() {
            let layer = rasterize(s.points, width: w, height: h, xlo: xlo, xhi: xhi, ylo: scale.lo, yhi: scale.hi)
            for py in 0..<h {
                for px in 0..<w where layer[py * w + px] {
                    let cell = (py / dy) * plot.width + px / dx
                    bits[cell] |= Self.bit(glyphs, px % dx, py % dy)
                    owner[cell] = index
                }
            }
        }
        for cy in 0..<plot.height {
            for cx in 0..<plot.width {
                let i = cy * plot.width + cx
                guard owner[i] >= 0 else { continue }
                let s = series[owner[i]]
                var style = Style(fg: s.color, bg: styles.background)
                if s.faint { style = style.adding(.dim) }
                grid.set(plot.x + cx, plot.y + cy, Cell(Self.glyph(glyphs, bits[i]), style))
            }
        }
    }

    /// Dots of one series on a `width` × `height` dot grid (row 0 at the top): each dot column
    /// covers a range of x and lights the span of the values that fall in it, joined to the
    /// previous column's last value, so dense noisy data shows its band and sparse data its lines.
    func rasterize(_ points: [ChartPoint], width: Int, height: Int, xlo: Double, xhi: Double, ylo: Double, yhi: Double) -> [Bool] {
        var dots = [Bool](repeating: false, count: width * height)
        func row(_ y: Double) -> Int {
            let f = (y - ylo) / (yhi - ylo)
            return max(0, min(height - 1, height - 1 - Int((f * Double(height - 1)).rounded())))
        }
        func column(_ x: Double) -> Int {
            max(0, min(width - 1, Int(((x - xlo) / (xhi - xlo) * Double(width - 1)).rounded())))
        }
        func vertical(_ c: Int, _ a: Int, _ b: Int) {
            for r in min(a, b)...max(a, b) { dots[r * width + c] = true }
        }
        var previous: (c: Int, r: Int)?
        for p in points where p.x.isFinite && p.y.isFinite {
            let c = column(p.x), r = row(p.y)
            if let prev = previous {
                if c == prev.c {
                    vertical(c, prev.r, r)
                } else {
                    // A straight segment from the previous point, one row span per column.
                    let span = c - prev.c
                    var lastRow = prev.r
                    for k in 1...span {
                        let rr = prev.r + Int((Double(r - prev.r) * Double(k) / Double(span)).rounded())
                        vertical(prev.c + k, lastRow, rr)
                        lastRow = rr
                    }
                }
            } else {
                dots[r * width + c] = true
            }
            previous = (c, r)
        }
        return dots
    }

    static func bit(_ glyphs: ChartGlyphs, _ x: Int, _ y: Int) -> UInt8 {
        switch glyphs {
        case .braille:
            // Unicode braille: dots 1-2-3-7 down the left column, 4-5-6-8 down the right.
            let left: [UInt8] = [0x01, 0x02, 0x04, 0x40], right: [UInt8] = [0x08, 0x10, 0x20, 0x80]
            return x == 0 ? left[y] : right[y]
        case .blocks:
            return y == 0 ? 1 : 2
        }
    }

    static func glyph(_ glyphs: ChartGlyphs, _ bits: UInt8) -> Unicode.Scalar {
        switch glyphs {
        case .braille: return Unicode.Scalar(0x2800 + UInt32(bits)) ?? " "
        case .blocks: return bits == 3 ? "█" : bits == 1 ? "▀" : bits == 2 ? "▄" : " "
        }
    }
}
