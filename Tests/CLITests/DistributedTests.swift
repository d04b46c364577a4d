import Foundation
import TestSupport
import XCTest

/// Tests that launch ranks with `mpirun` (Open MPI; CI installs it through scripts/install-deps.sh).
final class DistributedTests: XCTestCase {
    static let mpirun = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs `mpirun -np <ranks> sh -c <command>` on this machine (root allowed, more ranks than cores).
    private func mpirun(ranks: Int, _ command: String) throws -> (status: Int32, output: String) {
        let mpirun = try XCTUnwrap(Self.mpirun)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: mpirun)
        process.arguments = ["-np", "\(ranks)", "--allow-run-as-root", "--oversubscribe", "sh", "-c", command]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    private func mpiReport(_ url: URL) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: try Data(contentsOf: url))
        let json = try XCTUnwrap(object as? [String: Any])
        return try XCTUnwrap(json["mpi"] as? [String: Any], "doctor --json has no mpi section")
    }

    func testDoctorWithoutLauncherIsSingleProcess() throws {
        let result = try CLI.run(["doctor"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let line = try XCTUnwrap(result.stdout.split(separator: "\n").first { $0.hasPrefix("  MPI ") }, result.stdout)
        if Self.mpirun != nil {
            XCTAssertTrue(line.contains("Open MPI") && line.contains("single process"), String(line))
        } else {
            XCTAssertTrue(line.contains("not available"), String(line))
        }
    }

    func testTwoRanksEachReportTheirRankAndAllReduce() throws {
        try XCTSkipIf(Self.mpirun == nil, "mpirun is not installed (scripts/install-deps.sh installs openmpi-bin): MPI tests skipped")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mpi-doctor-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = try mpirun(ranks: 2, "exec '\(CLI.executable.path)' doctor --json --output \"\(dir.path)/rank-$OMPI_COMM_WORLD_RANK.json\"")
        XCTAssertEqual(run.status, 0, run.output)
        // Double quotes: the shell of each rank expands its own rank into the name.
        for rank in 0..<2 {
            let mpi = try mpiReport(dir.appendingPathComponent("rank-\(rank).json"))
            XCTAssertEqual(mpi["available"] as? Bool, true)
            XCTAssertEqual(mpi["launched"] as? Bool, true)
            XCTAssertEqual(mpi["rank"] as? Int, rank)
            XCTAssertEqual(mpi["size"] as? Int, 2)
            XCTAssertEqual(mpi["allReduce"] as? String, "ok", "\(mpi)")
        }
    }
}
