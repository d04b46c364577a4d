import Datasets
import Foundation
import XCTest
@testable import Training

final class MessagesTests: XCTestCase {
    static func sampleEvents() -> [EngineEvent] {
        var matrix = ConfusionMatrix(classCount: 3)
        matrix.add(truth: [0, 0, 1, 255], prediction: [0, 1, 1, 2])
        let metrics = SegmentationMetrics(matrix)
        var config = TrainingConfig()
        config.data = "/data/VOC2012"
        return [
            .state(.running),
            .runStarted(RunStarted(config: config, model: ModelOverview(name: "xunet", trainableParameters: 2_055_203,
                                                                    nonTrainableParameters: 3_776, table: "Layer …"),
                                   runDirectory: "runs/20261121-150000-xunet", classNames: ["background", "aeroplane", "bicycle"],
                                   trainSamples: 300, valSamples: 100, totalIterations: 570, iterationsPerEpoch: 38)),
            .step(StepReport(epoch: 1, iteration: 7, totalIterations: 570, loss: 0.93, epochLoss: 1.1, pixelAccuracy: 0.61,
                             learningRate: 9.9e-4, imagesPerSecond: 14.5, etaSeconds: nil, elapsedSeconds: 3.5)),
            .evaluation(EvaluationReport(epoch: 1, iteration: 38, split: "val", metrics: metrics,
                                         classNames: ["background", "aeroplane", "bicycle"], confusion: matrix,
                                         imageScores: [ImageScore(id: "2007_000033", mIoU: 0.25, pixelAccuracy: 0.5, pixels: 4)],
                                         loss: 0.7, mode: .slide, seconds: 2.5, isBest: true)),
            .samplePrediction(SamplePrediction(sampleID: "2007_000033", iteration: 38,
                                               prediction: LabelMap(width: 3, height: 2, values: [0, 1, 1, 0, 15, 20]),
                                               score: ImageScore(id: "2007_000033", mIoU: .nan, pixelAccuracy: 0.5, pixels: 6))),
            .checkpointSaved(CheckpointSaved(path: "runs/x/checkpoints/best.safetensors", kind: .best, iteration: 38,
                                             isBest: true, mIoU: 0.41)),
            .warning("pause ignored: no run is in progress"),
            .failed(Failure(message: "loss is NaN at iteration 12", iteration: 12)),
            .finished(RunSummary(reason: .earlyStopped, iterations: 380, epochs: 10, bestMIoU: 0.8, bestIteration: 304,
                                 lastMIoU: 0.79, seconds: 250, runDirectory: "runs/x")),
        ]
    }

    func testEveryEventRoundTripsThroughOneJSONLine() throws {
        for event in Self.sampleEvents() {
            let line = try MessageCoding.jsonLine(event)
            XCTAssertFalse(line.contains("\n"), line)
            XCTAssertTrue(line.contains("\"type\":\"\(event.name)\""), line)
            XCTAssertEqual(try MessageCoding.decode(EngineEvent.self, jsonLine: line), event, line)
        }
    }

