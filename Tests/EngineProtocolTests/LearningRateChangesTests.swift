@testable import EngineProtocol
import Foundation
import XCTest

/// The config key `lr_changes` and the `learningRateChanged` event (D-260).
final class LearningRateChangesTests: XCTestCase {
    func testTheKeyParsesFormatsAndRefusesBadText() throws {
        XCTAssertEqual(try LearningRateChange.parse(""), [])
        let changes = try LearningRateChange.parse(" 0:0.005, 120:1e-05 ")
        XCTAssertEqual(changes, [LearningRateChange(iteration: 0, rate: 0.005), LearningRateChange(iteration: 120, rate: 1e-5)])
        XCTAssertEqual(LearningRateChange.text(changes), "0:0.005,120:1e-05")
        XCTAssertEqual(try LearningRateChange.parse(LearningRateChange.text(changes)), changes, "the text round-trips exactly")

        for (text, says) in [("5", "is not ITER:RATE"), ("-1:0.1", "is not ITER:RATE"), ("3:0", "is not a learning rate"),
                             ("3:11", "is not a learning rate"), ("3:x", "is not a learning rate"),
                             ("4:0.1,4:0.2", "does not come after iteration 4"), ("9:0.1,2:0.2", "does not come after iteration 9")] {
            var config = TrainingConfig()
            config.lrChanges = text
            let problems = config.problems().filter { $0.key == "lr_changes" }
            XCTAssertEqual(problems.count, 1, text)
            XCTAssertTrue(problems.first?.message.contains(says) == true, "\(text): \(problems)")
            XCTAssertTrue(problems.first?.allowed.contains("ITER:RATE") == true)
        }
    }

    func testRatesPerIterationAndRecordingAChange() {
        var config = TrainingConfig()
        config.lr = 0.1
        XCTAssertEqual(config.baseLearningRate(forIteration: 1), 0.1)
        config = config.recordingLearningRateChange(after: 0, to: 0.2)
        config = config.recordingLearningRateChange(after: 10, to: 0.3)
        config = config.recordingLearningRateChange(after: 20, to: 0.4)
        XCTAssertEqual(config.lrChanges, "0:0.2,10:0.3,20:0.4")
        XCTAssertEqual([1, 10, 11, 20, 21, 99].map(config.baseLearningRate(forIteration:)), [0.2, 0.2, 0.3, 0.3, 0.4, 0.4])
        XCTAssertEqual(config.learningRateChange(after: 10), 0.3)
        XCTAssertNil(config.learningRateChange(after: 11))
        XCTAssertEqual(config.lr, 0.1, "lr stays the rate the run started with")
        // A change at or before recorded ones supersedes them (a resumed run changing earlier).
        XCTAssertEqual(config.recordingLearningRateChange(after: 10, to: 0.05).lrChanges, "0:0.2,10:0.05")
        XCTAssertEqual(config.recordingLearningRateChange(after: 5, to: 0.05).lrChanges, "0:0.2,5:0.05")
    }

    func testTheKeyRoundTripsThroughTOMLAndJSON() throws {
        var config = TrainingConfig()
        config = config.recordingLearningRateChange(after: 3, to: 0.005).recordingLearningRateChange(after: 7, to: 2.5e-4)
        let toml = config.tomlText(header: "a run")
        XCTAssertTrue(toml.contains("\nlr_changes = \"3:0.005,7:0.00025\"\n"), toml)
        XCTAssertEqual(try TrainingConfig(toml: toml), config)
        let json = try MessageCoding.jsonLine(config)
        XCTAssertEqual(try MessageCoding.decode(TrainingConfig.self, jsonLine: json), config)
        XCTAssertEqual(try TrainingConfig(toml: TrainingConfig().tomlText()).lrChanges, "", "no changes: an empty key")
    }

    func testTheEventIsOneFlatJSONLine() throws {
        let event = EngineEvent.learningRateChanged(LearningRateChanged(iteration: 12, from: 0.001, to: 0.005))
        let line = try MessageCoding.jsonLine(event)
        XCTAssertEqual(line, #"{"from":0.001,"iteration":12,"replayed":false,"to":0.005,"type":"learningRateChanged"}"#)
        XCTAssertEqual(try MessageCoding.decode(EngineEvent.self, jsonLine: line), event)
        XCTAssertEqual(event.name, "learningRateChanged")
        XCTAssertFalse(event.isCoalescible, "a change is never dropped")
    }
}
