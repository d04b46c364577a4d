import Foundation
import NN

/// Data-parallel training over the ranks of an MPI job, the design of PyTorch's
/// DistributedDataParallel and Horovod (issue #18, D-161 … D-164): every rank holds the whole
/// model, trains on its own shard of each batch, and the gradients are averaged by all-reduce
/// before every optimizer step, so all ranks take the same step from the same weights.
///
/// Everything here is called on the engine thread (MPI_THREAD_SERIALIZED), in the same order on
/// every rank: a rank that calls a different collective than the others would hang them.
/// `@unchecked Sendable`: made on the main thread, then used only by the engine thread.
public final class DataParallel: @unchecked Sendable {
    public let communicator: MPICommunicator
    /// Gradient bucket size: PyTorch DDP's default `bucket_cap_mb` (25 MiB of Float32).
    public let bucketElements: Int
    public var rank: Int { communicator.rank }
    public var size: Int { communicator.size }
    /// Seconds spent all-reducing gradients (the blocking calls), since the start.
    public private(set) var gradientSeconds = 0.0
    /// Gradient bytes all-reduced per step (parameters, plus one presence flag per parameter).
    public private(set) var gradientBytesPerStep = 0

    private var plan: [[Int]] = []
    private var planSizes: [Int] = []
    /// One buffer per bucket, allocated with the plan (a started non-blocking all-reduce owns
    /// its bucket's buffer until its wait).
    private var bucketBuffers: [UnsafeMutableBufferPointer<Float>] = []
    private var overlap: OverlapStep?

    public init(communicator: MPICommunicator, bucketBytes: Int = 25 << 20) {
        self.communicator = communicator
        bucketElements = max(1, bucketBytes / MemoryLayout<Float>.size)
    }

    deinit { for b in bucketBuffers { b.deallocate() } }

