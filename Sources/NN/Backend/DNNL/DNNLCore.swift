import Foundation
@preconcurrency import CDNNL

// The thin layer between the oneDNN C API and the backend: one error helper, memory
// descriptors, primitives (descriptor + compiled kernel) and their execution.

/// A oneDNN call that failed: which call, on what, and the library's status.
public struct DNNLError: Error, CustomStringConvertible {
    public let operation: String
    public let status: Int

    public var description: String {
        "oneDNN: \(operation) failed with status \(status) (\(DNNLError.statusName(status))); "
            + "run `segscope doctor` to check the library, or select `--backend reference`"
    }

    static func statusName(_ s: Int) -> String {
        switch Int32(truncatingIfNeeded: s) {
        case Int32(bitPattern: dnnl_out_of_memory.rawValue): return "out of memory"
        case Int32(bitPattern: dnnl_invalid_arguments.rawValue): return "invalid arguments"
        case Int32(bitPattern: dnnl_unimplemented.rawValue): return "no implementation for these shapes"
        case Int32(bitPattern: dnnl_iterator_ends.rawValue): return "iterator ends"
        case Int32(bitPattern: dnnl_runtime_error.rawValue): return "runtime error"
        case Int32(bitPattern: dnnl_not_required.rawValue): return "not required"
        default: return "unknown status"
        }
    }
}

/// The one place a `dnnl_status_t` becomes a Swift error.
@inline(__always)
func dnnlCheck(_ status: dnnl_status_t, _ operation: @autoclosure () -> String) throws {
    if status != dnnl_success { throw DNNLError(operation: operation(), status: Int(status.rawValue)) }
}

/// oneDNN's `dnnl_dim_t` array for a shape.
@inline(__always)
func dnnlDims(_ values: [Int]) -> [dnnl_dim_t] { values.map { dnnl_dim_t($0) } }

/// A memory descriptor of `dims` in the plain order `tag` (or `dnnl_format_tag_any`).
func dnnlDesc(_ dims: [Int], _ tag: dnnl_format_tag_t) throws -> dnnl_memory_desc_t {
    try DNNLLimits.check(dims)
    var md = dnnl_memory_desc_t()
    var d = dnnlDims(dims)
    try dnnlCheck(dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), &d, dnnl_f32, tag),
                  "memory descriptor \(dims) tag \(tag.rawValue)")
    return md
}

/// The plain row-major tag for a rank (`a`, `ab`, …, `abcde`).
func dnnlPlainTag(rank: Int) -> dnnl_format_tag_t {
    switch rank {
    case 1: return dnnl_a
    case 2: return dnnl_ab
    case 3: return dnnl_abc
    case 4: return dnnl_abcd
    default: return dnnl_abcde
    }
}

extension dnnl_memory_desc_t {
    /// Bytes a buffer of this descriptor needs (blocked layouts may pad channels).
    var byteSize: Int { withUnsafePointer(to: self) { Int(dnnl_memory_desc_get_size($0)) } }
    /// Float elements a buffer of this descriptor needs.
    var floatCount: Int { (byteSize + 3) / 4 }

    func equals(_ other: dnnl_memory_desc_t) -> Bool {
        withUnsafePointer(to: self) { a in withUnsafePointer(to: other) { b in dnnl_memory_desc_equal(a, b) != 0 } }
    }

    /// Every field that distinguishes one layout from another, as a hashable key.
    var key: [Int64] {
        var k: [Int64] = [Int64(ndims), Int64(format_kind.rawValue), offset0, Int64(data_type.rawValue)]
        let n = Int(ndims)
        withUnsafeBytes(of: dims) { k += Array($0.bindMemory(to: Int64.self).prefix(n)) }
        withUnsafeBytes(of: padded_dims) { k += Array($0.bindMemory(to: Int64.self).prefix(n)) }
        withUnsafeBytes(of: padded_offsets) { k += Array($0.bindMemory(to: Int64.self).prefix(n)) }
        if format_kind == dnnl_blocked {
            let b = format_desc.blocking
            let nb = Int(b.inner_nblks)
            k.append(Int64(nb))
            k += blockingStrides
            withUnsafeBytes(of: b.inner_blks) { k += Array($0.bindMemory(to: Int64.self).prefix(nb)) }
            withUnsafeBytes(of: b.inner_idxs) { k += Array($0.bindMemory(to: Int64.self).prefix(nb)) }
        } else {
            withUnsafeBytes(of: self) { k += Array($0.bindMemory(to: Int64.self)) }
        }
        return k
    }

