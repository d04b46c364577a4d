import ArgumentParser
import Foundation
import Models
import NN

/// `segscope bench backends`: one model's inference and training step timed on each backend, in
/// the protocol of `../shared/bench/torch_reference.py` (2 warm-ups, median of the timed
/// iterations; inference = eval mode without gradients; one training step = forward,
/// cross-entropy ignoring 255 on ~5% void pixels, backward, Adam), with oneDNN's per-op times.
struct BenchCompareBackends: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backends",
        abstract: "Time a model's inference and training step on the dnnl and reference backends.",
        discussion: """
            Prints ms/step and images/s per backend, the dnnl ÷ reference ratio, peak RSS, and where \
            the dnnl step's time goes (each oneDNN entry point, layout conversions asked for by \
            other ops, and the rest: elementwise ops, loss, optimizer). Compare with PyTorch by \
            running `torch_reference.py` with the same model, batch, size and threads alternately \
            (peak RSS is per process: pass one --backend for a fair RSS figure).
            """)

    @Option(help: "Model: \(ModelRegistry.names.joined(separator: ", ")).")
    var model: String = "xunet"

    @Option(help: "Images per batch.")
    var batch: Int = 1

    @Option(help: "Input size HxW (default: the model's reference size).")
    var size: String?

    @Option(help: "Threads (oneDNN, OpenBLAS and NN's loops).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Timed iterations (after 2 warm-ups).")
    var iters: Int = 5

    @Option(help: "Backends to time, comma-separated: dnnl, reference.")
    var backend: String = "dnnl,reference"

    @Option(help: "What to time: train, infer or both.")
    var mode: String = "both"

    @Flag(help: "Convert every dnnl result to NCHW (measures what the blocked layouts save).")
    var nchw = false

    @Flag(help: "Run stride-2 transposed convs on oneDNN's deconvolution instead of four phase convs.")
    var directDeconv = false

    @Flag(help: "Reorder dnnl weights at every inference call instead of once per parameter version.")
    var reorderWeightsEveryCall = false

    @Flag(help: "Print one JSON object.")
    var json = false

    struct Timing: Codable {
        var backend: String
        var inferMs: Double?
        var inferImagesPerSecond: Double?
        var trainMs: Double?
        var trainImagesPerSecond: Double?
        /// dnnl only: seconds per training step in each backend entry point.
        var trainProfile: [String: Double]?
        var inferProfile: [String: Double]?
    }

    struct Report: Codable {
        var model: String
        var batch: Int
        var size: [Int]
        var classes: Int
        var threads: Int
        var timings: [Timing]
        var peakRSSMiB: Double
    }

    func run() throws {
        guard batch >= 1, iters >= 1, threads >= 1 else { throw ValidationError("--batch, --iters and --threads must be positive") }
        guard ["train", "infer", "both"].contains(mode) else { throw ValidationError("--mode must be train, infer or both (got \(mode))") }
        let spec = try ModelRegistry.spec(named: model)
        let input = try size.map { try InputSize(parsing: $0) } ?? spec.defaultInput
        try spec.validate(input)
        let names = backend.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        // oneDNN runs on an instance of its own, made with this run's switches and a profile.
        let options = DNNLOptions(keepsBlockedLayouts: !nchw, usesPhaseDeconvolution: !directDeconv,
                                  keepsInferenceWeights: !reorderWeightsEveryCall)
        let backends: [any Backend] = try names.map { name in
            let b = try Backends.named(name)
            return b is DNNLBackend ? try DNNLBackend(options: options, profile: DNNLProfile()) : b
        }
        Threads.set(threads)

        let classes = spec.defaultClasses
        let (h, w) = (input.height, input.width)
        let gen = Generator(seed: 0)
        let x = Tensor(zeros: [batch, 3, h, w])
        gen.fillNormal(x.data, count: x.count, std: 1)
        var labels = [UInt8](repeating: 0, count: batch * h * w)
        for i in labels.indices { labels[i] = gen.uniform() < 0.05 ? 255 : UInt8(gen.int(below: classes)) }

        var timings: [Timing] = []
        for (name, be) in zip(names, backends) {
            Backends.current = be
            let dnnl = be as? DNNLBackend
            let net = try spec.build(ModelOptions(classes: classes, seed: 0))
            var t = Timing(backend: name)
            if mode != "train" {
                net.eval()
                let (s, prof) = time(dnnl) { _ = GradMode.withoutGrad { net(x) } }
                t.inferMs = s * 1e3
                t.inferImagesPerSecond = Double(batch) / s
                t.inferProfile = prof
            }
            if mode != "infer" {
                net.train()
                let opt = Optimizer(net, rule: Adam(), learningRate: 1e-3)
                let (s, prof) = time(dnnl) {
                    opt.zeroGrad()
                    crossEntropy(net(x), targets: labels).backward()
                    opt.step()
                }
                t.trainMs = s * 1e3
                t.trainImagesPerSecond = Double(batch) / s
                t.trainProfile = prof
            }
            timings.append(t)
            Backends.current = ReferenceBackend.shared
        }
        let report = Report(model: spec.name, batch: batch, size: [h, w], classes: classes, threads: threads,
                            timings: timings, peakRSSMiB: peakRSSMiB())
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys]
            print(String(decoding: try enc.encode(report), as: UTF8.self))
        } else {
            printReport(report)
        }
    }

    /// Median seconds of `body` over `iters` runs after 2 warm-ups, and (dnnl) the mean
    /// per-entry-point seconds of the timed runs.
    func time(_ dnnl: DNNLBackend?, _ body: () -> Void) -> (Double, [String: Double]?) {
        body(); body()
        dnnl?.profile?.reset()
        let times = BenchTrain.times(iters, warmUps: 0, body)
        let median = BenchTrain.median(of: times)
        guard let profile = dnnl?.profile else { return (median, nil) }
        var table: [String: Double] = [:]
        for (name, e) in profile.entries { table[name] = e.seconds / Double(iters) }
        table["(other: elementwise, loss, optimizer)"] = max(0, times.reduce(0, +) / Double(iters) - profile.totalSeconds / Double(iters))
        return (median, table)
    }

    func peakRSSMiB() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }

    func printReport(_ r: Report) {
        print("\(r.model) \(r.size[0])x\(r.size[1]) batch \(r.batch), \(r.threads) threads")
        func f(_ v: Double?) -> String { v.map { String(format: "%9.1f", $0) } ?? "        -" }
        print("backend      infer ms  infer img/s   train ms  train img/s")
        for t in r.timings {
            print("\(t.backend.padding(toLength: 10, withPad: " ", startingAt: 0))  \(f(t.inferMs))  \(f(t.inferImagesPerSecond))  "
                  + "\(f(t.trainMs))  \(f(t.trainImagesPerSecond))")
        }
        if let d = r.timings.first(where: { $0.backend == "dnnl" }), let ref = r.timings.first(where: { $0.backend == "reference" }) {
            if let a = d.inferMs, let b = ref.inferMs { print(String(format: "dnnl ÷ reference inference speed: %.2f×", b / a)) }
            if let a = d.trainMs, let b = ref.trainMs { print(String(format: "dnnl ÷ reference training speed:  %.2f×", b / a)) }
        }
        for t in r.timings {
            for (label, prof) in [("training step", t.trainProfile), ("inference", t.inferProfile)] {
                guard let prof else { continue }
                let total = prof.values.reduce(0, +)
                print("\n\(t.backend) \(label), mean ms per step by entry point:")
                for (name, s) in prof.sorted(by: { $0.value > $1.value }) {
                    print(String(format: "  %8.2f ms  %5.1f%%  %@", s * 1e3, 100 * s / max(total, 1e-12), name))
                }
            }
        }
        print(String(format: "\npeak RSS: %.0f MiB", r.peakRSSMiB))
    }
}
