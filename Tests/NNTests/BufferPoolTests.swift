import XCTest
@testable import NN

/// The arena behind large buffers: freed neighbours merge, so a request of another size reuses
/// memory another size freed (per-size free lists could not), and the limit releases free pages.
final class BufferPoolTests: XCTestCase {
    func testFreedNeighboursServeALargerRequest() {
        let pool = BufferPool()  // private: the shared pool is used by other tests' threads
        let n = 1 << 20  // 4 MiB each
        let a = pool.take(n), b = pool.take(n)
        pool.give(a, count: n)
        pool.give(b, count: n)
        let c = pool.take(2 * n)
        XCTAssertEqual(UnsafeMutableRawPointer(c), UnsafeMutableRawPointer(min(a, b)), "the merged block is reused")
        XCTAssertEqual(pool.peakHeldBytes, 8 << 20, "nothing beyond the two first buffers was needed")
        pool.give(c, count: 2 * n)
        XCTAssertEqual(pool.liveBytes, 0)
        XCTAssertEqual(pool.pooledBytes, 8 << 20)
        pool.limitBytes = 0
        let d = pool.take(n)
        pool.give(d, count: n)
        XCTAssertEqual(pool.pooledBytes, 0, "over the limit free pages go back to the system")
        let e = pool.take(3 * n)
        e[3 * n - 1] = 1  // released pages are still usable
        pool.give(e, count: 3 * n)
    }
}