    /// The outer strides (elements) of a blocked descriptor, one per dimension.
    var blockingStrides: [Int64] {
        withUnsafeBytes(of: format_desc.blocking.strides) { Array($0.bindMemory(to: Int64.self).prefix(Int(ndims))) }
    }

    /// A short readable name of the blocking, e.g. "abcd" or "aBcd16b".
    var formatName: String {
        guard format_kind == dnnl_blocked else { return "opaque(\(format_kind.rawValue))" }
        let b = format_desc.blocking
        let n = Int(ndims)
        let strides = blockingStrides
        let blks = withUnsafeBytes(of: b.inner_blks) { Array($0.bindMemory(to: Int64.self).prefix(Int(b.inner_nblks))) }
        let idxs = withUnsafeBytes(of: b.inner_idxs) { Array($0.bindMemory(to: Int64.self).prefix(Int(b.inner_nblks))) }
        let letters = Array("abcdefghijkl")
        let order = (0..<n).sorted { strides[$0] > strides[$1] || (strides[$0] == strides[$1] && $0 < $1) }
        var s = ""
        for d in order { s.append(idxs.contains(Int64(d)) ? Character(letters[d].uppercased()) : letters[d]) }
        for (blk, idx) in zip(blks, idxs) { s += "\(blk)\(letters[Int(idx)])" }
        return s
    }
}

/// A compiled primitive and its descriptor (which answers layout queries).
final class DNNLPrimitive: @unchecked Sendable {
    let pd: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t
    let what: String
    /// Run on the calling thread alone: small reorders finish faster than waking the OpenMP team
    /// (on a busy machine a sleeping worker can cost a whole scheduler time slice).
    var singleThreaded = false

    /// Creates the descriptor from an op descriptor (`&desc`) and compiles the primitive.
    convenience init(opDesc: UnsafeRawPointer, engine: dnnl_engine_t, hint: DNNLPrimitive?, what: String) throws {
        var pd: dnnl_primitive_desc_t? = nil
        try dnnlCheck(dnnl_primitive_desc_create(&pd, opDesc, nil, engine, hint?.pd), "create primitive descriptor for \(what)")
        guard let pd else { throw DNNLError(operation: "create primitive descriptor for \(what)", status: -1) }
        try self.init(pd: pd, what: what)
    }

    /// Compiles a primitive from an existing descriptor (taking ownership of it).
    init(pd: dnnl_primitive_desc_t, what: String) throws {
        var p: dnnl_primitive_t? = nil
        let status = dnnl_primitive_create(&p, pd)
        guard status == dnnl_success, let p else {
            dnnl_primitive_desc_destroy(pd)
            throw DNNLError(operation: "create primitive for \(what)", status: Int(status.rawValue))
        }
        self.pd = pd
        self.primitive = p
        self.what = what
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(pd)
    }

    /// The memory descriptor the primitive wants for `query` (`dnnl_query_src_md`, …).
    func desc(_ query: dnnl_query_t, _ index: Int32 = 0) -> dnnl_memory_desc_t {
        guard let p = dnnl_primitive_desc_query_md(pd, query, index) else { return dnnl_memory_desc_t() }
        return p.pointee
    }

    /// The implementation oneDNN picked (e.g. "jit:avx512_core"), for benchmarks and doctor.
    var implementation: String {
        var s: UnsafePointer<CChar>? = nil
        guard dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s) == dnnl_success, let s else { return "?" }
        return String(cString: s)
    }
}

/// One argument of an execution: which slot, which descriptor, which buffer. An argument made
/// from a `Storage` or a `Tensor` holds it, so the memory lives as long as the argument list
/// (a reordered or converted copy included); one made from a pointer relies on its caller.
struct DNNLArg {
    let slot: Int32
    let desc: dnnl_memory_desc_t
    let data: UnsafeMutableRawPointer
    private let owner: AnyObject?

    init(_ slot: Int32, _ desc: dnnl_memory_desc_t, _ data: UnsafeMutablePointer<Float>) {
        self.slot = slot; self.desc = desc; self.data = UnsafeMutableRawPointer(data); owner = nil
    }

