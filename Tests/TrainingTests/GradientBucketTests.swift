import Training
import XCTest

/// The gradient buckets of data-parallel training: parameters in reverse order (the order the
/// backward produces their gradients), cut at the bucket size (D-162).
final class GradientBucketTests: XCTestCase {
    func testBucketsTakeParametersInReverseOrderUpToTheLimit() {
        XCTAssertEqual(DataParallel.buckets(sizes: [4, 4, 4, 4], bucketElements: 8), [[3, 2], [1, 0]])
        XCTAssertEqual(DataParallel.buckets(sizes: [1, 2, 3, 4], bucketElements: 6), [[3], [2, 1, 0]])
        XCTAssertEqual(DataParallel.buckets(sizes: [3, 1, 1], bucketElements: 100), [[2, 1, 0]])
    }

    func testAParameterBiggerThanABucketGetsOneOfItsOwn() {
        XCTAssertEqual(DataParallel.buckets(sizes: [2, 50, 2], bucketElements: 10), [[2], [1], [0]])
        XCTAssertEqual(DataParallel.buckets(sizes: [], bucketElements: 10), [])
    }

    func testEveryParameterIsInExactlyOneBucket() {
        let sizes = (0..<40).map { ($0 * 37) % 11 + 1 }
        let buckets = DataParallel.buckets(sizes: sizes, bucketElements: 16)
        XCTAssertEqual(buckets.flatMap { $0 }, Array(sizes.indices.reversed()))
        for bucket in buckets where bucket.count > 1 {
            XCTAssertLessThanOrEqual(bucket.reduce(0) { $0 + sizes[$1] }, 16)
        }
    }
}
