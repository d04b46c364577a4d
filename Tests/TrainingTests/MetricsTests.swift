import Datasets
import Foundation
import TestSupport
import XCTest
@testable import Training

final class MetricsTests: XCTestCase {
    func assertClose(_ a: Double, _ b: Double, _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
        if b.isNaN {
            XCTAssertTrue(a.isNaN, "expected nan, got \(a) \(message)", file: file, line: line)
        } else {
            XCTAssertEqual(a, b, accuracy: 1e-12, message, file: file, line: line)
        }
    }

    /// A 4-class 4×3 example worked by hand (rows = truth, columns = prediction):
    ///
    ///     truth  0 0 1 1 | 0 0 1 1 | 255 2 2 255      prediction 0 1 1 1 | 0 0 0 1 | 3 2 0 1
    ///
    ///     t0: p0 3, p1 1 (label 4)   t1: p0 1, p1 3 (label 4)   t2: p0 1, p2 1 (label 2)   t3: —
    ///     pred areas 5, 4, 1, 0; TP 3, 3, 1, 0; 10 labelled pixels (two 255s ignored).
    func testHandComputedExample() {
        let truth: [UInt8] = [0, 0, 1, 1, 0, 0, 1, 1, 255, 2, 2, 255]
        let prediction: [UInt8] = [0, 1, 1, 1, 0, 0, 0, 1, 3, 2, 0, 1]
        var matrix = ConfusionMatrix(classCount: 4)
        matrix.add(truth: truth, prediction: prediction)
        XCTAssertEqual(matrix.rows, [[3, 1, 0, 0], [1, 3, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]])
        XCTAssertEqual(matrix.total, 10)

        let m = SegmentationMetrics(matrix)
        XCTAssertEqual(m.pixels, 10)
        XCTAssertEqual(m.classPixels, [4, 4, 2, 0])
        // IoU = TP / (label + pred - TP)
        assertClose(m.classIoU[0], 3.0 / 6.0)
        assertClose(m.classIoU[1], 3.0 / 5.0)
        assertClose(m.classIoU[2], 1.0 / 2.0)
        assertClose(m.classIoU[3], .nan, "class 3: no true and no predicted pixel")
        assertClose(m.classAcc[0], 0.75)
        assertClose(m.classAcc[1], 0.75)
        assertClose(m.classAcc[2], 0.5)
        assertClose(m.classAcc[3], .nan)
        assertClose(m.classDice[0], 6.0 / 9.0)
        assertClose(m.classDice[1], 6.0 / 8.0)
        assertClose(m.classDice[2], 2.0 / 3.0)
        assertClose(m.classDice[3], .nan)
        assertClose(m.aAcc, 7.0 / 10.0)
        assertClose(m.mIoU, (0.5 + 0.6 + 0.5) / 3)
        assertClose(m.mAcc, (0.75 + 0.75 + 0.5) / 3)
        assertClose(m.mDice, (6.0 / 9.0 + 0.75 + 2.0 / 3.0) / 3)
        assertClose(m.fwIoU, 0.4 * 0.5 + 0.4 * 0.6 + 0.2 * 0.5)
    }

    /// A class predicted but absent from the truth: IoU 0 and Dice 0 (it counts against mIoU),
    /// Acc nan (0 / 0, left out of mAcc) — MMSegmentation's behaviour.
    func testFalsePositiveOnlyClass() {
        var matrix = ConfusionMatrix(classCount: 4)
        matrix.add(truth: [0, 0, 0, 0], prediction: [0, 0, 3, 3])
        let m = SegmentationMetrics(matrix)
        assertClose(m.classIoU[0], 0.5)
        assertClose(m.classIoU[3], 0)
        assertClose(m.classAcc[3], .nan)
        assertClose(m.classIoU[1], .nan)
        assertClose(m.mIoU, 0.25)
        assertClose(m.mAcc, 0.5)
        assertClose(m.mDice, (4.0 / 6.0 + 0) / 2)
        assertClose(m.aAcc, 0.5)
        assertClose(m.fwIoU, 0.5)
    }

    func testIgnoredAndOutOfRangeLabels() {
        var matrix = ConfusionMatrix(classCount: 2)
        // 255 (void) and 7 (not a class) in the truth are skipped, like torchvision's `(a >= 0) & (a < n)`.
        matrix.add(truth: [255, 7, 1, 1], prediction: [0, 0, 1, 0])
        XCTAssertEqual(matrix.rows, [[0, 0], [1, 1]])
        // A prediction outside the class range counts as wrong for its true class.
        matrix.add(truth: [0], prediction: [9])
        XCTAssertEqual(matrix.labelArea, [1, 2])
        XCTAssertEqual(matrix.predictionArea, [1, 1])
        let m = SegmentationMetrics(matrix)
        assertClose(m.classAcc[0], 0)
        assertClose(m.aAcc, 1.0 / 3.0)
    }

