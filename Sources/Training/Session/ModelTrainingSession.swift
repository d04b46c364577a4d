import Datasets
import Foundation
import Models
import NN

/// The real `TrainingSession`: a `Models` network trained by the `NN` engine on batches from a
/// `Datasets` loader. The engine owns scheduling, evaluation timing, checkpoints and logs; this
/// type computes one step, one evaluation, one prediction, and packs / restores its state.
public final class ModelTrainingSession: TrainingSession {
    public let model: ModelOverview
    public let classNames: [String]
    public let palette: [RGB]
    public let trainSamples: Int
    public let valSamples: Int
    public let iterationsPerEpoch: Int

    private let config: TrainingConfig
    private let network: SegmentationModel
    private let optimizer: Optimizer
    private let dataset: any SegmentationDataset
    private let loader: DataLoader
    /// Random training crops for precise BN (`precise_bn_images`; nil when off).
    private let preciseBNLoader: DataLoader?
    private let valIDs: [String]
    private let predictor: Predictor
    /// The `loss` key's weighted terms (`TrainingRecipe.lossTerms`).
    private let lossTerms: [(loss: SegmentationLoss, weight: Float)]
    private var epoch = 0
    private var batches: EpochIterator?
    /// Data-parallel training over MPI ranks (nil: this process alone).
    private let distributed: DataParallel?
    /// When set, the (averaged) gradients of iteration 1 are written here as safetensors, by
    /// rank 0 only (`segscope train --dump-gradients`: checks data-parallel training against one
    /// process with the whole batch).
    public var gradientDump: URL?
    /// A job of more than one rank agrees on every command (D-167).
    public var rankAgreement: (any RankAgreement)? { distributed.flatMap { $0.size > 1 ? $0 : nil } }

    /// State-dict prefix of optimizer slots and the metadata key of the RNG in checkpoints.
    static let optimizerPrefix = "optimizer."
    static let rngKey = "segscope.rng"

    public init(config: TrainingConfig, context: SessionContext, distributed: DataParallel? = nil) throws {
        self.config = config
        self.distributed = distributed
        Threads.set(config.threads > 0 ? config.threads : ProcessInfo.processInfo.activeProcessorCount)
        for notice in try config.backend.select(precision: config.precision) { context.warn(notice) }
        Generator.default.state = Generator(seed: UInt64(config.seed)).state

        dataset = try config.openDataset()
        classNames = dataset.classNames
        palette = dataset.palette
        let spec = try ModelRegistry.spec(named: config.model)
        network = try spec.build(ModelOptions(classes: classNames.count, seed: UInt64(config.seed)))
        if !config.backboneWeights.isEmpty {
            guard let fcn = network as? BackboneLoadable else {
                throw Failure(message: "config key 'backbone_weights': torchvision ResNet weights are for a model's ImageNet backbone, "
                              + "not \(config.model) (no backbone to load); unset it or train a model with one (see `segscope model list`)")
            }
            let url = URL(fileURLWithPath: config.backboneWeights)
            do {
                try fcn.loadBackbone(from: url, key: config.backboneWeightsKey.isEmpty ? nil : config.backboneWeightsKey)
            } catch {
                throw Failure(message: "config key 'backbone_weights' (\(url.path)): \(error)")
            }
        }
        predictor = Predictor(network: network, sizeMultiple: spec.sizeMultiple, config: config)
        let trainable = network.trainableCount
        model = ModelOverview(name: config.model, trainableParameters: trainable,
                             nonTrainableParameters: network.batchNormStatisticsCount)

        lossTerms = try TrainingRecipe.lossTerms(config, classes: classNames.count)
        let transform = TrainingRecipe.transform(config)
        let trainIDs = try dataset.ids(split: config.split)
        let shard = distributed.map { LoaderShard(rank: $0.rank, count: $0.size) }
        let dropLast = (shard?.samples(of: trainIDs.count) ?? trainIDs.count) > config.batch
        var loaderConfig = LoaderConfig(batchSize: config.batch, shuffle: true, dropLast: dropLast,
                                        seed: UInt64(config.seed), transform: transform)
        loaderConfig.shard = shard
        loader = try DataLoader(dataset: dataset, split: config.split, config: loaderConfig, onWarning: context.warn)
        // Precise BN draws from a loader of its own with a fixed seed, so neither the training
        // loader nor the global generator is advanced and runs resume exactly. Its skipped
        // samples are the training loader's, which already warns about them.
        var preciseBN = loader.config
        preciseBN.dropLast = false
        preciseBN.shard = nil   // every rank the same crops: the same statistics everywhere
        preciseBN.seed = UInt64(config.seed) &+ 0x5eed
        preciseBNLoader = config.preciseBNImages > 0
            ? try DataLoader(dataset: dataset, split: config.split, config: preciseBN) : nil
        trainSamples = loader.ids.count
        iterationsPerEpoch = max(1, loader.batchesPerEpoch)
        valIDs = try dataset.ids(split: config.valSplit)
        valSamples = valIDs.count

        let lr = Float(config.lr)
        let wd = Float(config.weightDecay)
        let rule: any UpdateRule
        switch config.optimizer {
        case .sgd: rule = SGD(momentum: Float(config.momentum), weightDecay: wd)
        case .adam: rule = Adam(weightDecay: wd)
        case .adamw: rule = Adam.adamW(weightDecay: wd)
        case .rmsprop: rule = RMSprop(rho: 0.9, epsilon: 1e-7, momentum: 0, weightDecay: wd, epsilonInsideRoot: true)
        }
        optimizer = Optimizer(network, rule: rule, learningRate: lr)
        if config.headLRMult != 1 {
            for name in TrainingRecipe.headParameters(of: network, model: config.model) {
                optimizer.learningRateMultipliers[name] = Float(config.headLRMult)
            }
        }
        if let distributed {
            try distributed.requireSameOnEveryRank([
                ("the model's parameter count", trainable), ("iterations per epoch", iterationsPerEpoch),
                ("training images", trainSamples), ("validation images", valSamples), ("batch", config.batch)])
            try distributed.broadcastState(of: network)
            if config.batchNorm == .sync {
                for (_, module) in network.namedModules() { (module as? BatchNorm2d)?.synchronizer = distributed }
            }
        }
        enterTrainingMode()
    }

