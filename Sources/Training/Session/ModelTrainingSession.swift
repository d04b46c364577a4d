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
    private var epoch = 0
    private var batches: EpochIterator?

    /// State-dict prefix of optimizer slots and the metadata key of the RNG in checkpoints.
    static let optimizerPrefix = "optimizer."
    static let rngKey = "segscope.rng"

    public init(config: TrainingConfig, context: SessionContext) throws {
        self.config = config
        Threads.set(config.threads > 0 ? config.threads : ProcessInfo.processInfo.activeProcessorCount)
        if let notice = try config.backend.select() { context.warn(notice) }
        Generator.default.state = Generator(seed: UInt64(config.seed)).state

        dataset = try TrainingConfig.openDataset(config.data, format: config.format)
        classNames = dataset.classNames
        let spec = try ModelRegistry.spec(named: config.model)
        network = try spec.build(ModelOptions(classes: classNames.count, seed: UInt64(config.seed)))
        if !config.backboneWeights.isEmpty {
            guard let fcn = network as? BackboneLoadable else {
                throw Failure(message: "config key 'backbone_weights': torchvision ResNet weights are for a model's ImageNet backbone, "
                              + "not \(config.model) (no backbone to load); unset it or train a model with one (see `segscope model list`)")
            }
            let url = URL(fileURLWithPath: config.backboneWeights)
            do {
                try fcn.loadBackbone(from: url)
            } catch {
                throw Failure(message: "config key 'backbone_weights' (\(url.path)): \(error)")
            }
        }
        predictor = Predictor(network: network, sizeMultiple: spec.sizeMultiple, config: config)
        let trainable = network.trainableCount
        model = ModelOverview(name: config.model, trainableParameters: trainable,
                             nonTrainableParameters: network.batchNormStatisticsCount)

        let crop = Size2D(height: config.crop.height, width: config.crop.width)
        let transform = TransformConfig(
            crop: crop, smallImages: config.smallImages == .pad ? .pad : .drop, horizontalFlip: true,
            normalization: .imagenet, random: true)
        let trainIDs = try dataset.ids(split: config.split)
        let dropLast = trainIDs.count > config.batch
        loader = try DataLoader(
            dataset: dataset, split: config.split,
            config: LoaderConfig(batchSize: config.batch, shuffle: true, dropLast: dropLast,
                                 seed: UInt64(config.seed), transform: transform),
            onWarning: context.warn)
        // Precise BN draws from a loader of its own with a fixed seed, so neither the training
        // loader nor the global generator is advanced and runs resume exactly. Its skipped
        // samples are the training loader's, which already warns about them.
        var preciseBN = loader.config
        preciseBN.dropLast = false
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
        network.train()
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
        network.train()
        optimizer.learningRate = Float(learningRate)
        let images = Tensor(shape: batch.imageShape, values: batch.images)
        // Networks with an auxiliary head add its loss at weight 0.5 (torchvision's recipe).
        let (logits, aux) = network.forwardTraining(images)
        var loss = crossEntropy(logits, targets: batch.labels)
        if let aux { loss = loss + scale(crossEntropy(aux, targets: batch.labels), by: 0.5) }
        optimizer.zeroGrad()
        loss.backward()
        optimizer.step()
        let predicted = argmaxChannels(logits)
        var correct = 0, labelled = 0
        for (p, t) in zip(predicted, batch.labels) where t != LabelMap.void {
            labelled += 1
            if p == Int32(t) { correct += 1 }
        }
        return StepResult(loss: Double(loss.item), correctPixels: correct, labeledPixels: labelled, images: batch.n)
    }

    // MARK: Inference

    private func predictMask(_ image: RGBImage) throws -> LabelMap {
        network.eval()
        return try predictor.predict(image)
    }

    public func evaluate() throws -> EvaluationResult {
        defer { network.train() }
        recomputeBatchNormStatistics()
        return try predictor.evaluate(dataset, ids: valIDs, keeping: RunDirectory.predictionSampleCount)
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
        defer { network.train() }
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
                          metadata: [Self.rngKey: rng, Predictor.classNamesKey: names])
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