    /// An input oneDNN only reads.
    init(_ slot: Int32, _ desc: dnnl_memory_desc_t, _ data: UnsafePointer<Float>) {
        self.init(slot, desc, UnsafeMutablePointer(mutating: data))
    }

    init(_ slot: Int32, _ desc: dnnl_memory_desc_t, _ storage: Storage) {
        self.slot = slot; self.desc = desc; data = UnsafeMutableRawPointer(storage.data); owner = storage
    }

    /// The tensor's own memory, in its own layout.
    init(_ slot: Int32, _ desc: dnnl_memory_desc_t, _ tensor: Tensor) { self.init(slot, desc, tensor.storage) }
}

/// The CPU engine and stream, and the OpenMP thread count oneDNN runs with.
final class DNNLRuntime: @unchecked Sendable {
    let engine: dnnl_engine_t
    let stream: dnnl_stream_t
    private let setOMPThreads: (@convention(c) (Int32) -> Void)?

    init() throws {
        var e: dnnl_engine_t? = nil
        try dnnlCheck(dnnl_engine_create(&e, dnnl_cpu, 0), "create CPU engine")
        guard let e else { throw DNNLError(operation: "create CPU engine", status: -1) }
        var s: dnnl_stream_t? = nil
        let status = dnnl_stream_create(&s, e, dnnl_stream_default_flags.rawValue)
        guard status == dnnl_success, let s else {
            dnnl_engine_destroy(e)
            throw DNNLError(operation: "create CPU stream", status: Int(status.rawValue))
        }
        engine = e
        stream = s
        // oneDNN's OpenMP runtime is loaded with libdnnl; its thread count is the calling thread's
        // `omp_set_num_threads` setting, so it is set before every execution (a plain store).
        // dlopen(nil) is the global scope, where libdnnl brought libgomp.
        if let global = dlopen(nil, RTLD_LAZY), let sym = dlsym(global, "omp_set_num_threads") {
            setOMPThreads = unsafeBitCast(sym, to: (@convention(c) (Int32) -> Void).self)
        } else {
            setOMPThreads = nil
        }
    }

    deinit {
        dnnl_stream_destroy(stream)
        dnnl_engine_destroy(engine)
    }

    /// Reorders of buffers smaller than this run on one thread.
    static let singleThreadBytes = 256 << 10

    /// Applies NN's `threads` setting to oneDNN on the calling thread.
    func applyThreads(single: Bool = false) { setOMPThreads?(single ? 1 : Int32(Threads.count)) }

    /// Runs `primitive` on `args` and waits for it.
    func execute(_ p: DNNLPrimitive, _ args: [DNNLArg]) throws {
        applyThreads(single: p.singleThreaded)
        var mems: [dnnl_memory_t] = []
        mems.reserveCapacity(args.count)
        defer { for m in mems { dnnl_memory_destroy(m) } }
        var execArgs: [dnnl_exec_arg_t] = []
        execArgs.reserveCapacity(args.count)
        for a in args {
            var m: dnnl_memory_t? = nil
            var desc = a.desc
            try dnnlCheck(dnnl_memory_create(&m, &desc, engine, a.data), "create memory for \(p.what) argument \(a.slot)")
            guard let m else { throw DNNLError(operation: "create memory for \(p.what)", status: -1) }
            mems.append(m)
            execArgs.append(dnnl_exec_arg_t(arg: a.slot, memory: m))
        }
        try dnnlCheck(dnnl_primitive_execute(p.primitive, stream, Int32(execArgs.count), execArgs), "execute \(p.what)")
        try dnnlCheck(dnnl_stream_wait(stream), "wait for \(p.what)")
    }

    /// A reorder primitive from `src` to `dst` (same logical dims).
    func reorder(from src: dnnl_memory_desc_t, to dst: dnnl_memory_desc_t) throws -> DNNLPrimitive {
        var pd: dnnl_primitive_desc_t? = nil
        var s = src, d = dst
        try dnnlCheck(dnnl_reorder_primitive_desc_create(&pd, &s, engine, &d, engine, nil),
                      "create reorder \(src.formatName) → \(dst.formatName)")
        guard let pd else { throw DNNLError(operation: "create reorder", status: -1) }
        let p = try DNNLPrimitive(pd: pd, what: "reorder \(src.formatName) → \(dst.formatName)")
        p.singleThreaded = src.byteSize < DNNLRuntime.singleThreadBytes
        return p
    }
}
