import XCTest
@testable import NN

/// Issue #16: no tensor above oneDNN's 32-bit offsets reaches a oneDNN kernel (a segfault
/// there); the descriptor is refused with a message instead.
final class DNNLLimitsTests: XCTestCase {
    func testTensorsAboveTwoToTheThirtyOneElementsAreRefused() {
        XCTAssertNoThrow(try DNNLLimits.check([1, 32, 8000, 8000]))  // 2.048e9 elements
        XCTAssertNoThrow(try DNNLLimits.check([Int(Int32.max)]))
        XCTAssertThrowsError(try DNNLLimits.check([Int(Int32.max) + 1]))
        // xunet's last up block at 8000×8000: 64 channels at full resolution, 4.1e9 elements.
        XCTAssertThrowsError(try DNNLLimits.check([1, 64, 8000, 8000])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("[1, 64, 8000, 8000]") && text.contains("4096000000 elements") && text.contains("2147483647"), text)
        }
        XCTAssertThrowsError(try DNNLLimits.check([Int.max, 4]), "a product that overflows Int")
    }

    func testTheDescriptorHelperAppliesTheLimit() {
        XCTAssertThrowsError(try dnnlDesc([1, 64, 8000, 8000], dnnlPlainTag(rank: 4))) { error in
            XCTAssertTrue(error is DNNLLimits.TooLarge, "\(error)")
        }
        XCTAssertNoThrow(try dnnlDesc([1, 3, 8, 8], dnnlPlainTag(rank: 4)))
    }
}