    /// Training mode, with batch norm on its running statistics when `batch_norm = frozen`.
    private func enterTrainingMode() {
        network.train()
        guard config.batchNorm == .frozen else { return }
        for (_, module) in network.namedModules() where module is BatchNorm2d { module.eval() }
    }

    // MARK: Training

    /// The next batch of the current epoch, starting the next epoch when one runs out.
    private func nextBatch() throws -> Batch {
        for _ in 0..<2 {
            if batches == nil { batches = loader.epoch(epoch) }
            if let batch = batches?.next() { return batch }
            batches = nil
            epoch += 1
        }
        throw DatasetError("\(dataset.name): split '\(config.split)' produced no usable batch (every sample failed or was dropped)")
    }

    public func step(iteration: Int, learningRate: Double) throws -> StepResult {
        let batch = try nextBatch()
        enterTrainingMode()
        optimizer.learningRate = Float(learningRate)
        let images = Tensor(shape: batch.imageShape, values: batch.images)
        // Networks with an auxiliary head add its loss at `aux_loss_weight` (torchvision: 0.5).
        let (logits, aux) = network.forwardTraining(images)
        let targets = batch.labelsInt32
        var loss = combinedLoss(lossTerms, logits, targets: targets)
        if let aux, config.auxLossWeight > 0 {
            loss = loss + scale(combinedLoss(lossTerms, aux, targets: targets), by: Float(config.auxLossWeight))
        }
        let predicted = argmaxChannels(logits)
        var correct = 0, labelled = 0
        for (p, t) in zip(predicted, batch.labels) where t != LabelMap.void {
            labelled += 1
            if p == Int32(t) { correct += 1 }
        }
        optimizer.zeroGrad()
        guard let distributed else {
            loss.backward()
            if iteration == 1 { try dumpGradients() }
            optimizer.step()
            return StepResult(loss: Double(loss.item), correctPixels: correct, labeledPixels: labelled, images: batch.n)
        }
        // The loss of the whole (all ranks') batch is the mean over all its labelled pixels:
        // rank r's mean loss weighs labelled_r / labelled_total in it, so its backward starts
        // from size · labelled_r / labelled_total and the mean over ranks is that loss's gradient
        // exactly (D-162), however the void pixels fall on the ranks.
        let totals = try distributed.sum([Double(labelled), labelled > 0 ? Double(loss.item) * Double(labelled) : 0, Double(correct), Double(batch.n)])
        // Each bucket's all-reduce starts as soon as the backward has produced its gradients
        // (non-blocking), and is waited for before the optimizer step (D-164).
        distributed.beginStep(optimizer.parameters)
        var hookFailure: Error?
        let hook: (Tensor) -> Void = { parameter in
            do { try distributed.gradientReady(parameter) } catch { hookFailure = hookFailure ?? error }
        }
        if labelled > 0 {
            let seed = Float(Double(distributed.size) * Double(labelled) / totals[0])
            loss.backward(gradient: Tensor(shape: loss.shape, repeating: seed), onLeafReady: hook)
        } else if config.batchNorm == .sync {
            // Synchronised batch norm all-reduces in the backward too: this rank must take part
            // even without a labelled pixel, with a zero gradient (its loss is not a number).
            let zero = scale(mean(logits), by: 0)
            zero.backward(gradient: Tensor(zeros: zero.shape), onLeafReady: hook)
        }
        if let hookFailure { throw hookFailure }
        try distributed.throwSynchronizationFailure()
        try distributed.finishStep()
        if iteration == 1 { try dumpGradients() }
        optimizer.step()
        return StepResult(loss: totals[0] > 0 ? totals[1] / totals[0] : .nan, correctPixels: Int(totals[2]),
                          labeledPixels: Int(totals[0]), images: Int(totals[3]))
    }

