import Datasets
@testable import TUI
import XCTest

/// Previews of fine repeating detail (fences, fabric, text) must not show moiré: the
/// area-averaged photo scaling turns stripes finer than a target pixel into their mean grey,
/// where point sampling turns them into broad false bands.
final class MoireTests: XCTestCase {
    /// Vertical stripes of `period` source pixels, the first of each period white.
    func stripes(width: Int, height: Int, period: Int) -> RGBImage {
        var image = RGBImage(width: width, height: height, fill: (0, 0, 0))
        for y in 0..<height { for x in 0..<width where x % period == 0 { image[x, y] = (255, 255, 255) } }
        return image
    }

    func testStripesFinerThanAPixelBecomeTheirMeanWithoutBands() {
        for period in [2, 3, 5] {
            let image = stripes(width: 500, height: 40, period: period)
            let mean = 255.0 / Double(period)
            for target in [37, 50, 61, 97, 123] {
                let out = ImageScaler.areaAverage(image, width: target, height: 4)
                let shortest = 500 / target
                // A box of n pixels holds whole periods plus fewer than `period` pixels: it can
                // be off the mean by at most 255·(period−1)/n (and one for rounding).
                let bound = 255.0 * Double(period - 1) / Double(shortest) + 1
                let row = (0..<target).map { Double(out.pixels[3 * $0]) }
                let worst = row.map { abs($0 - mean) }.max() ?? 0
                XCTAssertLessThanOrEqual(worst, bound, "period \(period) → \(target) px: \(row)")
            }
        }
    }

    /// The same check on point sampling fails: it can only pick black or white, so the preview
    /// shows bands of full contrast (this is what the check catches).
    func testPointSamplingOfTheSameStripesShowsBands() {
        let image = stripes(width: 500, height: 40, period: 3)
        let out = ImageScaler.nearest(image, width: 61, height: 4)
        let row = (0..<61).map { Int(out.pixels[3 * $0]) }
        XCTAssertEqual(Set(row), [0, 255], "\(row)")
    }
}
