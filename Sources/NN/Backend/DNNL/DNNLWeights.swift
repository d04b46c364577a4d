import Foundation
@preconcurrency import CDNNL

/// A parameter's values in a primitive's order, made for a forward that records no gradient and
/// kept while the parameter is unchanged (same storage, same `Storage.version`), so inference
/// reorders each weight once instead of at every call (PyTorch eager reorders at every call;
/// its frozen / prepacked inference modes keep them as here).
final class PreparedWeights {
    weak var source: Storage?
    let version: UInt64
    let buffers: [Storage]
    init(source: Storage, buffers: [Storage]) {
        self.source = source
        self.version = source.version
        self.buffers = buffers
    }
}

struct PreparedWeightsKey: Hashable {
    let source: ObjectIdentifier
    /// The primitive orders (and, for phase convs, the phases) the buffers are for.
    let orders: [Int64]
}

extension DNNLBackend {
    /// Entries kept before those of freed parameters are dropped.
    static let maxPreparedWeights = 512

    /// `weight` prepared by `prepare` (one buffer per primitive it feeds) for the orders named by
    /// `orders`. With `reusable` (a forward without autograd) the buffers are kept and returned
    /// again while the weight's storage and version are unchanged; otherwise made afresh.
    func preparedWeights(_ weight: Tensor, orders: [Int64], reusable: Bool,
                         prepare: (Storage) throws -> [Storage]) throws -> [Storage] {
        let source = weight.storage
        guard reusable, weight.layout.isNCHW else {
            return try prepare(weight.plainNCHW().storage)  // an argument: alive for the call
        }
        let key = PreparedWeightsKey(source: ObjectIdentifier(source), orders: orders)
        lock.lock()
        if let p = prepared[key], p.source === source, p.version == source.version {
            lock.unlock()
            return p.buffers
        }
        lock.unlock()
        let buffers = try prepare(source)
        // A buffer that is the parameter itself (its order already was the primitive's) is not kept.
        if buffers.contains(where: { $0 === source }) { return buffers }
        lock.lock()
        if prepared.count >= Self.maxPreparedWeights { prepared = prepared.filter { $0.value.source != nil } }
        if prepared.count >= Self.maxPreparedWeights { prepared.removeAll() }
        prepared[key] = PreparedWeights(source: source, buffers: buffers)
        lock.unlock()
        return buffers
    }

    /// Drops every kept weight (they are also replaced as parameters change).
    public func releasePreparedWeights() {
        lock.lock(); prepared.removeAll(); lock.unlock()
    }

    /// Number of kept prepared-weight entries (tests).
    var preparedWeightsCount: Int { lock.lock(); defer { lock.unlock() }; return prepared.count }
}
