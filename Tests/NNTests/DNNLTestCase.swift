import XCTest
@testable import NN

/// Set-up shared by the oneDNN backend tests: the shared backend (default options), two
/// threads, released buffers poisoned with NaN (a read after release shows up), and no op
/// silently falling back to the reference backend (that would test the reference twice).
class DNNLTestCase: XCTestCase {
    var dnnl: DNNLBackend!

    override func setUpWithError() throws {
        Threads.set(2)
        dnnl = try XCTUnwrap(DNNLBackend.shared, "oneDNN CPU engine unavailable: \(DNNLBackend.unavailableReason ?? "?")")
        BufferPool.shared.poisonsReturnedBuffers = true
    }

    override func tearDown() {
        BufferPool.shared.poisonsReturnedBuffers = false
        XCTAssertEqual(dnnl?.fallbacks ?? [:], [:], "ops fell back to the reference backend")
    }
}
