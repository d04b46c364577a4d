import Foundation
import NN
import TestSupport
import XCTest

/// Data-parallel `segscope train` under `mpirun -np 2` on this machine, checked against one
/// process with the whole batch (issue #18's "Done when"). Tiny: xunet, 32×32 crops, a demo set
/// of 8 + 4 images, one thread per rank.
final class DistributedTrainingTests: XCTestCase {
    var work: URL!
    var demo: URL!

    override func setUpWithError() throws {
        try XCTSkipIf(DistributedTests.mpirun == nil, "mpirun is not installed (scripts/install-deps.sh installs openmpi-bin): MPI tests skipped")
        work = FileManager.default.temporaryDirectory.appendingPathComponent("mpi-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        demo = work.appendingPathComponent("demo")
        let made = try CLI.run(["data", "demo", "--out", demo.path, "--train", "8", "--val", "4"])
        XCTAssertEqual(made.status, 0, made.stderr)
    }

    override func tearDownWithError() throws {
        if let work { try? FileManager.default.removeItem(at: work) }
    }

    /// `segscope train` arguments shared by the one-process and the two-rank runs. Batch norm is
    /// frozen unless said: with per-rank batch statistics, two batches of b normalise
    /// differently than one of 2b (`sync` normalises them as one).
    private func trainArguments(batch: Int, iterations: Int, runs: String, batchNorm: String = "frozen",
                                extra: [String] = []) -> [String] {
        ["train", "--data", demo.path, "--model", "xunet", "--batch", "\(batch)", "--iterations", "\(iterations)",
         "--crop", "32", "--threads", "1", "--runs-dir", work.appendingPathComponent(runs).path,
         "--set", "batch_norm=\(batchNorm)", "--set", "precise_bn_images=0", "--set", "eval_interval=\(iterations)",
         "--set", "optimizer=adam", "--set", "lr=0.0005"] + extra
    }

    /// `mpirun -np 2 segscope <arguments>` (root allowed, more ranks than cores).
    private func mpirun(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let mpirun = try XCTUnwrap(DistributedTests.mpirun)
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun)
        process.arguments = ["-np", "2", "--allow-run-as-root", "--oversubscribe", CLI.executable.path] + arguments
        process.environment = env
        return try DistributedTests.collect(process)
    }

    private func onlyRun(in runs: String) throws -> URL {
        let dirs = try FileManager.default.contentsOfDirectory(at: work.appendingPathComponent(runs), includingPropertiesForKeys: nil)
        XCTAssertEqual(dirs.count, 1, "rank 0 alone writes a run directory: \(dirs.map(\.lastPathComponent))")
        return try XCTUnwrap(dirs.first)
    }

