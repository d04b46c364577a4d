import Foundation

/// 2-D convolution layer. Parameters: `weight` `[out, in/groups, k, k]`, `bias` `[out]`.
/// Output size: see `conv2d`. Defaults initialise as PyTorch (`kaimingUniform` + bias bound
/// 1/√fan_in); pass `.heNormal` / `.glorotUniform` and `biasInit: .zeros` for Keras.
public final class Conv2d: Module, Layer {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: (Int, Int), padding: Padding, dilation: (Int, Int), groups: Int

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Padding = .valid,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true,
                weightInit: Initializer = .kaimingUniform, biasInit: Initializer? = nil,
                generator: Generator = .default) {
        require(inChannels % groups == 0 && outChannels % groups == 0,
                     "Conv2d: groups \(groups) must divide in \(inChannels) and out \(outChannels)")
        weight = Tensor(zeros: [outChannels, inChannels / groups, kernel, kernel])
        weightInit.fill(weight, generator: generator)
        self.bias = bias ? makeBias(outChannels, weight: weight, biasInit, generator: generator) : nil
        self.stride = (stride, stride); self.padding = padding; self.dilation = (dilation, dilation); self.groups = groups
        super.init()
        registerParameter("weight", weight)
        if let b = self.bias { registerParameter("bias", b) }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}

/// A conv layer's bias `[outChannels]`, filled by `biasInit` or, by default, PyTorch's uniform
/// bound 1/√fan_in of `weight` (drawn after the weight, as PyTorch's `reset_parameters`).
private func makeBias(_ outChannels: Int, weight: Tensor, _ biasInit: Initializer?, generator: Generator) -> Tensor {
    let b = Tensor(zeros: [outChannels])
    (biasInit ?? .biasUniform(fanIn: Initializer.fans(weight.shape).fanIn)).fill(b, generator: generator)
    return b
}

/// Transposed 2-D convolution layer. Parameters: `weight` `[in, out, k, k]`, `bias` `[out]`.
/// Output size: see `convTranspose2d`.
public final class ConvTranspose2d: Module, Layer {
    public let weight: Tensor
    public let bias: Tensor?
    public let stride: (Int, Int), padding: Padding, outputPadding: (Int, Int), dilation: (Int, Int)

    public init(_ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1, padding: Padding = .valid,
                outputPadding: Int = 0, dilation: Int = 1, bias: Bool = true,
                weightInit: Initializer = .kaimingUniform, biasInit: Initializer? = nil,
                generator: Generator = .default) {
        weight = Tensor(zeros: [inChannels, outChannels, kernel, kernel])
        weightInit.fill(weight, generator: generator)
        self.bias = bias ? makeBias(outChannels, weight: weight, biasInit, generator: generator) : nil
        self.stride = (stride, stride); self.padding = padding
        self.outputPadding = (outputPadding, outputPadding); self.dilation = (dilation, dilation)
        super.init()
        registerParameter("weight", weight)
        if let b = self.bias { registerParameter("bias", b) }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        convTranspose2d(x, weight: weight, bias: bias, stride: stride, padding: padding,
                        outputPadding: outputPadding, dilation: dilation)
    }
}

/// Batch norm over channels. Parameters `weight` (γ, ones) and `bias` (β, zeros); buffers
/// `running_mean` (zeros), `running_var` (ones), `num_batches_tracked` (a Float32 scalar here;
/// PyTorch stores int64). `settings`: `.pytorch()` or `.keras()`.
public final class BatchNorm2d: Module, Layer {
    public let weight: Tensor, bias: Tensor
    public let runningMean: Tensor, runningVar: Tensor, numBatchesTracked: Tensor
    public var settings: BatchNormSettings
    /// Set in data-parallel training with `batch_norm = sync`: training-mode statistics over
    /// every replica's batch (`syncBatchNorm`); nil: this batch's own.
    public var synchronizer: BatchNormSynchronizer?

    public init(_ channels: Int, settings: BatchNormSettings = .pytorch()) {
        weight = Tensor(shape: [channels], repeating: 1)
        bias = Tensor(zeros: [channels])
        runningMean = Tensor(zeros: [channels])
        runningVar = Tensor(shape: [channels], repeating: 1)
        numBatchesTracked = Tensor(scalar: 0)
        self.settings = settings
        super.init()
        registerParameter("weight", weight)
        registerParameter("bias", bias)
        registerBuffer("running_mean", runningMean)
        registerBuffer("running_var", runningVar)
        registerBuffer("num_batches_tracked", numBatchesTracked)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        if isTraining { numBatchesTracked.data[0] += 1; numBatchesTracked.storage.markModified() }
        if isTraining, let synchronizer {
            return syncBatchNorm(x, gamma: weight, beta: bias, runningMean: runningMean, runningVar: runningVar,
                                 settings: settings, synchronizer: synchronizer)
        }
        return batchNorm(x, gamma: weight, beta: bias, runningMean: runningMean, runningVar: runningVar,
                         settings: settings, training: isTraining)
    }
}

/// `max(x, 0)`.
public final class ReLU: Module, Layer {
    public override init() { super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { relu(x) }
}

/// Leaky ReLU (`slope` 0.3 in Keras, 0.01 in PyTorch).
public final class LeakyReLU: Module, Layer {
    public let slope: Float
    public init(slope: Float) { self.slope = slope; super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { leakyRelu(x, slope: slope) }
}

/// Max pool (square kernel and stride).
public final class MaxPool2d: Module, Layer {
    public let kernel: Int, stride: Int, padding: Padding
    public init(kernel: Int, stride: Int? = nil, padding: Padding = .valid) {
        self.kernel = kernel; self.stride = stride ?? kernel; self.padding = padding
        super.init()
    }
    public func callAsFunction(_ x: Tensor) -> Tensor {
        maxPool2d(x, kernel: (kernel, kernel), stride: (stride, stride), padding: padding)
    }
}

/// Nearest-neighbour upsampling by an integer factor.
public final class UpsampleNearest: Module, Layer {
    public let scale: Int
    public init(scale: Int) { self.scale = scale; super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { upsampleNearest(x, scale: (scale, scale)) }
}

/// Dropout, active in training mode only.
public final class Dropout: Module, Layer {
    public let p: Float
    public let generator: Generator
    public init(p: Float, generator: Generator = .default) { self.p = p; self.generator = generator; super.init() }
    public func callAsFunction(_ x: Tensor) -> Tensor { dropout(x, p: p, training: isTraining, generator: generator) }
}