    /// The buckets for parameters of `sizes` (made once, again only if the parameters change).
    private func preparePlan(_ sizes: [Int]) {
        guard sizes != planSizes else { return }
        plan = Self.buckets(sizes: sizes, bucketElements: bucketElements)
        planSizes = sizes
        gradientBytesPerStep = (sizes.reduce(0, +) + sizes.count) * MemoryLayout<Float>.size
        for b in bucketBuffers { b.deallocate() }
        // Layout of a bucket: each parameter's gradient, then one presence flag per parameter.
        bucketBuffers = plan.map { bucket in
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: bucket.reduce(0) { $0 + sizes[$1] } + bucket.count)
            buffer.initialize(repeating: 0)
            return buffer
        }
    }

    /// Copies the bucket's gradients (zeros and flag 0 where a parameter has none) into `base`.
    private func pack(_ bucket: [Int], _ parameters: [(name: String, tensor: Tensor)], into base: UnsafeMutablePointer<Float>) {
        let elements = bucket.reduce(0) { $0 + planSizes[$1] }
        var offset = 0
        for (k, i) in bucket.enumerated() {
            let n = planSizes[i]
            if let g = parameters[i].tensor.grad {
                g.withNCHW { base.advanced(by: offset).update(from: $0, count: n) }
                base[elements + k] = 1
            } else {
                base.advanced(by: offset).update(repeating: 0, count: n)
                base[elements + k] = 0
            }
            offset += n
        }
    }

    /// Writes the summed bucket at `base` back as mean gradients; no rank with a gradient: none.
    private func unpack(_ bucket: [Int], _ parameters: [(name: String, tensor: Tensor)], from base: UnsafePointer<Float>) {
        let elements = bucket.reduce(0) { $0 + planSizes[$1] }
        let scale = 1 / Float(size)
        var offset = 0
        for (k, i) in bucket.enumerated() {
            let n = planSizes[i]
            let p = parameters[i].tensor
            defer { offset += n }
            guard base[elements + k] > 0 else { p.grad = nil; continue }
            let g: Tensor
            if let existing = p.grad, existing.layout.isNCHW {
                g = existing
            } else {
                g = Tensor(zeros: p.shape)
                p.grad = g
            }
            g.withMutableNCHW { d in
                let s = base.advanced(by: offset)
                for j in 0..<n { d[j] = s[j] * scale }
            }
        }
    }

    // MARK: Start

    /// Replaces every rank's parameters and buffers (batch-norm statistics too) by rank 0's,
    /// in one broadcast of the flattened state dict.
    public func broadcastState(of module: Module) throws {
        let tensors = module.stateDict().map(\.tensor)
        var flat: [Float] = []
        flat.reserveCapacity(tensors.reduce(0) { $0 + $1.count })
        for t in tensors { t.withNCHW { flat.append(contentsOf: UnsafeBufferPointer(start: $0, count: t.count)) } }
        try communicator.broadcast(&flat, root: 0)
        var offset = 0
        flat.withUnsafeBufferPointer { source in
            for t in tensors {
                t.withMutableNCHW { $0.update(from: source.baseAddress! + offset, count: t.count) }
                offset += t.count
            }
        }
    }

    /// Throws on a rank whose values differ from the mean over ranks (a rank started with another
    /// model, batch or dataset would otherwise compute garbage or hang in a collective).
    public func requireSameOnEveryRank(_ values: [(what: String, value: Int)]) throws {
        var sums = values.map { Double($0.value) }
        try communicator.allReduceSum(&sums)
        let differing = zip(values, sums).filter { Double($0.0.value) * Double(size) != $0.1 }
        guard differing.isEmpty else {
            let list = differing.map { "\($0.0.what) is \($0.0.value) here, \($0.1 / Double(size)) on average over the ranks" }
            throw Failure(message: "rank \(rank) of \(size) differs from the other ranks: " + list.joined(separator: "; ")
                          + " (every rank must run the same configuration on the same dataset)")
        }
    }

    // MARK: Every step

    /// Element-wise sums over the ranks (step and evaluation counters; exact for integers < 2^53).
    public func sum(_ values: [Double]) throws -> [Double] {
        var out = values
        try communicator.allReduceSum(&out)
        return out
    }

    /// Buckets of parameter indices: the parameters in reverse order (the order the backward
    /// produces their gradients), cut where a bucket would exceed `bucketElements` (a bigger
    /// parameter gets a bucket of its own).
    public static func buckets(sizes: [Int], bucketElements: Int) -> [[Int]] {
        var out: [[Int]] = []
        var current: [Int] = []
        var elements = 0
        for i in sizes.indices.reversed() {
            if !current.isEmpty && elements + sizes[i] > bucketElements {
                out.append(current)
                current = []
                elements = 0
            }
            current.append(i)
            elements += sizes[i]
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// Replaces every parameter's gradient by the mean over the ranks (blocking all-reduce per
    /// bucket, after the backward). A parameter without a gradient here counts as zero; one
    /// without a gradient on every rank keeps none, so the optimizer skips it as in one process.
    public func averageGradients(_ parameters: [(name: String, tensor: Tensor)]) throws {
        preparePlan(parameters.map(\.tensor.count))
        let began = DispatchTime.now().uptimeNanoseconds
        defer { gradientSeconds += Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9 }
        for (b, bucket) in plan.enumerated() {
            let buffer = bucketBuffers[b]
            pack(bucket, parameters, into: buffer.baseAddress!)
            try communicator.allReduceSum(buffer.baseAddress!, count: buffer.count)
            unpack(bucket, parameters, from: buffer.baseAddress!)
        }
    }

    // MARK: Synchronised batch norm

    /// The first failed all-reduce of `sumOverReplicas` (the batch-norm layers cannot throw).
    private var synchronizationFailure: Error?

    /// Throws the failure of a synchronised batch norm's all-reduce since the last call.
    public func throwSynchronizationFailure() throws {
        if let failure = synchronizationFailure { synchronizationFailure = nil; throw failure }
    }

    // MARK: Overlapped with the backward

    /// One step's overlapped averaging: which bucket each parameter is in, how many of a
    /// bucket's gradients are still to come, which buckets are started.
    final class OverlapStep {
        let parameters: [(name: String, tensor: Tensor)]
        var bucketOf: [ObjectIdentifier: Int] = [:]
        var waiting: [Int]
        var launched = 0
        var pending: [PendingReduction?]

        init(parameters: [(name: String, tensor: Tensor)], plan: [[Int]]) {
            self.parameters = parameters
            waiting = plan.map(\.count)
            pending = plan.map { _ in nil }
            for (b, bucket) in plan.enumerated() {
                for i in bucket { bucketOf[ObjectIdentifier(parameters[i].tensor)] = b }
            }
        }
    }

    /// Starts a step of averaging overlapped with the backward (PyTorch DDP's design): call
    /// before the backward, pass `gradientReady` as its leaf hook, call `finishStep` after it.
    public func beginStep(_ parameters: [(name: String, tensor: Tensor)]) {
        preparePlan(parameters.map(\.tensor.count))
        overlap = OverlapStep(parameters: parameters, plan: plan)
    }

    /// The backward's leaf hook: `parameter`'s gradient is complete. A bucket whose gradients
    /// are all complete starts its non-blocking all-reduce — strictly in bucket order, so every
    /// rank issues the same collectives in the same order whatever its backward reported first.
    public func gradientReady(_ parameter: Tensor) throws {
        guard let step = overlap, let b = step.bucketOf[ObjectIdentifier(parameter)] else { return }
        step.waiting[b] -= 1
        try launchReady(step, all: false)
    }

    /// Starts the buckets the backward did not complete, waits for every bucket and writes the
    /// mean gradients back (call after the backward, before the optimizer step).
    public func finishStep() throws {
        guard let step = overlap else { return }
        defer { overlap = nil }
        let began = DispatchTime.now().uptimeNanoseconds
        defer { gradientSeconds += Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9 }
        try launchReady(step, all: true)
        for (b, bucket) in plan.enumerated() {
            try step.pending[b]?.wait()
            unpack(bucket, step.parameters, from: bucketBuffers[b].baseAddress!)
        }
    }

    private func launchReady(_ step: OverlapStep, all: Bool) throws {
        while step.launched < plan.count && (all || step.waiting[step.launched] <= 0) {
            let b = step.launched
            let began = DispatchTime.now().uptimeNanoseconds
            let buffer = bucketBuffers[b]
            pack(plan[b], step.parameters, into: buffer.baseAddress!)
            step.pending[b] = try communicator.startAllReduceSum(buffer.baseAddress!, count: buffer.count)
            step.launched += 1
            if !all { gradientSeconds += Double(DispatchTime.now().uptimeNanoseconds - began) / 1e9 }
        }
    }

    // MARK: Evaluation

    /// This rank's contiguous part of `items` (rank r of n: ⌊r·count/n⌋ ..< ⌊(r+1)·count/n⌋).
    public func shard(_ count: Int) -> Range<Int> {
        (rank * count / size)..<((rank + 1) * count / size)
    }

    /// The evaluation of the whole split from each rank's evaluation of its `shard`: confusion
    /// matrices and loss sums added, every image's scores gathered (in the split's order). The
    /// kept sample predictions are this rank's; images other ranks skipped are counted by rank.
    public func combine(_ local: EvaluationResult, ids: [String], shard: Range<Int>) throws -> EvaluationResult {
        let classes = local.confusion.classCount
        let cells = classes * classes
        let lossWeight = Double(local.imageScores.reduce(0) { $0 + $1.pixels })
        // Layout: confusion counts, loss·pixels, pixels, skipped per rank, then 4 per image
        // (present, mIoU, pixel accuracy, labelled pixels).
        let scoresStart = cells + 2 + size
        // With test-time augmentation, the single-scale confusion counts follow (every rank has the same config).
        let singleStart = scoresStart + 4 * ids.count
        var values = [Double](repeating: 0, count: singleStart + (local.singleScaleConfusion == nil ? 0 : cells))
        for (i, c) in (local.singleScaleConfusion?.counts ?? []).enumerated() { values[singleStart + i] = Double(c) }
        for (i, c) in local.confusion.counts.enumerated() { values[i] = Double(c) }
        if let loss = local.loss {
            values[cells] = loss * lossWeight
            values[cells + 1] = lossWeight
        }
        values[cells + 2 + rank] = Double(local.skipped.count)
        var position: [String: Int] = [:]
        for i in shard { position[ids[i]] = i }
        for score in local.imageScores {
            guard let i = position[score.id] else { continue }
            let at = scoresStart + 4 * i
            values[at] = 1
            values[at + 1] = score.mIoU
            values[at + 2] = score.pixelAccuracy
            values[at + 3] = Double(score.pixels)
        }
        let total = try sum(values)
        guard let confusion = ConfusionMatrix(classCount: classes, counts: total[0..<cells].map { Int($0) },
                                              ignoreIndex: local.confusion.ignoreIndex) else {
            throw Failure(message: "evaluation: the ranks' confusion matrices do not combine (\(classes) classes)")
        }
        var scores: [ImageScore] = []
        for (i, id) in ids.enumerated() where total[scoresStart + 4 * i] > 0 {
            let at = scoresStart + 4 * i
            scores.append(ImageScore(id: id, mIoU: total[at + 1], pixelAccuracy: total[at + 2], pixels: Int(total[at + 3])))
        }
        var skipped = local.skipped
        for r in 0..<size where r != rank && total[cells + 2 + r] > 0 {
            skipped.append("rank \(r): \(Int(total[cells + 2 + r])) images (named in that rank's warnings)")
        }
        let pixels = total[cells + 1]
        // Label quality and confusion cells are not all-reduced: the other ranks' samples keep
        // their scores with quality unknown (D-188).
        let own = Dictionary(local.sampleMetrics.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let perSample = scores.map { s in
            own[s.id] ?? SampleMetrics(id: s.id, mIoU: s.mIoU, pixelAccuracy: s.pixelAccuracy, pixels: s.pixels, labelQuality: .nan)
        }
        let singleScale = local.singleScaleConfusion == nil ? nil
            : ConfusionMatrix(classCount: classes, counts: total[singleStart..<(singleStart + cells)].map { Int($0) },
                              ignoreIndex: local.confusion.ignoreIndex)
        return EvaluationResult(confusion: confusion, imageScores: scores, loss: pixels > 0 ? total[cells] / pixels : nil,
                                samples: local.samples, skipped: skipped, sampleMetrics: perSample, singleScaleConfusion: singleScale)
    }
}

/// `batch_norm = sync`: the batch-norm layers' statistics summed over the ranks (D-166). After
/// a failure the sums stay local and the step throws it (`throwSynchronizationFailure`).
extension DataParallel: BatchNormSynchronizer {
    public func sumOverReplicas(_ values: inout [Double]) {
        guard synchronizationFailure == nil else { return }
        do { try communicator.allReduceSum(&values) } catch { synchronizationFailure = error }
    }
}
