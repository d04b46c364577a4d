import Foundation
import XCTest
@testable import Training

/// The ranks of a distributed run agreeing on every command (D-167), with the ranks as engines
/// on threads of one process and the all-reduce as a sum under a lock (`mpirun` runs of the same
/// are in CLITests/DistributedTrainingTests).
final class RankAgreementTests: XCTestCase {
    /// An all-reduce of `ControlDecision.contribution` over `size` threads: each call waits until
    /// every member has contributed to the same round.
    final class ThreadedGroup: @unchecked Sendable {
        let size: Int
        private let condition = NSCondition()
        private var round = 0, arrived = 0
        private var sum = [Double](repeating: 0, count: 6)
        private var result: [Double] = []
        private(set) var rounds = 0
        init(size: Int) { self.size = size }

        final class Member: RankAgreement, @unchecked Sendable {
            let group: ThreadedGroup
            let rank: Int
            var isLeader: Bool { rank == 0 }
            init(group: ThreadedGroup, rank: Int) { self.group = group; self.rank = rank }
            func agree(_ proposal: ControlDecision, abandon: (() -> Bool)?) throws -> ControlDecision? {
                group.reduce(proposal.contribution(asLeader: isLeader), abandon: abandon).map(ControlDecision.init(sum:))
            }
        }

        func reduce(_ values: [Double], abandon: (() -> Bool)?) -> [Double]? {
            condition.lock()
            defer { condition.unlock() }
            let mine = round
            for i in values.indices { sum[i] += values[i] }
            arrived += 1
            if arrived == size {
                result = sum
                sum = [Double](repeating: 0, count: 6)
                arrived = 0
                round += 1
                rounds += 1
                condition.broadcast()
            }
            while round == mine {
                _ = condition.wait(until: Date().addingTimeInterval(0.01))
                if round == mine, let abandon {
                    condition.unlock()
                    let giveUp = abandon()
                    condition.lock()
                    if giveUp && round == mine { return nil }
                }
            }
            return result
        }
    }

