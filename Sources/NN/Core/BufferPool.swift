import Foundation

/// Where tensor buffers come from. Training repeats the same shapes, so after the first steps
/// every request is served from memory the pool already holds and nothing reaches the system.
///
/// - Buffers of at least `arenaMinBytes` (activations, gradients, weights of big layers) are
///   carved out of one reserved address range (`Arena`): best fit among free blocks, split on
///   take, merged with free neighbours on give. A training step's peak of resident memory is then
///   close to the peak of bytes in use (unet batch 8: 2016 MiB for a 1973 MiB peak in use), where
///   per-size free lists kept 3020 MiB — a freed 64 MiB activation could only serve another
///   request of its exact size class.
/// - Smaller buffers keep free lists keyed by capacity class (top 5 significant bits, ≤ 6.25 %
///   waste).
///
/// Free memory held above `limitBytes` is returned to the system (evaluating images of many
/// sizes must not grow the process without bound); `trim()` returns all of it.
public final class BufferPool: @unchecked Sendable {
    public static let shared = BufferPool()
    private var free: [Int: [UnsafeMutablePointer<Float>]] = [:]
    private var lock = NSLock()
    private var arena: Arena?
    private var arenaFailed = false
    /// Bytes of free memory the pool holds (resident), and bytes handed out and not yet returned.
    public private(set) var pooledBytes = 0
    public private(set) var liveBytes = 0
    /// The most `liveBytes` / `liveBytes + pooledBytes` have been since `resetPeaks()`.
    public private(set) var peakLiveBytes = 0
    public private(set) var peakHeldBytes = 0

    /// Free bytes above which returned memory goes back to the system. Default 6 GiB.
    public var limitBytes = 6 << 30

    /// Tests: fill every returned buffer with NaN, so a read through the pointer of a storage
    /// that was already released (a converted NCHW copy that died too early, say) gives NaN
    /// instead of the plausible old values it would otherwise still hold.
    public var poisonsReturnedBuffers = false

    /// Requests of at least this many bytes come from the arena.
    static let arenaMinBytes = 1 << 20

    public init() {}

    /// Small buffers are pooled by capacity classes: above 4096 elements the size is rounded up to
    /// its top 5 significant bits (≤ 6.25 % waste), so nearby sizes share buffers.
    static func capacity(for count: Int) -> Int {
        let n = max(count, 1)
        if n <= 4096 { return n }
        let shift = (Int.bitWidth - n.leadingZeroBitCount) - 5
        return ((n + (1 << shift) - 1) >> shift) << shift
    }

    /// Bytes a request of `count` elements occupies.
    static func bytes(for count: Int) -> Int {
        let b = capacity(for: count) * 4
        return b >= arenaMinBytes ? Arena.rounded(max(count, 1) * 4) : b
    }

    func take(_ count: Int) -> UnsafeMutablePointer<Float> {
        let bytes = Self.bytes(for: count)
        lock.lock()
        defer { lock.unlock() }
        liveBytes += bytes
        peakLiveBytes = max(peakLiveBytes, liveBytes)
        if bytes >= Self.arenaMinBytes {
            if arena == nil && !arenaFailed {
                arena = Arena()
                arenaFailed = arena == nil
            }
            if let arena, let p = arena.take(bytes) {
                pooledBytes = arena.residentFreeBytes + smallPooledBytes
                peakHeldBytes = max(peakHeldBytes, liveBytes + pooledBytes)
                return p.bindMemory(to: Float.self, capacity: bytes / 4)
            }
        } else if var list = free[bytes], let p = list.popLast() {
            free[bytes] = list
            smallPooledBytes -= bytes
            pooledBytes -= bytes
            return p
        }
        peakHeldBytes = max(peakHeldBytes, liveBytes + pooledBytes)
        // 64-byte alignment for AVX-512 loads.
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        return raw.bindMemory(to: Float.self, capacity: bytes / 4)
    }

    private var smallPooledBytes = 0

