import ArgumentParser
import Foundation
import Models
import NN
import Training

/// `segscope bench train`: images/s of a model's inference and full training step.
struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Measure a model's inference and training images/s and peak memory.",
        discussion: """
            Times, like ../shared/bench/torch_reference.py (run both with the same model, batch, \
            size and threads, alternately, and compare the ratios): inference in eval mode without \
            autograd, and one training step in train mode — forward, cross-entropy with ignore \
            index 255 on ~5% void pixels, backward, Adam (lr 1e-3). Each figure is the median of \
            --iters timed runs after 2 warm-ups. Peak RSS is the process's maximum resident size. \
            First target on the reference backend: ≥ 0.5× PyTorch's training images/s for xunet \
            at batch 8. After the timing, one more step runs through a counting wrapper of the \
            backend: its conv and transposed-conv flops (2 per multiply-add; forward, weight \
            gradient, and input gradient where one is needed) over the median step time are the \
            achieved GFLOP/s, printed against the backend's 3×3 conv forward GFLOP/s measured in \
            the same run (the conv peak) as a ratio.
            """)

    @Option(help: "Model name (see `segscope model list`).")
    var model: String

    @Option(help: "Images per batch.")
    var batch: Int = 1

    @Option(help: "Input size HxW (default: the model's reference size).")
    var size: String?

    @Option(help: "Number of classes (default: the model's).")
    var classes: Int?

    @Option(help: "Threads for BLAS and the engine's loops (default: all cores).")
    var threads: Int?

    @Option(help: "Timed iterations per measurement (after 2 warm-ups).")
    var iters: Int = 10

    @Option(help: "What to time: train, infer or both.")
    var mode: Mode = .both

    @Option(help: "Numeric backend: \(Backends.names.joined(separator: " or ")) (default: \(Backends.defaultName) here).")
    var backend: String?

    @Option(help: "Convolution arithmetic: fp32 (default) or bf16 (oneDNN AVX512-BF16 / AMX kernels; fp32 with a notice elsewhere).")
    var precision: String?

    @Flag(help: "Print one JSON object (keys as torch_reference.py's).")
    var json = false

    @Flag(help: "Under mpirun / srun: every rank times the training step with the gradients averaged over the ranks; rank 0 prints step time, communication time and efficiency.")
    var distributed = false

    @Flag(help: "With --distributed: all-reduce the buckets after the backward, blocking (default: non-blocking, started during the backward, as training does).")
    var blockingAllreduce = false

    enum Mode: String, ExpressibleByArgument, CaseIterable { case train, infer, both }

    struct Report: Codable {
        var model: String
        var batch: Int
        var size: [Int]
        var classes: Int
        var threads: Int
        var params: Int
        var backend: String
        /// The convolution arithmetic that ran: "bf16" (oneDNN bf16 kernels) or "fp32".
        var precision: String?
        var infer_ms: Double?
        var infer_img_s: Double?
        var train_ms: Double?
        var train_img_s: Double?
        var train_loss_first: Double?
        var sgemm_gflops: Double?
        /// Conv / transposed-conv flops of one training step (forward + backward, counted from the
        /// model's conv shapes by `CountingBackend`), the GFLOP/s the median step achieves, the
        /// backend's 3×3 conv forward GFLOP/s measured in the same run, and their ratio.
        var train_gflop_per_step: Double?
        var train_gflops: Double?
        var conv_peak_gflops: Double?
        var of_conv_peak: Double?
        /// /proc/loadavg's 1-minute figure at the end of the run.
        var load_average: Double?
        var peak_rss_mib: Double
        /// `--distributed`: ranks, images/s of all ranks together, median all-reduce ms per step,
        /// bytes all-reduced per step, and (step − all-reduce) / step.
        var ranks: Int?
        var global_train_img_s: Double?
        var allreduce_ms: Double?
        var allreduce_mib: Double?
        var efficiency: Double?
    }

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
        guard iters >= 1 else { throw ValidationError("--iters must be at least 1, got \(iters)") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func run() throws {
        let group = distributed ? try DistributedMode.mpi.join(environment: ProcessInfo.processInfo.environment) : nil
        let spec = try ModelRegistry.spec(named: model)
        let input = try parseInputSize(size) ?? spec.defaultInput
        try spec.validate(input)
        let threadCount = threads ?? ProcessInfo.processInfo.activeProcessorCount
        Threads.set(threadCount)
        try selectBackend(backend, precision: precision)
        let net = try spec.build(ModelOptions(classes: classes ?? spec.defaultClasses, seed: 0))
        let c = net.classes

        // Inputs as torch_reference.py makes them: N(0, 1) images, uniform labels, ~5% void.
        let g = Generator(seed: 0)
        let x = Tensor(uninitialized: [batch, net.inChannels, input.height, input.width])
        g.fillNormal(x.data, count: x.count, std: 1)
        let pixels = batch * input.height * input.width
        let labels: [Int32] = (0..<pixels).map { _ in
            let label = Int32(g.int(below: c))
            return g.uniform() < 0.05 ? 255 : label
        }

        var report = Report(model: spec.name, batch: batch, size: [input.height, input.width], classes: c,
                            threads: threadCount, params: net.trainableCount, backend: Backends.current.name,
                            peak_rss_mib: 0)
        report.precision = (Backends.current as? DNNLBackend)?.options.bf16 == true ? "bf16" : "fp32"
        if mode != .train {
            net.eval()
            let seconds = BenchTrain.median(iters) { _ = GradMode.withoutGrad { net(x) } }
            report.infer_ms = seconds * 1e3
            report.infer_img_s = Double(batch) / seconds
        }
        if mode != .infer {
            net.train()
            let optimizer = Optimizer(net, rule: Adam(), learningRate: 1e-3)
            var firstLoss: Double?
            var communication: [Double] = []
            var failure: Error?
            let times = BenchTrain.times(iters, warmUps: 2) {
                optimizer.zeroGrad()
                let loss = crossEntropy(net(x), targets: labels, ignoreIndex: 255)
                if firstLoss == nil { firstLoss = Double(loss.item) }
                guard let group, failure == nil else {
                    loss.backward()
                    optimizer.step()
                    return
                }
                let before = group.gradientSeconds
                do {
                    if blockingAllreduce {
                        loss.backward()
                        try group.averageGradients(optimizer.parameters)
                    } else {
                        group.beginStep(optimizer.parameters)
                        var hookFailure: Error?
                        loss.backward(gradient: Tensor(shape: loss.shape, repeating: 1)) { p in
                            do { try group.gradientReady(p) } catch { hookFailure = hookFailure ?? error }
                        }
                        if let hookFailure { throw hookFailure }
                        try group.finishStep()
                    }
                } catch {
                    failure = error
                }
                communication.append(group.gradientSeconds - before)
                optimizer.step()
            }
            if let failure { throw failure }
            let seconds = BenchTrain.median(of: times)
            report.train_ms = seconds * 1e3
            report.train_img_s = Double(batch) / seconds
            report.train_loss_first = firstLoss
            if group == nil {
                // One more (untimed) step through a counting wrapper of the same backend.
                let counter = CountingBackend(inner: Backends.current)
                Backends.current = counter
                optimizer.zeroGrad()
                crossEntropy(net(x), targets: labels, ignoreIndex: 255).backward()
                optimizer.zeroGrad()
                Backends.current = counter.inner
                let flops = counter.forwardFlops + counter.backwardFlops
                report.train_gflop_per_step = flops / 1e9
                report.train_gflops = flops / seconds / 1e9
                let peak = BenchTrain.convPeakGflops()
                report.conv_peak_gflops = peak
                report.of_conv_peak = flops / seconds / 1e9 / peak
            }
            if let group {
                // The timed iterations are the last `iters` (after 2 warm-ups).
                let timed = Array(communication.suffix(iters))
                let allReduce = BenchTrain.median(of: timed)
                let steps = zip(times, timed).map { ($0.0 - $0.1) / $0.0 }
                report.ranks = group.size
                report.global_train_img_s = Double(batch * group.size) / seconds
                report.allreduce_ms = allReduce * 1e3
                report.allreduce_mib = Double(group.gradientBytesPerStep) / 1048576
                report.efficiency = BenchTrain.median(of: steps)
            }
        }
        // The machine's sgemm speed in the same run, as torch_reference.py measures it (2048²).
        let n = 2048
        let a = Tensor(uninitialized: [n, n]), b = Tensor(uninitialized: [n, n])
        g.fillNormal(a.data, count: a.count, std: 1)
        g.fillNormal(b.data, count: b.count, std: 1)
        let gemmSeconds = BenchTrain.median(10) { _ = GradMode.withoutGrad { matmul(a, b) } }
        report.sgemm_gflops = 2 * pow(Double(n), 3) / gemmSeconds / 1e9
        report.peak_rss_mib = BenchTrain.peakRSSMiB()
        report.load_average = BenchTrain.loadAverage()
        if let group, group.rank != 0 { return }

        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print("model \(report.model), batch \(batch), input \(input), \(c) classes, \(threadCount) threads, backend \(report.backend)")
        print("params          \(grouped(report.params))")
        if let ms = report.infer_ms, let ips = report.infer_img_s {
            print(String(format: "inference       %9.1f ms/batch  %8.2f images/s", ms, ips))
        }
        if let ms = report.train_ms, let ips = report.train_img_s {
            print(String(format: "training step   %9.1f ms/batch  %8.2f images/s  (forward, loss, backward, Adam)", ms, ips))
        }
        if let ranks = report.ranks, let global = report.global_train_img_s, let ms = report.allreduce_ms,
           let mib = report.allreduce_mib, let efficiency = report.efficiency {
            print(String(format: "data-parallel   %d ranks × batch %d: %8.2f images/s together", ranks, batch, global))
            print(String(format: "all-reduce      %9.1f ms/step in MPI of %.1f MiB (%@); step %.1f ms", ms, mib,
                         blockingAllreduce ? "blocking, after the backward" : "non-blocking, started during the backward",
                         report.train_ms ?? .nan))
            print(String(format: "efficiency      %9.1f %% of the step outside communication (rank 0)", efficiency * 100))
        }
        print(String(format: "peak RSS        %9.1f MiB", report.peak_rss_mib))
        print(String(format: "tensor memory   %9.1f MiB at most in use, %.1f MiB held with the pool's free buffers",
                     Double(BufferPool.shared.peakLiveBytes) / 1048576, Double(BufferPool.shared.peakHeldBytes) / 1048576))
        if let gflops = report.sgemm_gflops { print(String(format: "sgemm 2048²     %9.1f GFLOP/s (this run)", gflops)) }
        if let step = report.train_gflop_per_step, let achieved = report.train_gflops, let peak = report.conv_peak_gflops,
           let ratio = report.of_conv_peak {
            print(String(format: "conv peak       %9.1f GFLOP/s (3×3 conv forward 8×64×128×128→64, this run, this backend)", peak))
            print(String(format: "training        %9.1f GFLOP/s  %5.1f %% of the conv peak  (%.2f GFLOP per step in convs, forward + backward)",
                         achieved, ratio * 100, step))
        }
        if let load = report.load_average { print(String(format: "load average    %9.2f (1 minute, at the end; above the core count the figures are depressed)", load)) }
        print("Compare: ~/torch-venv/bin/python ../shared/bench/torch_reference.py --model \(spec.name) --batch \(batch) "
              + "--size \(input) --threads \(threadCount)")
    }

    /// Median wall time in seconds of `iterations` runs of `body` after 2 warm-ups.
    static func median(_ iterations: Int, _ body: () -> Void) -> Double {
        median(of: times(iterations, warmUps: 2, body))
    }

    /// Wall times in seconds of `iterations` runs of `body` after `warmUps` untimed runs.
    static func times(_ iterations: Int, warmUps: Int, _ body: () -> Void) -> [Double] {
        for _ in 0..<warmUps { body() }
        return (0..<iterations).map { _ in
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        }
    }

    static func median(of times: [Double]) -> Double {
        let t = times.sorted()
        return t.count % 2 == 1 ? t[t.count / 2] : (t[t.count / 2 - 1] + t[t.count / 2]) / 2
    }

    /// GFLOP/s of the current backend's 3×3 stride-1 conv forward on 8×64×128×128 → 64 (the
    /// practical conv peak, as `bench ops` reports it): best of 5 after a warm-up.
    static func convPeakGflops() -> Double {
        let shape = [8, 64, 128, 128]
        let x = Tensor(uninitialized: shape), w = Tensor(uninitialized: [64, 64, 3, 3]), b = Tensor(zeros: [64])
        let g = Generator(seed: 7)
        g.fillNormal(x.data, count: x.count, std: 1)
        g.fillNormal(w.data, count: w.count, std: 0.05)
        let geometry = ConvGeometry.conv(input: shape, outChannels: 64, kernel: (3, 3), stride: (1, 1), padding: .same,
                                         dilation: (1, 1), groups: 1)
        let backend = Backends.current
        let times = BenchTrain.times(5, warmUps: 1) {
            _ = GradMode.withoutGrad { backend.convForward(x: x, weight: w, bias: b, geometry: geometry) }
        }
        return geometry.flops / (times.min() ?? .infinity) / 1e9
    }

    static func loadAverage() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8),
              let first = text.split(separator: " ").first else { return nil }
        return Double(first)
    }

    /// The process's peak resident set size (`ru_maxrss`, KiB on Linux) in MiB.
    static func peakRSSMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}