    func testEmptyMatrixIsAllNaN() {
        let m = SegmentationMetrics(ConfusionMatrix(classCount: 3))
        XCTAssertTrue(m.aAcc.isNaN && m.mIoU.isNaN && m.mAcc.isNaN && m.fwIoU.isNaN)
        XCTAssertEqual(m.pixels, 0)
    }

    func testMatricesAddUpToTheMatrixOfTheWhole() {
        let truth: [UInt8] = [0, 1, 2, 2, 255, 1, 0, 0]
        let pred: [UInt8] = [0, 2, 2, 1, 0, 1, 1, 0]
        var whole = ConfusionMatrix(classCount: 3)
        whole.add(truth: truth, prediction: pred)
        var a = ConfusionMatrix(classCount: 3), b = ConfusionMatrix(classCount: 3)
        a.add(truth: Array(truth[0..<3]), prediction: Array(pred[0..<3]))
        b.add(truth: Array(truth[3...]), prediction: Array(pred[3...]))
        a.add(b)
        XCTAssertEqual(a, whole)
    }

    /// Label maps shaped like the VOC fixture 2007_000032 (500×281, classes 0, 1, 15 and a void
    /// band): a prediction that misses the void band entirely and mislabels one block.
    func testVOCShapedLabelMapsPoolPixelsAndRankImages() {
        var truth = LabelMap(width: 500, height: 281, fill: 0)
        for y in 100..<200 { for x in 100..<300 { truth[x, y] = 1 } }      // aeroplane 200×100
        for y in 210..<260 { for x in 350..<400 { truth[x, y] = 15 } }     // person 50×50
        for x in 99...300 { truth[x, 99] = 255; truth[x, 200] = 255 }       // void band rows
        var prediction = truth
        for i in 0..<prediction.values.count where prediction.values[i] == 255 { prediction.values[i] = 0 }
        for y in 210..<260 { for x in 350..<375 { prediction[x, y] = 0 } } // half the person missed

        var matrix = ConfusionMatrix(classCount: 21)
        matrix.add(truth: truth, prediction: prediction)
        let m = SegmentationMetrics(matrix)
        let labelled = 500 * 281 - 2 * 202
        XCTAssertEqual(m.pixels, labelled)
        let person = 50 * 50, personHit = 25 * 50
        XCTAssertEqual(m.classPixels[15], person)
        XCTAssertEqual(m.classPixels[1], 200 * 100)
        assertClose(m.classIoU[1], 1)
        assertClose(m.classIoU[15], Double(personHit) / Double(person))
        let background = labelled - 20_000 - person
        assertClose(m.classIoU[0], Double(background) / Double(background + person - personHit))
        assertClose(m.aAcc, Double(labelled - (person - personHit)) / Double(labelled))
        XCTAssertEqual(m.classIoU.enumerated().filter { !$0.element.isNaN }.map(\.offset), [0, 1, 15])

        let good = ImageScore(id: "2007_000033", truth: truth.values, prediction: truth.values, classCount: 21)
        let bad = ImageScore(id: "2007_000032", truth: truth.values, prediction: prediction.values, classCount: 21)
        assertClose(good.mIoU, 1)
        assertClose(bad.mIoU, m.mIoU)
        let empty = ImageScore(id: "void", truth: [255, 255], prediction: [0, 0], classCount: 21)
        XCTAssertEqual(ImageScore.rankedWorstFirst([good, empty, bad]).map(\.id), ["2007_000032", "2007_000033", "void"])
    }