    var runs: URL!
    override func setUpWithError() throws {
        runs = FileManager.default.temporaryDirectory.appendingPathComponent("agree-\(UUID().uuidString)")
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: runs) }

    private func config() -> TrainingConfig {
        var config = TrainingConfig()
        config.model = "xunet"
        config.epochs = 0
        config.iterations = 1_000_000
        config.evalInterval = 1_000_000
        config.schedule = .constant
        config.lr = 0.1
        config.runsDir = runs.path
        return config
    }

    /// Two engines, rank 0 writing the run, both started on the same configuration.
    private func startTwoRanks(_ group: ThreadedGroup, clock: (@Sendable () -> Double)? = nil) -> [(engine: TrainingEngine, probe: FakeSession.Probe)] {
        (0..<2).map { rank in
            let probe = FakeSession.Probe()
            let member = ThreadedGroup.Member(group: group, rank: rank)
            var options = FakeSession.Script()
            options.stepDelay = 0.002
            let script = options
            let engine = TrainingEngine(writesRunDirectory: rank == 0) { _, _ in
                let session = FakeSession(script: script, probe: probe)
                session.agreement = member
                return session
            }
            if let clock { engine.clock = clock }
            engine.launch()
            engine.send(.start(config()))
            return (engine, probe)
        }
    }

    private func warning(_ text: String) -> (EngineEvent) -> Bool {
        { if case .warning(let w) = $0 { return w.contains(text) } else { return false } }
    }

    func testRankZerosCommandsAndAnyRanksStopReachEveryRankAtTheSameIteration() throws {
        let group = ThreadedGroup(size: 2)
        let ranks = startTwoRanks(group)
        let (leader, follower) = (ranks[0].engine, ranks[1].engine)
        for (engine, _) in ranks { collect(engine, seconds: 30) { if case .step = $0 { return true } else { return false } } }

        // Rank 0 pauses: every rank pauses after the same number of steps.
        leader.send(.pause)
        for (engine, _) in ranks { collect(engine, seconds: 30) { $0 == .state(.paused) } }
        XCTAssertEqual(ranks[0].probe.steps.count, ranks[1].probe.steps.count)
        let pausedAt = ranks[0].probe.steps.count

        // Only rank 0 steers: the others say so and change nothing.
        follower.send(.setLearningRate(7))
        collect(follower, seconds: 30, until: warning("setLearningRate ignored on rank 1 of a distributed run"))
        leader.send(.pause)
        collect(leader, seconds: 30, until: warning("already paused"))

        // While paused: a new rate and an evaluation, on every rank.
        leader.send(.setLearningRate(0.5))
        leader.send(.evaluateNow)
        for (engine, _) in ranks { collect(engine, seconds: 30) { if case .evaluation = $0 { return true } else { return false } } }
        XCTAssertEqual(ranks[1].probe.evaluations, 1, "rank 1 evaluated with rank 0 (a collective)")
        XCTAssertEqual(ranks[0].probe.steps.count, pausedAt, "nothing trains while paused")

        leader.send(.resume)
        for (engine, _) in ranks {
            collect(engine, seconds: 30) { if case .step(let s) = $0 { return s.iteration > pausedAt + 2 } else { return false } }
        }

        // A signal's stop on rank 1 alone stops both, at the same iteration, after a checkpoint.
        follower.send(.saveCheckpoint)
        follower.send(.stop)
        var summaries: [RunSummary] = []
        for (engine, _) in ranks {
            let end = collect(engine, seconds: 30) { if case .finished = $0 { return true } else { return false } }
            if case .finished(let summary) = end.last { summaries.append(summary) }
            if engine === leader {
                XCTAssertTrue(end.contains { if case .checkpointSaved = $0 { return true } else { return false } })
            }
        }
        XCTAssertEqual(summaries.map(\.reason), [.stopped, .stopped])
        XCTAssertEqual(summaries[0].iterations, summaries[1].iterations)
        XCTAssertEqual(ranks[0].probe.steps.map(\.iteration), ranks[1].probe.steps.map(\.iteration))
        XCTAssertEqual(ranks[0].probe.steps.map(\.lr), ranks[1].probe.steps.map(\.lr), "every rank took every rate at the same step")
        XCTAssertEqual(ranks[1].probe.steps.last?.lr, 0.5)
        for (engine, _) in ranks {
            engine.send(.shutdown)
            XCTAssertTrue(engine.join(timeout: 30))
        }
    }

    func testAFollowerToldToStopWhileRankZeroStaysPausedGivesUpWithAMessage() throws {
        let group = ThreadedGroup(size: 2)
        let clock = EngineTests.ManualClock()
        let ranks = startTwoRanks(group, clock: { clock.now })
        let (leader, follower) = (ranks[0].engine, ranks[1].engine)
        for (engine, _) in ranks { collect(engine, seconds: 30) { if case .step = $0 { return true } else { return false } } }
        leader.send(.pause)
        for (engine, _) in ranks { collect(engine, seconds: 30) { $0 == .state(.paused) } }

        // A signal sent to rank 1 alone while rank 0 stays paused: rank 1 waits the grace period
        // (on the engine's clock), then fails, which aborts the real job.
        follower.send(.stop)
        var failure: Failure?
        let deadline = Date().addingTimeInterval(30)
        while failure == nil && Date() < deadline {
            clock.advance(TrainingEngine.pausedStopGrace + 1)
            if case .failed(let f)? = follower.events.next(timeout: 0.05) { failure = f }
        }
        let message = try XCTUnwrap(failure, "rank 1 gave up").message
        XCTAssertTrue(message.contains("rank 1 was told to stop while rank 0 keeps the run paused"), message)
        collect(follower, seconds: 30) { if case .finished = $0 { return true } else { return false } }
        follower.send(.shutdown)
        XCTAssertTrue(follower.join(timeout: 30))
        // Rank 0, still paused, ends when it is shut down (its agreement completes the round rank 1 left).
        leader.send(.shutdown)
        XCTAssertTrue(leader.join(timeout: 30))
    }
}
