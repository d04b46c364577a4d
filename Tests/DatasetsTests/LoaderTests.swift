import Datasets
import Foundation
import TestSupport
import XCTest

final class LoaderTests: XCTestCase {
    final class Warnings: @unchecked Sendable {
        private let lock = NSLock()
        private var items: [String] = []
        func add(_ s: String) { lock.withLock { items.append(s) } }
        var all: [String] { lock.withLock { items } }
    }

    func testBatchesShapesAndPerEpochShuffle() throws {
        let dataset = try DatasetLoader.open(Fixtures.voc)
        let config = LoaderConfig(batchSize: 2, seed: 5, transform: TransformConfig(crop: Size2D(height: 64, width: 96)))
        let loader = try DataLoader(dataset: dataset, split: "trainval", config: config)
        XCTAssertEqual(loader.batchesPerEpoch, 2)
        var epochs: [[String]] = []
        for e in 0..<4 {
            let iterator = loader.epoch(e)
            var ids: [String] = []
            while let batch = iterator.next() {
                XCTAssertEqual(batch.imageShape, [2, 3, 64, 96])
                XCTAssertEqual(batch.labelShape, [2, 64, 96])
                XCTAssertEqual(batch.images.count, 2 * 3 * 64 * 96)
                XCTAssertEqual(batch.labels.count, 2 * 64 * 96)
                XCTAssertTrue(Set(batch.labels).isSubset(of: [0, 1, 15, 19, 20, 255]))
                ids += batch.ids
            }
            XCTAssertEqual(ids.sorted(), ["2007_000032", "2007_000033", "2007_000039", "2007_000042"])
            XCTAssertEqual(iterator.stats.images, 4)
            XCTAssertEqual(iterator.stats.batches, 2)
            epochs.append(ids)
        }
        XCTAssertGreaterThan(Set(epochs).count, 1, "the order changes between epochs")
        // Same seed, same orders.
        let again = try DataLoader(dataset: dataset, split: "trainval", config: config)
        XCTAssertEqual(again.order(epoch: 2), loader.order(epoch: 2))
        XCTAssertEqual(loader.stats.images, 16)
        XCTAssertGreaterThanOrEqual(loader.stats.consumerWaitSeconds, 0)
        XCTAssertGreaterThan(loader.stats.imagesPerSecond, 0)
    }

    func testSameSeedGivesIdenticalBatches() throws {
        let dataset = try DatasetLoader.open(Fixtures.voc)
        let config = LoaderConfig(batchSize: 2, seed: 11,
                                  transform: TransformConfig(scaleRange: 0.5...1.0, crop: Size2D(height: 48, width: 48), horizontalFlip: true))
        let a = try DataLoader(dataset: dataset, split: "train", config: config).epoch(1).next()
        let b = try DataLoader(dataset: dataset, split: "train", config: config).epoch(1).next()
        XCTAssertEqual(a?.images, b?.images)
        XCTAssertEqual(a?.labels, b?.labels)
    }

    func testFailingSamplesAreSkippedWithWarningsNamingThem() throws {
        let dir = try TemporaryDirectory()
        let (root, problems) = try CorruptFixtures.voc(in: dir.url)
        let warnings = Warnings()
        let dataset = try DatasetLoader.open(root)
        let config = LoaderConfig(batchSize: 1, shuffle: false, transform: TransformConfig(crop: Size2D(height: 32, width: 32)),
                                  workers: 2)
        let loader = try DataLoader(dataset: dataset, split: "trainval", config: config) { warnings.add($0) }
        let iterator = loader.epoch(0)
        var ids: [String] = []
        while let batch = iterator.next() { ids += batch.ids }
        XCTAssertEqual(ids, CorruptFixtures.loadable)
        XCTAssertEqual(iterator.stats.skipped, 4)
        for problem in problems {
            for text in problem.mustMention {
                XCTAssertTrue(warnings.all.contains { $0.contains(problem.id) && $0.contains(text) },
                              "no warning about \(problem.id) mentioning '\(text)' in \(warnings.all)")
            }
        }
    }

    func testDropPolicyCountsDroppedImages() throws {
        let dataset = try DatasetLoader.open(Fixtures.voc)
        // 2007_000032 is 500x281: too small for a 300 px high crop.
        let config = LoaderConfig(batchSize: 1, shuffle: false,
                                  transform: TransformConfig(crop: Size2D(height: 300, width: 300), smallImages: .drop))
        let iterator = try DataLoader(dataset: dataset, split: "train", config: config).epoch(0)
        var ids: [String] = []
        while let batch = iterator.next() { ids += batch.ids }
        XCTAssertEqual(ids, ["2007_000039"])
        XCTAssertEqual(iterator.stats.dropped, 1)
    }

    func testCancellingMidEpochStopsTheProducer() throws {
        let dataset = try DatasetLoader.open(Fixtures.pets)
        let config = LoaderConfig(batchSize: 1, transform: TransformConfig(crop: Size2D(height: 16, width: 16)), prefetch: 1)
        let loader = try DataLoader(dataset: dataset, split: "trainval", config: config)
        var iterator: EpochIterator? = loader.epoch(0)
        XCTAssertNotNil(iterator?.next())
        iterator = nil  // releasing the iterator cancels; the producer must not block forever
        let deadline = Date().addingTimeInterval(10)
        while loader.stats.batches == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        XCTAssertLessThan(loader.stats.batches, 7, "the producer stopped early")
        XCTAssertGreaterThan(loader.stats.batches, 0, "the producer finished its epoch record")
    }

    func testBatchesNeedAFixedSize() throws {
        let dataset = try DatasetLoader.open(Fixtures.voc)
        XCTAssertThrowsError(try DataLoader(dataset: dataset, split: "train", config: LoaderConfig(batchSize: 2))) { error in
            XCTAssertTrue("\(error)".contains("crop or a resize"), "\(error)")
        }
        // Batch size 1 takes whole images of any size.
        let loader = try DataLoader(dataset: dataset, split: "val", config: LoaderConfig(batchSize: 1, shuffle: false))
        let first = try XCTUnwrap(loader.epoch(0).next())
        XCTAssertEqual(first.imageShape, [1, 3, 366, 500])
    }
}
