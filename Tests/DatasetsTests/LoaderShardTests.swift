import Datasets
import TestSupport
import XCTest

/// The data-parallel sampler: each rank's batches at an iteration are, together and in rank
/// order, the one-process batch of ranks × batch (D-162).
final class LoaderShardTests: XCTestCase {
    func testTwoRanksSplitEveryGlobalBatchInRankOrder() {
        let order = [7, 3, 0, 5, 1, 6, 2, 4]
        let a = LoaderShard(rank: 0, count: 2).part(of: order, batchSize: 2)
        let b = LoaderShard(rank: 1, count: 2).part(of: order, batchSize: 2)
        XCTAssertEqual(a, [7, 3, 1, 6])
        XCTAssertEqual(b, [0, 5, 2, 4])
        // Iteration i of each rank (batches of 2) = iteration i of one process (batches of 4).
        for i in 0..<2 {
            XCTAssertEqual(Array(a[(2 * i)..<(2 * i + 2)]) + Array(b[(2 * i)..<(2 * i + 2)]), Array(order[(4 * i)..<(4 * i + 4)]))
        }
    }

    func testUnevenSplitsArePaddedFromTheStartSoEveryRankHasAsManySamples() {
        let order = Array(0..<7)
        let parts = (0..<3).map { LoaderShard(rank: $0, count: 3).part(of: order, batchSize: 2) }
        XCTAssertEqual(parts.map(\.count), [3, 3, 3])
        XCTAssertEqual(LoaderShard(rank: 0, count: 3).samples(of: 7), 3)
        // Every sample is used; the two padding samples repeat the start of the order.
        XCTAssertEqual(Set(parts.flatMap { $0 }), Set(order))
        XCTAssertEqual(parts.flatMap { $0 }.sorted(), (order + [0, 1]).sorted())
        // Fewer samples than ranks: each rank still gets one.
        XCTAssertEqual((0..<4).map { LoaderShard(rank: $0, count: 4).part(of: [9, 8], batchSize: 1) }, [[9], [8], [9], [8]])
    }

    func testOneRankIsTheWholeOrder() {
        XCTAssertEqual(LoaderShard(rank: 0, count: 1).part(of: [2, 0, 1], batchSize: 2), [2, 0, 1])
    }

    func testEveryRankDrawsTheSameEpochPermutationAndTheLoaderCountsItsShard() throws {
        let dataset = try DatasetLoader.open(Fixtures.voc)
        func loader(_ shard: LoaderShard?) throws -> DataLoader {
            var config = LoaderConfig(batchSize: 1, shuffle: true, dropLast: true, seed: 5)
            config.shard = shard
            return try DataLoader(dataset: dataset, split: "trainval", config: config)
        }
        let whole = try loader(nil).order(epoch: 3)
        let n = whole.count
        XCTAssertGreaterThanOrEqual(n, 3)
        let parts = try (0..<2).map { try loader(LoaderShard(rank: $0, count: 2)).order(epoch: 3) }
        XCTAssertEqual(parts[0], LoaderShard(rank: 0, count: 2).part(of: whole, batchSize: 1))
        XCTAssertEqual(parts[1], LoaderShard(rank: 1, count: 2).part(of: whole, batchSize: 1))
        XCTAssertEqual(Set(parts[0] + parts[1]), Set(whole))
        XCTAssertEqual(try loader(LoaderShard(rank: 1, count: 2)).batchesPerEpoch, (n + 1) / 2)
        XCTAssertEqual(try loader(LoaderShard(rank: 1, count: 2)).samplesPerEpoch, (n + 1) / 2)
    }
}
