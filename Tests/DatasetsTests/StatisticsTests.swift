import Datasets
import Foundation
import TestSupport
import XCTest

final class StatisticsTests: XCTestCase {
    func testVOCFixtureStatistics() throws {
        let stats = try DatasetStatistics.compute(try DatasetLoader.open(Fixtures.voc))
        XCTAssertEqual(stats.count(split: "train"), 2)
        XCTAssertEqual(stats.count(split: "val"), 2)
        XCTAssertEqual(stats.numClasses, 21)
        XCTAssertEqual(stats.samples, 4)
        XCTAssertEqual(stats.decoded, 4)
        for entry in stats.images {
            XCTAssertEqual(entry.classes.map(UInt8.init), ReaderTests.vocClassSets[entry.id], entry.id)
        }
        XCTAssertEqual(stats.classes[15].images, 1)
        XCTAssertEqual(stats.classes[0].images, 4)
        XCTAssertEqual(stats.classes[1].images, 2)
        XCTAssertEqual(stats.imageSizes.count, 4)
        let share = stats.classes.map(\.pixelShare).reduce(0, +)
        XCTAssertEqual(share, 1, accuracy: 1e-9)
        XCTAssertEqual(stats.totalPixels, 500 * (281 + 366 + 375 + 335))
    }

    func testCorruptCopyReportsEveryProblem() throws {
        let dir = try TemporaryDirectory()
        let (root, problems) = try CorruptFixtures.voc(in: dir.url)
        let stats = try DatasetStatistics.compute(try DatasetLoader.open(root))
        let reported = stats.bad + stats.warnings
        XCTAssertEqual(Set(reported.map(\.id)), Set(problems.map(\.id)))
        for problem in problems {
            let texts = reported.filter { $0.id == problem.id }.map(\.reason).joined(separator: " | ")
            for text in problem.mustMention { XCTAssertTrue(texts.contains(text), "\(problem.id): '\(text)' not in \(texts)") }
        }
        XCTAssertEqual(stats.decoded, 2)
    }
}
