import Dispatch
import Foundation
import Queues

/// One batch: images `(n, 3, height, width)` Float32 NCHW and labels `(n, height, width)`
/// class indices (255 = void).
public struct Batch: Sendable {
    public let n: Int
    public let height: Int
    public let width: Int
    /// (n, 3, height, width), row-major.
    public var images: [Float]
    /// (n, height, width), row-major.
    public var labels: [UInt8]
    /// The sample ids, in batch order.
    public var ids: [String]

    public var imageShape: [Int] { [n, 3, height, width] }
    public var labelShape: [Int] { [n, height, width] }
    /// The labels widened to Int32 (what a cross-entropy kernel usually indexes with).
    public var labelsInt32: [Int32] { labels.map { Int32($0) } }
}

/// Loader settings.
public struct LoaderConfig: Sendable, Equatable {
    public var batchSize: Int
    public var shuffle: Bool
    /// Drop the last batch when it would be smaller than `batchSize`.
    public var dropLast: Bool
    public var seed: UInt64
    public var transform: TransformConfig
    /// Batches decoded ahead of the consumer (the bounded queue's capacity).
    public var prefetch: Int
    /// Threads decoding inside the prefetch thread (1: the prefetch thread alone).
    public var workers: Int
    /// Data-parallel training: this rank's part of every epoch (nil: the whole split).
    public var shard: LoaderShard?

    public init(batchSize: Int = 8, shuffle: Bool = true, dropLast: Bool = false, seed: UInt64 = 0,
                transform: TransformConfig = TransformConfig(), prefetch: Int = 4, workers: Int = 1) {
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.seed = seed
        self.transform = transform
        self.prefetch = prefetch
        self.workers = workers
    }
}

/// One rank's part of each epoch in data-parallel training (issue #18, D-162). Every rank draws
/// the same epoch permutation (same seed); the order is padded by repeating its start to a
/// multiple of `count` (as PyTorch's DistributedSampler), cut into global batches of
/// `count × batchSize`, and rank `rank` takes the `rank`-th contiguous part of each. So the
/// ranks' batches at one iteration are together the one-process batch of `count × batchSize`,
/// in rank order, and each sample keeps its own augmentation (seeded by epoch and position).
public struct LoaderShard: Sendable, Equatable {
    public var rank: Int
    public var count: Int

    public init(rank: Int, count: Int) {
        precondition(count >= 1 && (0..<count).contains(rank), "LoaderShard: rank \(rank) of \(count)")
        self.rank = rank
        self.count = count
    }

    /// Samples one rank gets per epoch from a split of `total`: ⌈total / count⌉.
    public func samples(of total: Int) -> Int { (total + count - 1) / count }

    /// This rank's positions of `order` (a permutation of the split) for batches of `batchSize`.
    public func part(of order: [Int], batchSize: Int) -> [Int] {
        guard count > 1, !order.isEmpty else { return order }
        let padded = (0..<(samples(of: order.count) * count)).map { order[$0 % order.count] }
        let global = batchSize * count
        var mine: [Int] = []
        mine.reserveCapacity(padded.count / count)
        var start = 0
        while start < padded.count {
            let chunk = min(global, padded.count - start)   // a multiple of count
            let part = chunk / count
            mine.append(contentsOf: padded[(start + rank * part)..<(start + (rank + 1) * part)])
            start += chunk
        }
        return mine
    }
}

/// Counters of one epoch (or of everything so far), for throughput and stall reporting.
public struct LoaderStats: Sendable, Equatable {
    /// Samples decoded, transformed and delivered.
    public var images = 0
    public var batches = 0
    /// Samples that failed to load (skipped with a warning).
    public var skipped = 0
    /// Samples dropped because they were smaller than the crop (policy `.drop`).
    public var dropped = 0
    /// Seconds the prefetch thread spent producing.
    public var producerSeconds = 0.0
    /// Seconds the consumer spent waiting in `next()` for a batch.
    public var consumerWaitSeconds = 0.0

    /// Images per second of producer time.
    public var imagesPerSecond: Double { producerSeconds > 0 ? Double(images) / producerSeconds : 0 }
}

