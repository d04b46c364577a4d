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
    /// Listed after the other series in the legend (an overlaid run's curves, drawn first).
    public var secondary: Bool

    public init(name: String, points: [ChartPoint], color: TermColor, faint: Bool = false, secondary: Bool = false) {
        self.name = name
        self.points = points
        self.color = color
        self.faint = faint
        self.secondary = secondary
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

/// A chart's y axis.
public enum ChartScale: String, Sendable { case linear, log }

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
        if a < 1e-3 || step < 1e-3 {
            // Small values in e-notation, with a decimal only where the tick needs one (7.5e-4).
            let short = String(format: "%.0e", v)
            let text = abs((Double(short) ?? v) - v) <= step * 1e-3 ? short : String(format: "%.1e", v)
            return text.replacingOccurrences(of: "e-0", with: "e-")
        }
        // As many decimals as the step needs to be written exactly (0.25 → 2, 0.5 → 1, 5 → 0).
        var decimals = 0
        while decimals < 4 {
            let scaled = step * pow(10, Double(decimals))
            if abs(scaled - scaled.rounded()) < 1e-6 * max(1, scaled) { break }
            decimals += 1
        }
        return String(format: "%.\(decimals)f", v)
    }

    /// The y range without outliers: Tukey's far-out fences, `q1 − 3·IQR … q3 + 3·IQR` (quartiles
    /// by linear interpolation), cut to the data's own min and max. A first-iteration loss spike
    /// of 20 over losses near 1 lies beyond the upper fence; a loss falling smoothly from 3 to 0.5
    /// keeps its whole range (its fences lie outside the data).
    public static func robustRange(_ values: [Double]) -> (lo: Double, hi: Double) {
        let v = values.filter(\.isFinite).sorted()
        guard let first = v.first, let last = v.last else { return (0, 1) }
        guard v.count >= 4 else { return (first, last) }
        func quantile(_ q: Double) -> Double {
            let p = q * Double(v.count - 1)
            let i = Int(p.rounded(.down)), f = p - Double(i)
            return i + 1 < v.count ? v[i] * (1 - f) + v[i + 1] * f : v[i]
        }
        let q1 = quantile(0.25), q3 = quantile(0.75), iqr = q3 - q1
        return (max(first, q1 - 3 * iqr), min(last, q3 + 3 * iqr))
    }

    /// Ticks for a log axis given in log10 units: whole decades when the range spans two or
    /// more, otherwise linear ticks in log units (labelled by `logLabel`).
    public static func logTicks(lo: Double, hi: Double, count: Int) -> (lo: Double, hi: Double, ticks: [Double]) {
        guard lo.isFinite, hi.isFinite else { return (0, 1, [0, 1]) }
        if hi - lo >= 2 {
            let a = floor(lo + 1e-9)
            var b = ceil(hi - 1e-9)
            let every = Double(max(1, Int(((b - a) / Double(max(1, count - 1))).rounded(.up))))
            b = a + every * ((b - a) / every).rounded(.up)  // the range ends on a tick
            return (a, b, stride(from: a, through: b + 1e-9, by: every).map { $0 })
        }
        return ticks(lo: lo, hi: hi, count: count)
    }

    /// The label of a log-axis tick at log10 value `v`: `1e-3`, `0.05`, `2.5`, `300`, `1.2k`.
    public static func logLabel(_ v: Double) -> String {
        let x = pow(10, v)
        if x >= 1e4 { return compact(x) }
        if x < 1e-2 { return String(format: "%.0e", x).replacingOccurrences(of: "e-0", with: "e-") }
        let text = String(format: "%.2g", x)
        return text.contains("e") ? String(format: "%.0f", x) : text
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
    /// Linear or logarithmic (base 10) y axis; a log axis leaves out values ≤ 0.
    public var scale: ChartScale
    /// The y range left out of outliers (Tukey's far-out fences, see `ChartMath.robustRange`);
    /// points beyond it are drawn on the plot's edge and counted in its corner (`▲3`).
    public var robust: Bool
    /// A legend row over the plot (each distinct series name in its colour) when there is room.
    public var legend: Bool

    public init(series: [ChartSeries], xLabel: String, glyphs: ChartGlyphs = .braille,
                yRange: ClosedRange<Double>? = nil, emptyText: String = "no data yet",
                scale: ChartScale = .linear, robust: Bool = true, legend: Bool = true) {
        self.series = series
        self.xLabel = xLabel
        self.glyphs = glyphs
        self.yRange = yRange
        self.emptyText = emptyText
        self.scale = scale
        self.robust = robust
        self.legend = legend
    }

    /// The series as plotted: y as log10(y) on a log axis (values ≤ 0 left out).
    var plotted: [ChartSeries] {
        guard scale == .log else { return series }
        return series.map { s in
            var t = s
            t.points = s.points.compactMap { $0.y > 0 ? ChartPoint($0.x, log10($0.y)) : nil }
            return t
        }
    }

    /// Legend entries: each distinct name once, in drawing order.
    var legendEntries: [(name: String, color: TermColor, faint: Bool)] {
        var seen = Set<String>()
        var out: [(name: String, color: TermColor, faint: Bool)] = []
        for s in series.filter({ !$0.secondary }) + series.filter(\.secondary)
        where !s.points.isEmpty && seen.insert(s.name).inserted {
            out.append((s.name, s.color, s.faint))
        }
        return out
    }

    /// The legend in one row: `─ name` per entry, as many as fit.
    func drawLegend(in rect: Rect, grid: inout CellGrid, styles: Styles) {
        var x = rect.x
        for entry in legendEntries {
            let need = 2 + TextWidth.width(entry.name)
            if x + need > rect.maxX { break }
            var mark = Style(fg: entry.color, bg: styles.background)
            if entry.faint { mark = mark.adding(.dim) }
            grid.put("━", x: x, y: rect.y, style: mark)
            grid.put(entry.name, x: x + 1, y: rect.y, style: styles.dim)
            x += need + 1
        }
        if scale == .log {
            let text = "log"
            if x + TextWidth.width(text) <= rect.maxX { grid.put(text, x: rect.maxX - TextWidth.width(text), y: rect.y, style: styles.accent) }
        }
    }

    /// Finite points of every series.
    var allPoints: [ChartPoint] { series.flatMap { $0.points.filter { $0.x.isFinite && $0.y.isFinite } } }

    public func draw(in rect: Rect, grid: inout CellGrid, styles: Styles) {
        guard rect.width >= 8, rect.height >= 3 else { return }
        let series = plotted
        let points = series.flatMap { $0.points.filter { $0.x.isFinite && $0.y.isFinite } }
        guard !points.isEmpty else {
            grid.centered(self.scale == .log && !allPoints.isEmpty ? "no values > 0 for a log axis" : emptyText, in: rect,
                          y: rect.y + rect.height / 2, style: styles.dim)
            return
        }
        var rect = rect
        if legend, rect.height >= 6 {
            drawLegend(in: Rect(x: rect.x + 1, y: rect.y, width: rect.width - 1, height: 1), grid: &grid, styles: styles)
            rect = Rect(x: rect.x, y: rect.y + 1, width: rect.width, height: rect.height - 1)
        }
        let ys = points.map(\.y)
        var (ylo, yhi) = robust ? ChartMath.robustRange(ys) : (ys.min() ?? 0, ys.max() ?? 1)
        if let yRange {
            let r = self.scale == .log ? log10(max(yRange.lowerBound, 1e-12))...log10(max(yRange.upperBound, 1e-12)) : yRange
            ylo = min(ylo, r.lowerBound)
            yhi = max(yhi, r.upperBound)
        }
        let plotRows = rect.height - 2
        let scale = self.scale == .log
            ? ChartMath.logTicks(lo: ylo, hi: yhi, count: max(2, min(5, plotRows / 2 + 1)))
            : ChartMath.ticks(lo: ylo, hi: yhi, count: max(2, min(5, plotRows / 2 + 1)))
        let step = scale.ticks.count > 1 ? scale.ticks[1] - scale.ticks[0] : 1
        let labels = scale.ticks.map { self.scale == .log ? ChartMath.logLabel($0) : ChartMath.label($0, step: step) }
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
        // Points outside the range are drawn on the edge; their count goes in the corner.
        let above = ys.filter { $0 > scale.hi }.count, below = ys.filter { $0 < scale.lo }.count
        if above > 0 {
            let text = "▲\(above)"
            grid.put(text, x: plot.maxX - TextWidth.width(text), y: plot.y, style: styles.warning)
        }
        if below > 0 {
            let text = "▼\(below)"
            grid.put(text, x: plot.maxX - TextWidth.width(text), y: plot.maxY - 1, style: styles.warning)
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
