import ArgumentParser
import Datasets
import Foundation

/// `segscope bench data`: decode + crop + normalize throughput on one core.
struct BenchData: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Measure decode + crop + normalize images/s on one core.",
        discussion: """
            Loads samples of DIR in a loop on the calling thread (JPEG image and PNG mask decode, \
            random crop with padding, ImageNet normalisation to Float32 CHW), as the loader's \
            prefetch thread does. The headline rate is images per second of the benchmark \
            thread's CPU time, so it measures one core even on a busy machine; the wall-clock rate \
            is printed beside it. Target: ≥ 150 images/s on VOC-sized (500×375) JPEGs.
            """)

    @OptionGroup var dataset: DatasetArguments

    @Option(help: "Crop size, WxH.")
    var crop: String = "480x320"

    @Option(help: "Seconds to measure for (after one warm-up pass).")
    var seconds: Double = 3

    @Flag(help: "Print one JSON object.")
    var json = false

    struct Report: Codable {
        var dataset: String
        var samples: Int
        var meanWidth: Double
        var meanHeight: Double
        var crop: String
        var images: Int
        var seconds: Double
        var imagesPerSecond: Double
        /// Images per second of this thread's CPU time: the one-core rate even when other
        /// processes compete for the cores (wall-clock rate = imagesPerSecond).
        var imagesPerCPUSecond: Double
        var cpuSeconds: Double
        var decodeMillisecondsPerImage: Double
        var transformMillisecondsPerImage: Double
        var normalizeMillisecondsPerImage: Double
        var target: Double
    }

    func run() throws {
        guard let cropSize = Size2D(parsing: crop) else { throw ValidationError("--crop must be WxH, e.g. 480x320 (got \(crop))") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        let data = try dataset.open()
        let split = data.splits.first { $0 == "train" } ?? data.splits.first ?? ""
        let ids = try data.allIDs()
        guard !ids.isEmpty else { throw ValidationError("\(data.name) has no samples (splits: \(split))") }
        // Warm-up: decode each once (page cache, lazy allocations) and skip bad samples.
        var usable: [String] = []
        var widths = 0.0, heights = 0.0
        for id in ids {
            if let s = try? data.sample(id: id) {
                usable.append(id)
                widths += Double(s.image.width)
                heights += Double(s.image.height)
            }
        }
        guard !usable.isEmpty else { throw ValidationError("no sample of \(data.name) decodes; run `segscope data check`") }
        let transform = TransformConfig(crop: cropSize, smallImages: .pad, horizontalFlip: true, normalization: .imagenet)
        var buffer = [Float](repeating: 0, count: 3 * cropSize.width * cropSize.height)
        var rng = SeededRandom(seed: 7)
        var decode = 0.0, transformTime = 0.0, normalize = 0.0
        var count = 0
        let cpuStart = threadCPUSeconds()
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            let id = usable[count % usable.count]
            let t0 = Date()
            let sample = try data.sample(id: id)
            let t1 = Date()
            guard let out = transform.apply(sample, rng: &rng) else { continue }
            let t2 = Date()
            buffer.withUnsafeMutableBufferPointer { Transforms.normalize(out.image, .imagenet, into: $0.baseAddress!) }
            let t3 = Date()
            decode += t1.timeIntervalSince(t0)
            transformTime += t2.timeIntervalSince(t1)
            normalize += t3.timeIntervalSince(t2)
            count += 1
        }
        let elapsed = Date().timeIntervalSince(start)
        let cpu = threadCPUSeconds() - cpuStart
        let report = Report(
            dataset: data.name, samples: usable.count, meanWidth: widths / Double(usable.count),
            meanHeight: heights / Double(usable.count), crop: cropSize.description, images: count, seconds: elapsed,
            imagesPerSecond: Double(count) / elapsed, imagesPerCPUSecond: cpu > 0 ? Double(count) / cpu : 0,
            cpuSeconds: cpu, decodeMillisecondsPerImage: 1000 * decode / Double(max(1, count)),
            transformMillisecondsPerImage: 1000 * transformTime / Double(max(1, count)),
            normalizeMillisecondsPerImage: 1000 * normalize / Double(max(1, count)), target: 150)
        if json {
            print(try jsonText(report))
        } else {
            print(String(format: "%.1f images/s on one core (decode + crop %@ + normalize), target ≥ %.0f", report.imagesPerCPUSecond,
                         report.crop, report.target))
            print(String(format: "  per CPU second of the benchmark thread; wall clock %.1f images/s (%.0f %% of a core was ours)",
                         report.imagesPerSecond, 100 * cpu / max(elapsed, 1e-9)))
            print(String(format: "  per image (wall clock): decode %.2f ms (image + mask), crop/flip %.2f ms, normalize %.2f ms",
                         report.decodeMillisecondsPerImage, report.transformMillisecondsPerImage,
                         report.normalizeMillisecondsPerImage))
            print(String(format: "  %d images in %.1f s from %d samples of mean size %.0fx%.0f (%@)", count, elapsed,
                         usable.count, report.meanWidth, report.meanHeight, data.name))
        }
    }
}

/// CPU time consumed by the calling thread.
func threadCPUSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
