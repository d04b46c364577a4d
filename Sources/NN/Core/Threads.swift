import Foundation
import COpenBLAS

/// The `threads` setting: how many cores NN uses — OpenBLAS's thread count and the number of
/// chunks every parallel loop of the engine (im2col, col2im, batch norm, pooling, elementwise,
/// optimizers) is split into. Defaults to the machine's core count.
public enum Threads {
    nonisolated(unsafe) private static var value = max(1, ProcessInfo.processInfo.activeProcessorCount)
    nonisolated(unsafe) private static var configured = false
    private static let lock = NSLock()

    /// Current setting.
    public static var count: Int {
        lock.lock(); defer { lock.unlock() }
        if !configured {
            configured = true
            openblas_set_num_threads(Int32(value))
        }
        return value
    }

    /// Uses `n` threads (at least 1) for BLAS and for NN's own loops.
    public static func set(_ n: Int) {
        lock.lock(); defer { lock.unlock() }
        value = max(1, n)
        configured = true
        openblas_set_num_threads(Int32(value))
    }
}

/// Runs `body` over `0..<n` split into at most `Threads.count` contiguous chunks, each at least
/// `grain` long, on GCD's pool (inline when one chunk suffices).
@inline(__always)
func parallelFor(_ n: Int, grain: Int = 1, _ body: (Range<Int>) -> Void) {
    if n <= 0 { return }
    let chunks = min(Threads.count, max(1, n / max(grain, 1)))
    if chunks <= 1 { body(0..<n); return }
    withoutActuallyEscaping(body) { escapable in
        let box = UncheckedSendable(escapable)
        DispatchQueue.concurrentPerform(iterations: chunks) { i in
            let lo = n * i / chunks, hi = n * (i + 1) / chunks
            if lo < hi { box.value(lo..<hi) }
        }
    }
}

/// Carries a value the compiler cannot prove thread-safe into a parallel loop whose chunks
/// touch disjoint memory.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Elementwise loops over this many elements or fewer run on one thread.
let elementwiseGrain = 1 << 15