/// Loads shuffled, transformed batches of one split on a background thread.
///
/// Each epoch's order is a permutation drawn from (seed, epoch), and each sample's random
/// transform from (seed, epoch, sample position), so a run is reproducible whatever the thread
/// timing. A sample that fails to load is skipped: `onWarning` receives a message naming it and
/// the batch is filled from the next samples.
public final class DataLoader: @unchecked Sendable {
    public let dataset: any SegmentationDataset
    public let split: Split
    public let config: LoaderConfig
    public let ids: [String]
    private let onWarning: @Sendable (String) -> Void
    private let lock = NSLock()
    private var totals = LoaderStats()

    public init(dataset: any SegmentationDataset, split: Split, config: LoaderConfig,
                onWarning: @escaping @Sendable (String) -> Void = { _ in }) throws {
        guard config.batchSize >= 1 else { throw DatasetError("batch size must be at least 1 (got \(config.batchSize))") }
        if config.batchSize > 1 && config.transform.outputSize == nil {
            throw DatasetError("batches of \(config.batchSize) images need a fixed size: set a crop or a resize size")
        }
        self.dataset = dataset
        self.split = split
        self.config = config
        self.ids = try dataset.ids(split: split)
        self.onWarning = onWarning
        guard !ids.isEmpty else { throw DatasetError("\(dataset.name): split '\(split)' is empty") }
    }

    /// Samples this loader delivers per epoch: the split, or this rank's shard of it.
    public var samplesPerEpoch: Int { config.shard?.samples(of: ids.count) ?? ids.count }

    /// Batches per epoch when no sample fails or is dropped.
    public var batchesPerEpoch: Int {
        let n = samplesPerEpoch
        return config.dropLast ? n / config.batchSize : (n + config.batchSize - 1) / config.batchSize
    }

    /// Sum of every epoch's stats so far.
    public var stats: LoaderStats { lock.withLock { totals } }

    /// The sample order of `epoch` (this rank's part of it when sharded).
    public func order(epoch: Int) -> [Int] {
        var order = Array(ids.indices)
        if config.shuffle {
            var rng = SeededRandom(seed: config.seed, 0x5348_5546, UInt64(epoch))
            order.shuffle(using: &rng)
        }
        return config.shard?.part(of: order, batchSize: config.batchSize) ?? order
    }

    /// Starts the prefetch thread for `epoch` and returns the batch iterator.
    public func epoch(_ epoch: Int) -> EpochIterator {
        let iterator = EpochIterator(capacity: max(1, config.prefetch)) { [weak self] waited in
            guard let self else { return }
            self.lock.withLock { self.totals.consumerWaitSeconds += waited }
        }
        let order = order(epoch: epoch)
        let queue = iterator.queue
        let thread = Thread { [self] in produce(epoch: epoch, order: order, into: queue) }
        thread.name = "segscope-loader"
        thread.start()
        return iterator
    }

    /// Loads and transforms one sample; nil (with a warning or a drop count) when it cannot be used.
    func load(position: Int, epoch: Int, stats: inout LoaderStats) -> Sample? {
        let id = ids[position]
        do {
            let sample = try dataset.sample(id: id)
            for w in sample.warnings { onWarning("\(id): \(w)") }
            var rng = SeededRandom(seed: config.seed, UInt64(epoch), UInt64(position))
            guard let out = config.transform.apply(sample, rng: &rng) else {
                stats.dropped += 1
                return nil
            }
            return out
        } catch {
            stats.skipped += 1
            onWarning("skipped sample \(id): \(error)")
            return nil
        }
    }