    /// Writes every parameter's gradient (`gradientDump`), on rank 0 only.
    private func dumpGradients() throws {
        guard let gradientDump, (distributed?.rank ?? 0) == 0 else { return }
        let tensors = optimizer.parameters.compactMap { p in
            p.tensor.grad.map { SafetensorsTensor(name: p.name, shape: p.tensor.shape, values: $0.array) }
        }
        do {
            try Safetensors.write(tensors, metadata: ["segscope.ranks": String(distributed?.size ?? 1)], to: gradientDump)
        } catch {
            throw Failure(message: "--dump-gradients \(gradientDump.path): \(error)")
        }
    }

    // MARK: Inference

    private func predictMask(_ image: RGBImage) throws -> LabelMap {
        network.eval()
        return try predictor.predict(image)
    }

    public func evaluate() throws -> EvaluationResult {
        defer { enterTrainingMode() }
        recomputeBatchNormStatistics()
        guard let distributed else {
            return try predictor.evaluate(dataset, ids: valIDs, keeping: RunDirectory.predictionSampleCount)
        }
        // Each rank predicts its part of the split; the confusion matrices are summed.
        let shard = distributed.shard(valIDs.count)
        let local = try predictor.evaluate(dataset, ids: Array(valIDs[shard]), keeping: RunDirectory.predictionSampleCount)
        return try distributed.combine(local, ids: valIDs, shard: shard)
    }

    /// Precise BN before an evaluation: the batch-norm statistics of the current weights on
    /// `precise_bn_images` random training crops.
    private func recomputeBatchNormStatistics() {
        guard let preciseBNLoader else { return }
        let batches = (config.preciseBNImages + config.batch - 1) / config.batch
        let iterator = preciseBNLoader.epoch(0)
        defer { iterator.cancel() }
        network.recomputeBatchNormStatistics(from: iterator.prefix(batches).lazy.map {
            Tensor(shape: $0.imageShape, values: $0.images)
        })
    }

    public func predict(sampleID: String) throws -> PredictionResult {
        network.eval()
        defer { enterTrainingMode() }
        let sample = try dataset.sample(id: sampleID)
        return PredictionResult(prediction: try predictMask(sample.image), truth: sample.label)
    }

    // MARK: State

    public func checkpoint() throws -> Checkpoint {
        let weights = network.stateDict().map { SafetensorsTensor(name: $0.name, shape: $0.tensor.shape, values: $0.tensor.array) }
        let slots = optimizer.stateDict().map {
            SafetensorsTensor(name: Self.optimizerPrefix + $0.name, shape: $0.tensor.shape, values: $0.tensor.array)
        }
        let rng = Generator.default.state.map { String($0) }.joined(separator: ",")
        let names = (try? MessageCoding.jsonLine(classNames)) ?? "[]"
        return Checkpoint(weights: weights, trainingState: slots,
                          metadata: [Self.rngKey: rng, Predictor.classNamesKey: names,
                                     Predictor.classColorsKey: Predictor.colorsText(palette, classes: classNames.count)])
    }

    public func restore(from file: SafetensorsFile) throws {
        var weights: [String: Tensor] = [:]
        var slots: [String: Tensor] = [:]
        for name in file.names {
            let entry = try file.entry(name)
            let tensor = Tensor(shape: entry.shape, values: entry.floats())
            if name.hasPrefix(Self.optimizerPrefix) {
                slots[String(name.dropFirst(Self.optimizerPrefix.count))] = tensor
            } else {
                weights[name] = tensor
            }
        }
        try network.loadStateDict(weights)
        try optimizer.loadStateDict(slots)
        if let text = file.metadata[Self.rngKey] {
            let words = text.split(separator: ",").compactMap { UInt64($0) }
            if words.count == 4 && words.contains(where: { $0 != 0 }) { Generator.default.state = words }
        }
        // Continue the data stream where the interrupted run stopped: same epoch, same batch.
        let done = Int(file.metadata[CheckpointKey.iteration] ?? "") ?? 0
        epoch = done / iterationsPerEpoch
        batches = loader.epoch(epoch)
        for _ in 0..<(done % iterationsPerEpoch) { _ = batches?.next() }
    }
}
