import Foundation
@preconcurrency import CDNNL

/// One of oneDNN's memory orders for one logical shape (e.g. `aBcd16b` = nChw16c for
/// `[8, 64, 80, 80]`). There is exactly one object per (shape, order) — `DNNLBackend.layout(for:)`
/// hands out the same instance — so elementwise ops, which keep a layout only when both inputs
/// share the same object, keep data blocked between oneDNN layers.
///
/// Only orders without padding are used as tensor layouts (the element count equals the shape's),
/// since the elementwise ops walk `count` elements of the storage.
public final class DNNLLayout: OpaqueLayout, @unchecked Sendable {
    let desc: dnnl_memory_desc_t
    let shape: [Int]
    unowned let backend: DNNLBackend

    init(desc: dnnl_memory_desc_t, shape: [Int], backend: DNNLBackend) {
        self.desc = desc
        self.shape = shape
        self.backend = backend
    }

    public var name: String { "dnnl:\(desc.formatName)" }

    public func toNCHW(_ t: Tensor) -> Tensor {
        backend.measured("layout \(desc.formatName) → NCHW") { toNCHWBody(t) }
    }

    public func fromNCHW(_ t: Tensor) -> Tensor {
        backend.measured("layout NCHW → \(desc.formatName)") { fromNCHWBody(t) }
    }

    private func toNCHWBody(_ t: Tensor) -> Tensor {
        backend.fatalOnError("convert \(name) to NCHW for \(t.shape)") {
            let plain = try dnnlDesc(t.shape, dnnlPlainTag(rank: t.shape.count))
            let out = Tensor(uninitialized: t.shape)
            try backend.reorder(t.storage.data, desc, into: out.data, plain)
            return out
        }
    }

    private func fromNCHWBody(_ t: Tensor) -> Tensor {
        backend.fatalOnError("convert NCHW to \(name) for \(t.shape)") {
            let plain = try dnnlDesc(t.shape, dnnlPlainTag(rank: t.shape.count))
            let out = Tensor(shape: t.shape, storage: Storage(count: desc.floatCount, zeroed: false), layout: .opaque(self))
            // `t` may itself be in another order (a gradient reaching `nchw()`'s backward).
            try t.withNCHW { try backend.reorder($0, plain, into: out.data, desc) }
            return out
        }
    }
}

extension DNNLBackend {
    /// The canonical layout object for `desc` (created on first use).
    func layout(for desc: dnnl_memory_desc_t, shape: [Int]) -> DNNLLayout {
        let key = desc.key
        lock.lock(); defer { lock.unlock() }
        if let l = layouts[key] { return l }
        let l = DNNLLayout(desc: desc, shape: shape, backend: self)
        layouts[key] = l
        return l
    }

    /// The descriptor of `t`'s memory: its oneDNN layout, or plain NCHW; nil for another
    /// backend's opaque layout (read through `withNCHW` then).
    func currentDesc(of t: Tensor) throws -> dnnl_memory_desc_t? {
        switch t.layout {
        case .nchw: return try dnnlDesc(t.shape, dnnlPlainTag(rank: t.shape.count))
        case .opaque(let l):
            if let d = l as? DNNLLayout, d.backend === self { return d.desc }
            return nil
        }
    }

    /// `t`'s elements in the order `want` asks for: `t`'s own storage when it already is,
    /// otherwise a reordered copy.
    func input(_ t: Tensor, as want: dnnl_memory_desc_t) throws -> Storage {
        if let have = try currentDesc(of: t) {
            if have.equals(want) { return t.storage }
            let out = Storage(count: want.floatCount, zeroed: false)
            try reorder(t.storage.data, have, into: out.data, want)
            return out
        }
        let plain = try dnnlDesc(t.shape, dnnlPlainTag(rank: t.shape.count))
        if plain.equals(want) { return t.plainNCHW().storage }
        let out = Storage(count: want.floatCount, zeroed: false)
        try t.withNCHW { try reorder($0, plain, into: out.data, want) }
        return out
    }

    /// A plain buffer (parameters) in the order `want` asks for.
    func input(plain data: Storage, _ plain: dnnl_memory_desc_t, as want: dnnl_memory_desc_t) throws -> Storage {
        if plain.equals(want) { return data }
        let out = Storage(count: want.floatCount, zeroed: false)
        try reorder(data.data, plain, into: out.data, want)
        return out
    }

    /// Wraps a result buffer of descriptor `desc` as a tensor of `shape`: NCHW when the order is
    /// plain, oneDNN's layout when it has no padding, converted to NCHW otherwise.
    func output(_ s: Storage, _ desc: dnnl_memory_desc_t, shape: [Int]) throws -> Tensor {
        let plain = try dnnlDesc(shape, dnnlPlainTag(rank: shape.count))
        if desc.equals(plain) { return Tensor(shape: shape, storage: s) }
        if options.keepsBlockedLayouts && desc.byteSize == shape.reduce(1, *) * 4 {
            return Tensor(shape: shape, storage: s, layout: .opaque(layout(for: desc, shape: shape)))
        }
        let out = Tensor(uninitialized: shape)
        try reorder(s.data, desc, into: out.data, plain)
        return out
    }

    /// Writes `src` (order `from`) into `dst` (order `to`) with a cached reorder primitive.
    func reorder(_ src: UnsafePointer<Float>, _ from: dnnl_memory_desc_t,
                 into dst: UnsafeMutablePointer<Float>, _ to: dnnl_memory_desc_t) throws {
        let key = PrimitiveKey.reorder(from.key, to.key)
        let p = try primitive(key) { try runtime.reorder(from: from, to: to) }
        try runtime.execute(p, [DNNLArg(DNNL_ARG_FROM, from, src), DNNLArg(DNNL_ARG_TO, to, dst)])
    }
}