    func give(_ p: UnsafeMutablePointer<Float>, count: Int) {
        if poisonsReturnedBuffers { p.update(repeating: .nan, count: count) }
        let bytes = Self.bytes(for: count)
        lock.lock()
        defer { lock.unlock() }
        liveBytes -= bytes
        if bytes >= Self.arenaMinBytes, let arena, arena.owns(p) {
            arena.give(UnsafeMutableRawPointer(p), bytes)
            if arena.residentFreeBytes + smallPooledBytes > limitBytes { arena.release() }
            pooledBytes = arena.residentFreeBytes + smallPooledBytes
            return
        }
        if bytes >= Self.arenaMinBytes || pooledBytes + bytes > limitBytes {
            UnsafeMutableRawPointer(p).deallocate()
            return
        }
        free[bytes, default: []].append(p)
        smallPooledBytes += bytes
        pooledBytes += bytes
    }

    /// Starts the peak figures over from the current ones.
    public func resetPeaks() {
        lock.lock()
        peakLiveBytes = liveBytes
        peakHeldBytes = liveBytes + pooledBytes
        lock.unlock()
    }

    /// Returns every free (unused) byte to the system.
    public func trim() {
        lock.lock()
        let lists = free
        free = [:]
        smallPooledBytes = 0
        arena?.release()
        pooledBytes = arena?.residentFreeBytes ?? 0
        lock.unlock()
        for (_, list) in lists { for p in list { UnsafeMutableRawPointer(p).deallocate() } }
    }
}

/// One reserved range of address space (no memory is committed until touched) handed out in
/// page-rounded blocks: best fit among the free blocks, the remainder split off, neighbours
/// merged when a block comes back. Not thread-safe (the pool's lock guards it).
final class Arena {
    static let page = 4096
    let base: UnsafeMutableRawPointer
    let size: Int
    /// Free blocks as (offset, length), sorted by offset, never adjacent.
    private var blocks: [(offset: Int, length: Int, resident: Int)]
    /// Free bytes that have been touched since they were last released (approximate: a block
    /// split from a partly resident one is counted resident first).
    private(set) var residentFreeBytes = 0

    static func rounded(_ bytes: Int) -> Int { (bytes + page - 1) / page * page }

    /// Reserves four times the machine's memory (at least 64 GiB) of address space; nil when the
    /// system refuses.
    init?() {
        let want = max(64 << 30, Int(ProcessInfo.processInfo.physicalMemory) * 4)
        let p = mmap(nil, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let p, p != MAP_FAILED else { return nil }
        base = p
        size = want
        blocks = [(0, want, 0)]
    }

    deinit { munmap(base, size) }

    func owns(_ p: UnsafeMutableRawPointer) -> Bool { p >= base && p < base + size }
    func owns(_ p: UnsafeMutablePointer<Float>) -> Bool { owns(UnsafeMutableRawPointer(p)) }

    func take(_ bytes: Int) -> UnsafeMutableRawPointer? {
        var best = -1
        for i in blocks.indices where blocks[i].length >= bytes {
            if best < 0 || blocks[i].length < blocks[best].length { best = i }
            if blocks[i].length == bytes { break }
        }
        guard best >= 0 else { return nil }
        let b = blocks[best]
        let used = min(b.resident, bytes)
        residentFreeBytes -= used
        if b.length == bytes {
            blocks.remove(at: best)
        } else {
            blocks[best] = (b.offset + bytes, b.length - bytes, b.resident - used)
        }
        return base + b.offset
    }

    func give(_ p: UnsafeMutableRawPointer, _ bytes: Int) {
        let offset = p - base
        residentFreeBytes += bytes
        // Insertion point by binary search, then merge with the neighbours.
        var lo = 0, hi = blocks.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if blocks[mid].offset < offset { lo = mid + 1 } else { hi = mid }
        }
        var block = (offset: offset, length: bytes, resident: bytes)
        if lo < blocks.count, block.offset + block.length == blocks[lo].offset {
            block.length += blocks[lo].length
            block.resident += blocks[lo].resident
            blocks.remove(at: lo)
        }
        if lo > 0, blocks[lo - 1].offset + blocks[lo - 1].length == block.offset {
            blocks[lo - 1].length += block.length
            blocks[lo - 1].resident += block.resident
        } else {
            blocks.insert(block, at: lo)
        }
    }

    /// Gives the pages of every free block back to the system (they stay reserved, and read as
    /// zeros when taken again).
    func release() {
        for i in blocks.indices where blocks[i].resident > 0 {
            madvise(base + blocks[i].offset, blocks[i].length, MADV_DONTNEED)
            blocks[i].resident = 0
        }
        residentFreeBytes = 0
    }
}
