import ArgumentParser
import Foundation
import NN

/// `segscope bench ops`: time and GFLOP/s of each op of the engine on training-sized shapes,
/// next to the machine's sgemm GFLOP/s measured in the same run.
struct BenchOps: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops",
        abstract: "Time the engine's ops (forward and backward) against the machine's sgemm speed.",
        discussion: """
            Each op runs once to warm up, then `--repeats` times; the best time is reported. \
            GFLOP/s counts 2 flops per multiply-add (convs: forward 2·N·O·oh·ow·C/g·kh·kw, \
            backward twice that); memory-bound ops report GB/s of tensors read and written. \
            Targets for the reference backend: 3×3 conv forward ≥ 30% of sgemm, backward ≥ 25%.
            """)

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "Threads for BLAS and the engine's loops (default: all cores).")
    var threads: Int?

    @Option(help: "Timed runs per op (the best is reported).")
    var repeats: Int = 3

    @Flag(help: "Small shapes only (a quick smoke run).")
    var quick = false

    @Option(help: "Backend for conv / deconv / pool / batch norm: \(Backends.names.joined(separator: ", ")).")
    var backend: String = "reference"

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if repeats < 1 { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
    }

    func run() throws {
        if let threads { Threads.set(threads) }
        do {
            try Backends.select(backend)
        } catch {
            throw ValidationError("\(error)")
        }
        let report = OpBenchmark(repeats: repeats, quick: quick).run()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(report.table)
        }
    }
}

struct OpBenchReport: Codable {
    struct Row: Codable {
        var op: String
        var shape: String
        var pass: String
        var milliseconds: Double
        var gflops: Double?
        var gbPerSecond: Double?
        /// GFLOP/s as a fraction of the measured sgemm GFLOP/s.
        var ofSgemm: Double?
        var target: Double?
    }
    var backend: String
    var threads: Int
    var cpu: String
    var sgemmShape: String
    var sgemmGflops: Double
    /// /proc/loadavg's 1-minute figure at the end of the run (other processes compete for the cores).
    var loadAverage: Double?
    var rows: [Row]

    var table: String {
        var lines = [
            "backend  \(backend)",
            "threads  \(threads)    cpu \(cpu)",
            "sgemm    \(sgemmShape): \(String(format: "%.1f", sgemmGflops)) GFLOP/s",
            "load     \(loadAverage.map { String(format: "%.2f", $0) } ?? "unknown") (1-minute load average; above the core count the figures are depressed)",
            "",
            pad("op", 22) + pad("shape", 34) + pad("pass", 9) + lpad("ms", 9) + lpad("GFLOP/s", 9) + lpad("GB/s", 7) + lpad("of sgemm", 10) + lpad("target", 8),
        ]
        for r in rows {
            var line = pad(r.op, 22) + pad(r.shape, 34) + pad(r.pass, 9) + lpad(String(format: "%.2f", r.milliseconds), 9)
            line += lpad(r.gflops.map { String(format: "%.1f", $0) } ?? "", 9)
            line += lpad(r.gbPerSecond.map { String(format: "%.1f", $0) } ?? "", 7)
            line += lpad(r.ofSgemm.map { String(format: "%.0f%%", $0 * 100) } ?? "", 10)
            if let t = r.target, let o = r.ofSgemm { line += lpad(String(format: "≥%.0f%% %@", t * 100, o >= t ? "ok" : "MISS"), 10) }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
    private func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? " " + s : String(repeating: " ", count: n - s.count) + s }
}

struct OpBenchmark {
    var repeats: Int
    var quick: Bool

    /// Best wall time of `body` in milliseconds after one warm-up run.
    func time(_ body: () -> Void) -> Double {
        body()
        var best = Double.infinity
        for _ in 0..<repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
        }
        return best
    }