    func testEventJSONIsFlatAndReadable() throws {
        let step = Self.sampleEvents()[2]
        XCTAssertEqual(try MessageCoding.jsonLine(step),
                       #"{"elapsed_seconds":3.5,"epoch":1,"epoch_loss":1.1,"images_per_second":14.5,"iteration":7,"learning_rate":0.00099,"loss":0.93,"pixel_accuracy":0.61,"total_iterations":570,"type":"step"}"#)
        // Undefined figures are null, the mask is base64.
        let prediction = try MessageCoding.jsonLine(Self.sampleEvents()[4])
        XCTAssertTrue(prediction.contains(#""mIoU":null"#), prediction)
        XCTAssertTrue(prediction.contains(#""mask":"AAEBAA8U""#), prediction)
    }

    /// The NaN-as-null wrappers keep the wire format: NaN and infinity are written as null and
    /// read back as NaN, a missing figure reads as NaN, a non-finite evaluation loss is left out,
    /// and every sample event's line is the same bytes after a round trip.
    func testUndefinedFiguresRoundTripAsNullWithTheSameBytes() throws {
        let step = StepReport(epoch: 1, iteration: 2, totalIterations: 10, loss: .nan, epochLoss: .infinity, pixelAccuracy: 0.5,
                              learningRate: 0.25, imagesPerSecond: .nan, etaSeconds: nil, elapsedSeconds: 1.5)
        let line = try MessageCoding.jsonLine(EngineEvent.step(step))
        XCTAssertEqual(line, #"{"elapsed_seconds":1.5,"epoch":1,"epoch_loss":null,"images_per_second":null,"iteration":2,"learning_rate":0.25,"loss":null,"pixel_accuracy":0.5,"total_iterations":10,"type":"step"}"#)
        guard case .step(let back) = try MessageCoding.decode(EngineEvent.self, jsonLine: line) else { return XCTFail(line) }
        XCTAssertTrue(back.loss.isNaN && back.epochLoss.isNaN && back.imagesPerSecond.isNaN)
        XCTAssertEqual(back.pixelAccuracy, 0.5)
        XCTAssertEqual(try MessageCoding.jsonLine(EngineEvent.step(back)), line)

        let missing = try MessageCoding.decode(ImageScore.self, jsonLine: #"{"id":"a","pixels":0}"#)
        XCTAssertTrue(missing.mIoU.isNaN && missing.pixelAccuracy.isNaN, "a missing figure reads as NaN")
        XCTAssertEqual(missing, ImageScore(id: "a", mIoU: .nan, pixelAccuracy: .nan, pixels: 0), "NaN equals NaN in messages")

        guard case .evaluation(var evaluation) = Self.sampleEvents()[3] else { return XCTFail("sample 3 is an evaluation") }
        evaluation.loss = .nan
        let evaluationLine = try MessageCoding.jsonLine(EngineEvent.evaluation(evaluation))
        XCTAssertFalse(evaluationLine.contains(#""loss""#), evaluationLine)
        XCTAssertTrue(evaluationLine.contains(#""mode":"slide""#), evaluationLine)
        XCTAssertTrue(evaluationLine.contains(#""class_iou":[0.5,0.5,null]"#), evaluationLine)

        for event in Self.sampleEvents() {
            let first = try MessageCoding.jsonLine(event)
            XCTAssertEqual(try MessageCoding.jsonLine(MessageCoding.decode(EngineEvent.self, jsonLine: first)), first)
        }
    }

    func testEveryCommandRoundTrips() throws {
        var config = TrainingConfig()
        config.optimizer = .sgd
        config.crop = PixelSize(height: 320, width: 480)
        let commands: [EngineCommand] = [.start(config), .pause, .resume, .stop, .setLearningRate(0.01), .evaluateNow,
                                         .predict(sampleID: "2007_000042"), .saveCheckpoint, .shutdown]
        for command in commands {
            let line = try MessageCoding.jsonLine(command)
            XCTAssertEqual(try MessageCoding.decode(EngineCommand.self, jsonLine: line), command, line)
        }
        XCTAssertTrue(try MessageCoding.jsonLine(EngineCommand.start(config)).contains(#""crop":[320,480]"#))
    }

    func testUnknownMessagesAreRejectedWithTheirName() {
        XCTAssertThrowsError(try MessageCoding.decode(EngineCommand.self, jsonLine: #"{"type":"explode"}"#)) {
            XCTAssertTrue("\($0)".contains("explode"), "\($0)")
        }
        XCTAssertThrowsError(try MessageCoding.decode(EngineEvent.self, jsonLine: #"{"type":"party"}"#))
        XCTAssertThrowsError(try MessageCoding.decode(EngineCommand.self,
                                                      jsonLine: #"{"type":"start","config":{"optimiser":"sgd"}}"#)) {
            XCTAssertTrue("\($0)".contains("did you mean 'optimizer'"), "\($0)")
        }
        XCTAssertThrowsError(try MessageCoding.decode(EngineEvent.self,
            jsonLine: #"{"type":"samplePrediction","sample_id":"a","iteration":1,"width":2,"height":2,"mask":"AAE=","score":{"id":"a","pixels":0,"mIoU":null,"pixel_accuracy":null}}"#))
    }
}
