import Foundation
import TestSupport
import XCTest
@testable import Training

/// Issue #16: after kill -9, resuming leaves no stale temporaries and no doubled records.
final class RunDirectoryResumeTests: XCTestCase {
    func testResumingRemovesStaleTemporariesAndMetricsAfterTheCheckpoint() throws {
        let root = try makeTemporaryDirectory("rundir-resume")
        defer { try? FileManager.default.removeItem(at: root) }
        let run = try RunDirectory.create(root: root, model: "xunet")
        let url = run.url
        // What a process killed at iteration 8 leaves after a checkpoint at iteration 5.
        var lines = (1...8).map { "{\"type\":\"step\",\"iteration\":\($0),\"loss\":1.5}" }
        lines.insert("{\"type\":\"evaluation\",\"iteration\":5,\"epoch\":1}", at: 5)
        let text = lines.joined(separator: "\n") + "\n{\"type\":\"step\",\"itera"
        try Data(text.utf8).write(to: run.metricsURL)
        let stale = [run.checkpointsURL.appendingPathComponent(".last.resume.safetensors.tmp-Ab12Cd"),
                     url.appendingPathComponent(".config.toml.tmp-XyZ123")]
        for file in stale { try Data(count: 1000).write(to: file) }
        let keep = run.checkpointsURL.appendingPathComponent("last.safetensors")
        try Data([1, 2, 3]).write(to: keep)

        let reopened = try RunDirectory(existing: url, resumingAt: 5)
        for file in stale { XCTAssertFalse(FileManager.default.fileExists(atPath: file.path), file.lastPathComponent) }
        XCTAssertEqual(FileManager.default.contents(atPath: keep.path), Data([1, 2, 3]))
        let after = try String(contentsOf: run.metricsURL, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(after, Array(lines.prefix(6)), "steps 1-5 and the evaluation at 5 stay; 6-8 and the torn line go")

        // Appending continues after the kept records.
        reopened.metrics.append(line: "{\"type\":\"step\",\"iteration\":6}")
        try reopened.flush()
        XCTAssertEqual(try String(contentsOf: run.metricsURL, encoding: .utf8).split(separator: "\n").count, 7)

        // Opening without resuming touches nothing.
        try Data(count: 10).write(to: stale[0])
        _ = try RunDirectory(existing: url)
        XCTAssertTrue(FileManager.default.fileExists(atPath: stale[0].path))
    }
}