    private func records(_ run: URL, type: String) throws -> [[String: Any]] {
        let text = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").compactMap { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return object?["type"] as? String == type ? object : nil
        }
    }

    func testTwoRanksOfBatchTwoAverageTheGradientsOfOneBatchOfFour() throws {
        let worst = try gradientDifference(batchNorm: "frozen", oneProcess: "frozen")
        XCTAssertLessThanOrEqual(worst.difference, 1e-5, "largest difference \(worst.difference) in \(worst.name)")
    }

    /// `batch_norm = sync` (synchronised batch norm, D-166): two ranks of batch 2 with batch
    /// statistics give the gradients of one process of batch 4 with batch statistics; with
    /// per-rank statistics (`batch`) they do not, so the check has teeth.
    func testSynchronisedBatchNormOnTwoRanksGivesTheGradientsOfOneBatchOfFour() throws {
        let synced = try gradientDifference(batchNorm: "sync", oneProcess: "batch")
        XCTAssertLessThanOrEqual(synced.difference, 1e-5, "largest difference \(synced.difference) in \(synced.name)")
        let perRank = try gradientDifference(batchNorm: "batch", oneProcess: "batch", tag: "per-rank")
        XCTAssertGreaterThan(perRank.difference, 1e-3, "per-rank statistics should differ from the whole batch's")
    }

    /// The largest difference between the first step's gradients of one process of batch 4
    /// (`oneProcess` batch norm) and two ranks of batch 2 (`batchNorm`).
    private func gradientDifference(batchNorm: String, oneProcess: String, tag: String = "") throws -> (name: String, difference: Float) {
        let one = work.appendingPathComponent("one\(tag).safetensors"), two = work.appendingPathComponent("two\(tag).safetensors")
        let single = try CLI.run(trainArguments(batch: 4, iterations: 1, runs: "runs-1\(tag)", batchNorm: oneProcess,
                                                extra: ["--distributed", "none", "--dump-gradients", one.path]))
        XCTAssertEqual(single.status, 0, single.stderr)
        let ranks = try mpirun(trainArguments(batch: 2, iterations: 1, runs: "runs-2\(tag)", batchNorm: batchNorm,
                                              extra: ["--dump-gradients", two.path]))
        XCTAssertEqual(ranks.status, 0, ranks.output)
        XCTAssertTrue(ranks.output.contains("data-parallel over 2 ranks"), ranks.output)

        let a = try SafetensorsFile.read(from: one), b = try SafetensorsFile.read(from: two)
        XCTAssertEqual(a.metadata["segscope.ranks"], "1")
        XCTAssertEqual(b.metadata["segscope.ranks"], "2")
        XCTAssertEqual(a.names.sorted(), b.names.sorted())
        XCTAssertGreaterThan(a.names.count, 10)
        var largest: Float = 0, worst: (name: String, difference: Float) = ("", 0)
        for name in a.names {
            let x = try a.entry(name).floats(), y = try b.entry(name).floats()
            XCTAssertEqual(x.count, y.count, name)
            for (u, v) in zip(x, y) {
                largest = max(largest, abs(u))
                if abs(u - v) > worst.difference { worst = (name, abs(u - v)) }
            }
        }
        XCTAssertGreaterThan(largest, 1e-3, "the gradients are not all ~0 (the comparison would prove nothing)")
        return worst
    }

    func testFortyIterationsOnTwoRanksMatchOneProcessLosses() throws {
        let single = try CLI.run(trainArguments(batch: 4, iterations: 40, runs: "runs-1", extra: ["--distributed", "none"]))
        XCTAssertEqual(single.status, 0, single.stderr)
        let ranks = try mpirun(trainArguments(batch: 2, iterations: 40, runs: "runs-2"))
        XCTAssertEqual(ranks.status, 0, ranks.output)

        let oneRun = try onlyRun(in: "runs-1"), twoRun = try onlyRun(in: "runs-2")
        let a = try records(oneRun, type: "step"), b = try records(twoRun, type: "step")
        XCTAssertEqual(a.count, 40)
        XCTAssertEqual(b.count, 40)
        for (x, y) in zip(a, b) {
            let u = try XCTUnwrap(x["loss"] as? Double), v = try XCTUnwrap(y["loss"] as? Double)
            XCTAssertEqual(u, v, accuracy: 1e-4, "iteration \(x["iteration"] ?? "?")")
        }
        let first = try XCTUnwrap(a.first?["loss"] as? Double), last = try XCTUnwrap(a.last?["loss"] as? Double)
        XCTAssertLessThan(last, first, "the run trains (the loss falls), so equal losses are not two constant curves")

        // Sharded evaluation (2 images per rank, confusion matrices summed) scores the split as one process does.
        let ea = try XCTUnwrap(try records(oneRun, type: "evaluation").last), eb = try XCTUnwrap(try records(twoRun, type: "evaluation").last)
        let ma = try XCTUnwrap(ea["mIoU"] as? Double ?? (ea["metrics"] as? [String: Any])?["mIoU"] as? Double, "\(ea)")
        let mb = try XCTUnwrap(eb["mIoU"] as? Double ?? (eb["metrics"] as? [String: Any])?["mIoU"] as? Double, "\(eb)")
        XCTAssertEqual(ma, mb, accuracy: 1e-3)
        XCTAssertTrue(FileManager.default.fileExists(atPath: twoRun.appendingPathComponent("checkpoints/last.resume.safetensors").path))
    }

    func testARankThatFailsStopsEveryRankWithItsMessage() throws {
        // Rank 1 cannot open its dataset (a node without the data mounted): rank 0 waits in the
        // broadcast of the initial weights until rank 1's MPI_Abort ends the job.
        let mpirun = try XCTUnwrap(DistributedTests.mpirun)
        let missing = work.appendingPathComponent("not-mounted").path
        let args = trainArguments(batch: 2, iterations: 5, runs: "runs-2").map { "'\($0)'" }.joined(separator: " ")
        let script = "if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then data='\(missing)'; else data='\(demo.path)'; fi; "
            + "exec '\(CLI.executable.path)' \(args) --data \"$data\""
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun)
        process.arguments = ["-np", "2", "--allow-run-as-root", "--oversubscribe", "sh", "-c", script]
        let result = try DistributedTests.collect(process)
        XCTAssertNotEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("rank 1: error: cannot start"), result.output)
        XCTAssertTrue(result.output.contains("not-mounted"), result.output)
        XCTAssertTrue(result.output.contains("rank 1: stopping all 2 ranks"), result.output)
    }

    func testARunOfTwoRanksResumesOnOneProcessAsTheSameRun() throws {
        // Global batch 4 both ways (2 ranks × 2, then 1 × 4); a constant rate, so stopping at 4 of 8
        // iterations changes nothing but the point of the interruption.
        let constant = ["--set", "schedule=constant"]
        let whole = try CLI.run(trainArguments(batch: 4, iterations: 8, runs: "runs-1", extra: constant + ["--distributed", "none"]))
        XCTAssertEqual(whole.status, 0, whole.stderr)
        let first = try mpirun(trainArguments(batch: 2, iterations: 4, runs: "runs-2", extra: constant))
        XCTAssertEqual(first.status, 0, first.output)
        let run = try onlyRun(in: "runs-2")
        let resumed = try CLI.run(["train", "--resume", run.appendingPathComponent("checkpoints/last.resume.safetensors").path,
                                   "--iterations", "8", "--batch", "4", "--distributed", "none"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        let a = try records(try onlyRun(in: "runs-1"), type: "step"), b = try records(run, type: "step")
        XCTAssertEqual(b.compactMap { $0["iteration"] as? Int }, Array(1...8))
        for (x, y) in zip(a, b) {
            let u = try XCTUnwrap(x["loss"] as? Double), v = try XCTUnwrap(y["loss"] as? Double)
            XCTAssertEqual(u, v, accuracy: 1e-4, "iteration \(x["iteration"] ?? "?")")
        }
    }

    // MARK: - Steering a distributed run through rank 0's socket (D-167)

    /// `mpirun -np 2 segscope <arguments> --paused` in the background, and its run directory
    /// once rank 0 serves it (`engine.sock`).
    private func startPausedTwoRankRun(_ arguments: [String], runs: String) throws -> (job: Process, run: URL, log: URL) {
        let log = work.appendingPathComponent("\(runs).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let job = Process()
        job.executableURL = URL(fileURLWithPath: try XCTUnwrap(DistributedTests.mpirun))
        job.arguments = ["-np", "2", "--allow-run-as-root", "--oversubscribe", CLI.executable.path] + arguments + ["--paused"]
        let handle = try FileHandle(forWritingTo: log)
        job.standardOutput = handle
        job.standardError = handle
        job.standardInput = FileHandle.nullDevice
        try job.run()
        let root = work.appendingPathComponent(runs), limit = Date().addingTimeInterval(300)
        var run: URL?
        while run == nil && job.isRunning && Date() < limit {
            let dirs = (try? FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: nil)) ?? []
            run = dirs.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("engine.sock").path) }
            if run == nil { usleep(50_000) }
        }
        guard let run else {
            job.terminate()
            job.waitUntilExit()
            let said = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            XCTFail("rank 0 never served the run; the job said:\n\(said)")
            throw XCTSkip("no run to steer")
        }
        return (job, run, log)
    }

    /// The job's exit status; a job still running after `seconds` (a hang: ranks that did not
    /// agree) is terminated and fails the test.
    private func exitStatus(of job: Process, log: URL, within seconds: Double = 300) -> Int32? {
        let limit = Date().addingTimeInterval(seconds)
        while job.isRunning && Date() < limit { usleep(50_000) }
        guard !job.isRunning else {
            job.terminate()
            job.waitUntilExit()
            XCTFail("the ranks did not finish (a hang); the job said:\n\((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            return nil
        }
        return job.terminationStatus
    }

    func testViewerCommandsOnRankZeroSteerEveryRank() throws {
        // Started at lr 0.0005 and paused; a viewer of rank 0 sets 0.004 and resumes. Every rank
        // must take the new rate at the same step: the losses are then those of one process
        // trained at 0.004 from the start (a rank left at 0.0005 would drift apart at once).
        let constant = ["--set", "schedule=constant"]
        let single = try CLI.run(trainArguments(batch: 4, iterations: 6, runs: "runs-1",
                                                extra: constant + ["--set", "lr=0.004", "--distributed", "none"]))
        XCTAssertEqual(single.status, 0, single.stderr)
        let (job, run, log) = try startPausedTwoRankRun(trainArguments(batch: 2, iterations: 6, runs: "runs-2", extra: constant),
                                                        runs: "runs-2")
        let steer = try CLI.run(["attach", run.path, "--control", "--send", "lr=0.004", "--send", "resume"])
        XCTAssertEqual(steer.status, 0, steer.stderr)
        XCTAssertEqual(exitStatus(of: job, log: log), 0, (try? String(contentsOf: log, encoding: .utf8)) ?? "")

        let a = try records(try onlyRun(in: "runs-1"), type: "step"), b = try records(run, type: "step")
        XCTAssertEqual(b.count, 6)
        for (x, y) in zip(a, b) {
            XCTAssertEqual(try XCTUnwrap(y["learning_rate"] as? Double), 0.004, accuracy: 1e-12)
            let u = try XCTUnwrap(x["loss"] as? Double), v = try XCTUnwrap(y["loss"] as? Double)
            XCTAssertEqual(u, v, accuracy: 1e-4, "iteration \(x["iteration"] ?? "?")")
        }
    }

    func testEvaluatingAndStoppingAPausedTwoRankRunReachesEveryRank() throws {
        // Evaluation is a collective (the confusion matrices are summed): asked of rank 0 alone,
        // it would leave rank 0 waiting for rank 1 for ever. Stop then ends both ranks cleanly.
        let (job, run, log) = try startPausedTwoRankRun(trainArguments(batch: 2, iterations: 6, runs: "runs-2"), runs: "runs-2")
        let steer = try CLI.run(["attach", run.path, "--control", "--send", "evaluateNow", "--send", "stop"])
        XCTAssertEqual(steer.status, 0, steer.stderr)
        XCTAssertEqual(exitStatus(of: job, log: log), 0)
        let said = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        XCTAssertTrue(said.contains("finished (stopped) after 0 iterations"), said)
        XCTAssertFalse(said.contains("MPI_Abort"), said)
        XCTAssertEqual(try records(run, type: "step").count, 0, "paused from the start: no step was taken")
        let evaluations = try records(run, type: "evaluation")
        XCTAssertEqual(evaluations.count, 1, said)
        XCTAssertEqual(evaluations.first?["iteration"] as? Int, 0)
    }
}