    private func produce(epoch: Int, order: [Int], into iterator: BatchQueue) {
        var stats = LoaderStats()
        var cursor = 0
        let batchSize = config.batchSize
        let workers = max(1, config.workers)
        var start = Date()
        while cursor < order.count && !iterator.isCancelled {
            var samples: [Sample] = []
            while samples.count < batchSize && cursor < order.count {
                let need = min(batchSize - samples.count, order.count - cursor)
                let positions = Array(order[cursor..<(cursor + need)])
                cursor += need
                if workers == 1 {
                    for p in positions { if let s = load(position: p, epoch: epoch, stats: &stats) { samples.append(s) } }
                } else {
                    let slots = ResultSlots<LoadResult>(count: positions.count)
                    DispatchQueue.concurrentPerform(iterations: positions.count) { i in
                        var local = LoaderStats()
                        let s = load(position: positions[i], epoch: epoch, stats: &local)
                        slots.set(i, LoadResult(sample: s, stats: local))
                    }
                    for i in positions.indices {
                        guard let r = slots.get(i) else { continue }
                        stats.skipped += r.stats.skipped
                        stats.dropped += r.stats.dropped
                        if let s = r.sample { samples.append(s) }
                    }
                }
            }
            if samples.isEmpty || (config.dropLast && samples.count < batchSize) { break }
            let batch = makeBatch(samples)
            stats.images += samples.count
            stats.batches += 1
            stats.producerSeconds += Date().timeIntervalSince(start)
            if !iterator.push(batch) { break }
            start = Date()
        }
        let finished = stats
        lock.withLock {
            totals.images += finished.images
            totals.batches += finished.batches
            totals.skipped += finished.skipped
            totals.dropped += finished.dropped
            totals.producerSeconds += finished.producerSeconds
        }
        iterator.finish(stats: finished)
    }

    private func makeBatch(_ samples: [Sample]) -> Batch {
        let h = samples[0].image.height, w = samples[0].image.width
        let plane = h * w
        var images = [Float](repeating: 0, count: samples.count * 3 * plane)
        var labels = [UInt8](repeating: LabelMap.void, count: samples.count * plane)
        images.withUnsafeMutableBufferPointer { dst in
            for (i, s) in samples.enumerated() {
                // Sizes are equal whenever a crop or resize is set (checked in init); a batch of one may have any size.
                Transforms.normalize(s.image, config.transform.normalization, into: dst.baseAddress! + i * 3 * plane)
            }
        }
        for (i, s) in samples.enumerated() { labels.replaceSubrange((i * plane)..<((i + 1) * plane), with: s.label.values) }
        return Batch(n: samples.count, height: h, width: w, images: images, labels: labels, ids: samples.map(\.id))
    }
}

private struct LoadResult: Sendable {
    var sample: Sample?
    var stats: LoaderStats
}

/// The consumer's side of one epoch. Releasing it (or calling `cancel()`) stops the prefetch thread.
public final class EpochIterator: IteratorProtocol, Sequence, @unchecked Sendable {
    let queue: BatchQueue
    private let recordWait: @Sendable (Double) -> Void

    init(capacity: Int, recordWait: @escaping @Sendable (Double) -> Void) {
        queue = BatchQueue(capacity: capacity)
        self.recordWait = recordWait
    }

    deinit { queue.cancel() }

    /// The next batch, waiting for the prefetch thread if needed; nil at the end of the epoch.
    public func next() -> Batch? {
        let (batch, waited) = queue.pop()
        recordWait(waited)
        return batch
    }

    /// Stops the prefetch thread after its current batch.
    public func cancel() { queue.cancel() }

    /// This epoch's stats (complete once `next()` has returned nil).
    public var stats: LoaderStats { queue.stats }
}

/// A bounded queue between the prefetch thread (push) and the consumer (pop), with the epoch's
/// stats. Cancelling (the consumer) and finishing (the producer) both close it.
final class BatchQueue: @unchecked Sendable {
    private let batches: BlockingQueue<Batch>
    private let lock = NSLock()
    private var finalStats = LoaderStats()
    private var waited = 0.0

    init(capacity: Int) { batches = BlockingQueue(capacity: capacity) }

    /// The next batch (nil at the end of the epoch) and the seconds spent waiting for it.
    func pop() -> (Batch?, Double) {
        let start = Date()
        let batch = batches.pop()
        let w = Date().timeIntervalSince(start)
        lock.withLock { waited += w }
        return (batch, w)
    }

    func cancel() { batches.close() }

    var stats: LoaderStats {
        lock.withLock {
            var s = finalStats
            s.consumerWaitSeconds = waited
            return s
        }
    }

    /// The consumer cancelled (the producer stops; it closes the queue itself only when done).
    var isCancelled: Bool { batches.isClosed }

    /// Blocks while the queue is full; false when the consumer cancelled.
    func push(_ batch: Batch) -> Bool { batches.push(batch, whenFull: .wait) }

    func finish(stats: LoaderStats) {
        lock.withLock { finalStats = stats }
        batches.close()
    }
}