    static func loadAverage() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8),
              let first = text.split(separator: " ").first else { return nil }
        return Double(first)
    }

    /// A seeded tensor marked as needing a gradient, so backends keep what their backward needs
    /// (oneDNN skips its training workspaces otherwise).
    func random(_ shape: [Int], seed: UInt64) -> Tensor {
        let t = Tensor(zeros: shape)
        Generator(seed: seed).fillUniform(t.data, count: t.count, low: -1, high: 1)
        t.requiresGrad = true
        return t
    }

    func run() -> OpBenchReport {
        let backend = Backends.current
        // Machine sgemm: a large square product.
        let s = quick ? 512 : 2048
        let a = random([s, s], seed: 1), b = random([s, s], seed: 2)
        let sgemmMs = time { _ = NN.matmul(a, b) }
        let sgemm = 2 * Double(s * s * s) / (sgemmMs * 1e6)

        var rows: [OpBenchReport.Row] = []
        func flopRow(_ op: String, _ shape: String, _ pass: String, _ ms: Double, _ flops: Double, target: Double? = nil) {
            let g = flops / (ms * 1e6)
            rows.append(.init(op: op, shape: shape, pass: pass, milliseconds: ms, gflops: g, ofSgemm: g / sgemm, target: target))
        }
        func byteRow(_ op: String, _ shape: String, _ pass: String, _ ms: Double, _ bytes: Double) {
            rows.append(.init(op: op, shape: shape, pass: pass, milliseconds: ms, gbPerSecond: bytes / (ms * 1e6)))
        }
        func shapeText(_ s: [Int]) -> String { s.map(String.init).joined(separator: "×") }

        let batch = quick ? 2 : 8, side = quick ? 32 : 128

        // Convs: (label, input, out channels, kernel, stride, padding, groups, target fwd / bwd)
        let convs: [(String, [Int], Int, Int, Int, Padding, Int, Double?, Double?)] = [
            ("conv 3×3 s1", [batch, 64, side, side], 64, 3, 1, .same, 1, 0.30, 0.25),
            ("conv 3×3 s2 same", [batch, 64, side, side], 128, 3, 2, .same, 1, nil, nil),
            ("conv 1×1", [batch, 128, side / 2, side / 2], 128, 1, 1, .valid, 1, nil, nil),
            ("depthwise 3×3", [batch, 128, side / 2, side / 2], 128, 3, 1, .same, 128, nil, nil),
        ]
        for (label, shape, outC, k, st, pad, groups, tf, tb) in convs {
            let x = random(shape, seed: 3), w = random([outC, shape[1] / groups, k, k], seed: 4), bias = random([outC], seed: 5)
            let g = ConvGeometry.conv(input: shape, outChannels: outC, kernel: (k, k), stride: (st, st), padding: pad,
                                      dilation: (1, 1), groups: groups)
            var y: Tensor? = nil, ctx: AnyObject? = nil
            let fwd = time { (y, ctx) = backend.convForward(x: x, weight: w, bias: bias, geometry: g) }
            flopRow(label, shapeText(shape) + "→\(outC)", "forward", fwd, g.flops, target: tf)
            guard let out = y else { continue }
            let dy = random(out.shape, seed: 6)
            let bwd = time { _ = backend.convBackward(dy: dy, x: x, weight: w, geometry: g, context: ctx, needInput: true, needBias: true) }
            flopRow(label, shapeText(shape) + "→\(outC)", "backward", bwd, 2 * g.flops, target: tb)
        }

        // Transposed convs: the U-Net decoder step and the FCN head.
        let deconvs: [(String, [Int], Int, Int, Int, Padding)] = [
            ("deconv 3×3 s2 same", [batch, 128, side / 2, side / 2], 64, 3, 2, .same),
            ("deconv k64 s32 p16", [quick ? 1 : 8, 21, 10, 15], 21, 64, 32, .symmetric(16)),
        ]
        for (label, shape, outC, k, st, pad) in deconvs {
            let x = random(shape, seed: 7), w = random([shape[1], outC, k, k], seed: 8), bias = random([outC], seed: 9)
            let g = ConvGeometry.transposed(input: shape, outChannels: outC, kernel: (k, k), stride: (st, st), padding: pad,
                                            outputPadding: (0, 0), dilation: (1, 1))
            var y: Tensor? = nil, ctx: AnyObject? = nil
            let fwd = time { (y, ctx) = backend.convTransposeForward(x: x, weight: w, bias: bias, geometry: g) }
            flopRow(label, shapeText(shape) + "→\(outC)", "forward", fwd, g.flops)
            guard let out = y else { continue }
            let dy = random(out.shape, seed: 10)
            let bwd = time { _ = backend.convTransposeBackward(dy: dy, x: x, weight: w, geometry: g, context: ctx, needInput: true, needBias: true) }
            flopRow(label, shapeText(shape) + "→\(outC)", "backward", bwd, 2 * g.flops)
        }

        // Memory-bound ops on the 3×3 conv's activation.
        let shape = [batch, 64, side, side]
        let x = random(shape, seed: 11), x2 = random(shape, seed: 12)
        let bytes = Double(x.count * 4)
        let gamma = Tensor(shape: [64], repeating: 1), beta = Tensor(zeros: [64])
        let rm = Tensor(zeros: [64]), rv = Tensor(shape: [64], repeating: 1)
        var bnCtx: AnyObject? = nil
        let bnF = time { bnCtx = backend.batchNormForward(x: x, gamma: gamma, beta: beta, runningMean: rm, runningVar: rv, settings: .pytorch(), training: true).context }
        byteRow("batch norm (train)", shapeText(shape), "forward", bnF, 3 * bytes)
        let bnB = time { _ = backend.batchNormBackward(dy: x2, x: x, gamma: gamma, settings: .pytorch(), training: true, context: bnCtx) }
        byteRow("batch norm (train)", shapeText(shape), "backward", bnB, 5 * bytes)

        var r: Tensor? = nil
        let reluF = time { r = relu(x) }
        byteRow("relu", shapeText(shape), "forward", reluF, 2 * bytes)
        let addF = time { r = x + x2 }
        byteRow("add", shapeText(shape), "forward", addF, 3 * bytes)
        let catF = time { r = concat([x, x2]) }
        byteRow("concat (channels)", shapeText(shape) + " ×2", "forward", catF, 4 * bytes)

        let pg = PoolGeometry.pool(input: shape, kernel: (3, 3), stride: (2, 2), padding: .same)
        var poolCtx: AnyObject? = nil, pooled: Tensor? = nil
        let poolF = time { (pooled, poolCtx) = backend.maxPoolForward(x: x, geometry: pg) }
        byteRow("max pool 3 s2 same", shapeText(shape), "forward", poolF, 1.5 * bytes)
        if let pooled {
            let pdy = random(pooled.shape, seed: 13)
            let poolB = time { _ = backend.maxPoolBackward(dy: pdy, x: x, geometry: pg, context: poolCtx) }
            byteRow("max pool 3 s2 same", shapeText(shape), "backward", poolB, 1.5 * bytes)
        }
        let small = random([batch, 64, side / 2, side / 2], seed: 14)
        let upF = time { r = upsampleNearest(small, scale: (2, 2)) }
        byteRow("upsample nearest ×2", shapeText(small.shape), "forward", upF, 1.25 * bytes)
        let logits = random([batch, 21, side, side], seed: 15)
        var targets = [Int32](repeating: 0, count: batch * side * side)
        for i in targets.indices { targets[i] = Int32(i % 23 == 0 ? 255 : i % 21) }
        let ceF = time { r = crossEntropy(logits, targets: targets) }
        byteRow("cross entropy", shapeText(logits.shape), "forward", ceF, Double(logits.count * 4))
        _ = r
        return OpBenchReport(backend: backend.name, threads: Threads.count, cpu: CPUFeatures.current.model,
                             sgemmShape: "\(s)×\(s)×\(s)", sgemmGflops: sgemm, loadAverage: Self.loadAverage(), rows: rows)
    }
}
