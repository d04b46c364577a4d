import Foundation
import Queues
import XCTest
@testable import Training

final class QueueTests: XCTestCase {
    func step(_ i: Int) -> EngineEvent {
        .step(StepReport(epoch: 1, iteration: i, totalIterations: 1_000_000, loss: 1 / Double(i), epochLoss: 1, pixelAccuracy: 0.5,
                         learningRate: 0.01, imagesPerSecond: 10, etaSeconds: nil, elapsedSeconds: Double(i)))
    }

    func iteration(of event: EngineEvent) -> Int? {
        if case .step(let s) = event { return s.iteration }
        return nil
    }

    /// A consumer that reads nothing while 200,000 steps and 200 evaluations, warnings and
    /// checkpoints are posted: posting never waits, at most one step stays pending, and every
    /// other event is delivered in order once the consumer wakes up.
    func testStalledConsumerLosesOnlyOldSteps() {
        let queue = EventQueue(softCapacity: 64)
        for i in 1...200_000 {
            queue.post(step(i))
            if i % 1000 == 0 {
                queue.post(.warning("w\(i)"))
                queue.post(.checkpointSaved(CheckpointSaved(path: "p\(i)", kind: .last, iteration: i, isBest: false, mIoU: nil)))
            }
        }
        queue.post(.failed(Failure(message: "end", iteration: 200_000)))
        XCTAssertEqual(queue.count, 200 * 2 + 1 + 1, "one pending step plus every never-dropped event")
        XCTAssertTrue(queue.isBacklogged)
        XCTAssertEqual(queue.coalesced, 200_000 - 1)

        let events = queue.drain()
        let warnings = events.compactMap { if case .warning(let w) = $0 { return w } else { return nil } }
        XCTAssertEqual(warnings, (1...200).map { "w\($0 * 1000)" })
        XCTAssertEqual(events.compactMap(iteration(of:)), [200_000], "only the newest step survives")
        // The surviving step sits where it was posted: after the events posted before it.
        XCTAssertEqual(events.firstIndex { iteration(of: $0) != nil }, events.count - 4)
        if case .failed = events.last {} else { XCTFail("failure must be last") }
    }

    func testStepsKeepTheirPlaceRelativeToOtherEvents() {
        let queue = EventQueue()
        queue.post(step(1))
        queue.post(.state(.paused))
        queue.post(step(2))
        queue.post(.warning("x"))
        queue.post(step(3))
        let events = queue.drain()
        XCTAssertEqual(events.map(\.name), ["state", "warning", "step"])
        XCTAssertEqual(iteration(of: events[2]), 3)
        // Once a step has been taken, the next one is pending afresh.
        queue.post(step(4))
        XCTAssertEqual(queue.poll().flatMap(iteration(of:)), 4)
        queue.post(step(5))
        queue.post(.warning("y"))
        XCTAssertEqual(queue.poll().flatMap(iteration(of:)), 5)
        queue.post(step(6))
        XCTAssertEqual(queue.drain().map(\.name), ["warning", "step"])
    }

    func testConsumerOnAnotherThreadSeesEveryNeverDroppedEvent() {
        let queue = EventQueue()
        let done = expectation(description: "consumer done")
        nonisolated(unsafe) var seen: [EngineEvent] = []
        Thread {
            while let event = queue.next(timeout: 10) {
                seen.append(event)
                if seen.count % 100 == 0 { Thread.sleep(forTimeInterval: 0.001) }  // a slow consumer
            }
            done.fulfill()
        }.start()
        for i in 1...50_000 {
            queue.post(step(i))
            if i % 500 == 0 { queue.post(.warning("w\(i)")) }
        }
        queue.post(step(50_001))
        queue.close()
        wait(for: [done], timeout: 30)
        XCTAssertEqual(seen.filter { $0.name == "warning" }.count, 100)
        XCTAssertEqual(seen.last.flatMap(iteration(of:)), 50_001, "the newest step is always delivered")
        let steps = seen.compactMap(iteration(of:))
        XCTAssertEqual(steps, steps.sorted(), "steps arrive in order")
    }

    func testNextTimesOutAndCloseEndsTheStream() {
        let queue = EventQueue()
        XCTAssertNil(queue.next(timeout: 0.01))
        queue.post(.warning("last"))
        queue.close()
        queue.post(.warning("after close is ignored"))
        XCTAssertEqual(queue.next(), .warning("last"))
        XCTAssertNil(queue.next(), "closed and drained: no waiting")
    }

    func testCommandQueueIsBoundedAndNeverBlocksTheSender() {
        let queue = CommandQueue(capacity: 3)
        XCTAssertTrue(queue.send(.pause))
        XCTAssertTrue(queue.send(.resume))
        XCTAssertTrue(queue.send(.evaluateNow))
        XCTAssertFalse(queue.send(.stop), "full: refused, not blocked")
        XCTAssertEqual(queue.poll(), .pause)
        XCTAssertTrue(queue.send(.stop))
        XCTAssertEqual([queue.poll(), queue.poll(), queue.poll(), queue.poll()], [.resume, .evaluateNow, .stop, nil])
        XCTAssertNil(queue.wait(timeout: 0.01))

        let waiter = expectation(description: "woken")
        Thread {
            if queue.wait() == .shutdown { waiter.fulfill() }
        }.start()
        queue.send(.shutdown)
        wait(for: [waiter], timeout: 5)
        queue.close()
        XCTAssertFalse(queue.send(.pause))
        XCTAssertNil(queue.wait())
    }

    /// The loader's way: a full queue makes the producer wait for room; closing wakes it with false.
    func testWaitingPushBlocksUntilThereIsRoomAndCloseReleasesIt() {
        let queue = BlockingQueue<Int>(capacity: 1)
        XCTAssertTrue(queue.push(1, whenFull: .wait))
        XCTAssertFalse(queue.push(2), "full and refusing")
        let second = expectation(description: "second push returned")
        let third = expectation(description: "third push returned")
        nonisolated(unsafe) var results: [Bool] = []
        Thread {
            results.append(queue.push(2, whenFull: .wait))
            second.fulfill()
            results.append(queue.push(3, whenFull: .wait))
            third.fulfill()
        }.start()
        XCTAssertEqual(queue.pop(timeout: 5), 1)
        wait(for: [second], timeout: 5)
        queue.close()
        wait(for: [third], timeout: 5)
        XCTAssertEqual(results, [true, false], "room let the second in; close refused the third")
        XCTAssertEqual(queue.pop(), 2, "a closed queue still hands out what it holds")
        XCTAssertNil(queue.pop(), "closed and drained: no waiting")
        XCTAssertEqual(queue.pushed, 2)
    }

}