    func testMetricsSurviveJSONWithNaNAsNull() throws {
        var matrix = ConfusionMatrix(classCount: 3)
        matrix.add(truth: [0, 1, 1], prediction: [0, 1, 0])
        let m = SegmentationMetrics(matrix)
        let json = try JSONEncoder().encode(m)
        XCTAssertTrue(String(decoding: json, as: UTF8.self).contains("null"))
        XCTAssertEqual(try JSONDecoder().decode(SegmentationMetrics.self, from: json), m)
        XCTAssertEqual(try JSONDecoder().decode(ConfusionMatrix.self, from: JSONEncoder().encode(matrix)), matrix)
        XCTAssertThrowsError(try JSONDecoder().decode(ConfusionMatrix.self, from: Data(#"{"classes": 2, "counts": [1, 2, 3]}"#.utf8)))
    }

    func testTableLooksLikeMMSegmentationAndSaysWhatIsPooled() {
        var matrix = ConfusionMatrix(classCount: 3)
        matrix.add(truth: [0, 0, 1, 1, 255], prediction: [0, 0, 1, 0, 2])
        let m = SegmentationMetrics(matrix)
        let scores = [ImageScore(id: "a", mIoU: 0.5, pixelAccuracy: 0.75, pixels: 4),
                      ImageScore(id: "b", mIoU: 1.0, pixelAccuracy: 1.0, pixels: 4)]
        let text = MetricsTable.render(m, classNames: ["background", "aeroplane", "bicycle"], imageScores: scores)
        XCTAssertEqual(text, """
            per-class results:
            +------------+-------+--------+-------+
            | Class      | IoU   | Acc    | Dice  |
            +------------+-------+--------+-------+
            | background | 66.67 | 100.00 | 80.00 |
            | aeroplane  | 50.00 |  50.00 | 66.67 |
            | bicycle    |   nan |    nan |   nan |
            +------------+-------+--------+-------+
            Summary:
            +-------+-------+-------+-------+-------+------------+
            | aAcc  | mIoU  | mAcc  | mDice | fwIoU | image mIoU |
            +-------+-------+-------+-------+-------+------------+
            | 75.00 | 58.33 | 75.00 | 73.33 | 58.33 |      75.00 |
            +-------+-------+-------+-------+-------+------------+
            aAcc, IoU, Acc, Dice and their means (mIoU, mAcc, mDice, fwIoU) are pooled over all 4 labelled pixels (one confusion matrix; void 255 ignored); a class with no true and no predicted pixel is nan and left out of the means.
            image mIoU is averaged per image: the mean over 2 images of each image's own mIoU (classes present in that image's truth or prediction).

            """)
    }

    /// The real VOC fixture masks against a deterministic corruption of themselves (void → 0,
    /// shifted 16 columns right, and train predicted as tvmonitor in 2007_000042), compared with
    /// MMSegmentation's formulas evaluated by numpy:
    /// `~/torch-venv/bin/python scripts/golden/metrics_fixture.py` → Golden/voc_fixture_metrics.json.
    func testFixtureMasksMatchMMSegmentationFormulas() throws {
        struct Golden: Decodable {
            let pooled: SegmentationMetrics
            let image_mIoU: [String: Double]
        }
        let goldenURL = Fixtures.repositoryRoot.appendingPathComponent("Tests/TrainingTests/Golden/voc_fixture_metrics.json")
        let golden = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: goldenURL))
        var pooled = ConfusionMatrix(classCount: 21)
        var scores: [ImageScore] = []
        for id in ["2007_000032", "2007_000033", "2007_000039", "2007_000042"] {
            let png = try ImageCodec.readPNG(Fixtures.voc.appendingPathComponent("SegmentationClass/\(id).png"))
            let truth = LabelMap(width: png.width, height: png.height, values: png.samples)
            var prediction = LabelMap(width: png.width, height: png.height, fill: 0)
            for y in 0..<png.height {
                for x in 16..<png.width {
                    var v = truth[x - 16, y]
                    if v == 255 { v = 0 }
                    if id == "2007_000042" && v == 19 { v = 20 }
                    prediction[x, y] = v
                }
            }
            pooled.add(truth: truth, prediction: prediction)
            scores.append(ImageScore(id: id, truth: truth.values, prediction: prediction.values, classCount: 21))
        }
        let m = SegmentationMetrics(pooled)
        XCTAssertEqual(m.pixels, golden.pooled.pixels)
        XCTAssertEqual(m.classPixels, golden.pooled.classPixels)
        for (name, a, b) in [("aAcc", m.aAcc, golden.pooled.aAcc), ("mIoU", m.mIoU, golden.pooled.mIoU), ("mAcc", m.mAcc, golden.pooled.mAcc),
                             ("mDice", m.mDice, golden.pooled.mDice), ("fwIoU", m.fwIoU, golden.pooled.fwIoU)] {
            assertClose(a, b, name)
        }
        for c in 0..<21 {
            assertClose(m.classIoU[c], golden.pooled.classIoU[c], "IoU \(c)")
            assertClose(m.classAcc[c], golden.pooled.classAcc[c], "Acc \(c)")
            assertClose(m.classDice[c], golden.pooled.classDice[c], "Dice \(c)")
        }
        for score in scores { assertClose(score.mIoU, golden.image_mIoU[score.id] ?? -1, score.id) }
        // Classes present: 0, 1, 15, 19, 20 (20 also predicted); the rest are nan and left out.
        XCTAssertEqual(m.classIoU.enumerated().filter { !$0.element.isNaN }.map(\.offset), [0, 1, 15, 19, 20])
        XCTAssertEqual(ImageScore.rankedWorstFirst(scores).first?.id, "2007_000042")
    }
}
