// NN — Segscope's tensor engine: Float32 NCHW tensors, ops with forward and backward, a dynamic
// autograd graph, layers with named parameters, losses, optimizers, schedules, initializers.
//
// Writing a model: subclass `Module`, build layers in `init`, register them under the names
// PyTorch's state_dict uses, and write the forward pass with ops; residual adds and concatenated
// skips are ordinary expressions (the autograd graph is recorded as the forward runs).
//
//     final class Block: Module, Layer {
//         let conv1: Conv2d, bn1: BatchNorm2d, conv2: Conv2d, bn2: BatchNorm2d
//         init(_ c: Int) {
//             conv1 = Conv2d(c, c, kernel: 3, padding: .symmetric(1), bias: false)
//             bn1 = BatchNorm2d(c)                     // .pytorch() settings; .keras() for Keras
//             conv2 = Conv2d(c, c, kernel: 3, padding: .same, bias: false)
//             bn2 = BatchNorm2d(c)
//             super.init()
//             register("conv1", conv1); register("bn1", bn1)
//             register("conv2", conv2); register("bn2", bn2)
//         }
//         func callAsFunction(_ x: Tensor) -> Tensor {
//             let y = relu(bn1(conv1(x)))
//             return relu(bn2(conv2(y)) + x)               // residual add
//         }
//     }
//     // names: "conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", …
//
// One training step (images: Tensor [N, 3, H, W]; labels: [Int32] or [UInt8], N·H·W, 255 = void):
//
//     Threads.set(2)                                    // BLAS + NN's parallel loops
//     let model = Net(); model.train()
//     let opt = Optimizer(model, rule: SGD(momentum: 0.9, weightDecay: 1e-4), learningRate: 0.01)
//     let schedule = LRSchedule(base: 0.01, kind: .poly(totalIterations: 1000, power: 0.9))
//     opt.learningRate = schedule.learningRate(at: iteration)
//     let logits = model(images)                        // [N, C, H, W]
//     let loss = crossEntropy(logits, targets: labels)  // ignore 255, mean over counted pixels
//     opt.zeroGrad(); loss.backward(); opt.step()
//     print(loss.item)
//
// Evaluation: `model.eval()` and `GradMode.withoutGrad { model(images) }`, then
// `argmaxChannels(logits)`. Checkpoints: `model.stateDict()` / `model.loadStateDict(_:)` and
// `opt.stateDict()` / `opt.loadStateDict(_:)`; the RNG: `Generator.default.state`.
//
// Memory: every tensor buffer comes from `BufferPool` and returns to it when the tensor dies,
// so repeated steps with the same shapes reuse the same buffers. Kernels run through
// `Backends.current` (the `Backend` seam); the reference backend is im2col + OpenBLAS sgemm.

/// The engine's version, reported by `segscope doctor` and benchmarks.
public enum NNInfo {
    public static let version = "0.1.0"
}
