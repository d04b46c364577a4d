@testable import EngineProtocol
import Foundation
import TestSupport
import XCTest

/// The front's engine in processes of its own (D-261), with shell scripts standing in for
/// `segscope train`: a process that ends before it serves its run is reported with its status
/// and what its log says. (The whole path with a real run: CLITests.DetachedRunTests.)
final class DetachedEngineTests: XCTestCase {
    private var work: URL!

    override func setUpWithError() throws { work = try makeTemporaryDirectory("detached") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: work) }

    private func script(_ body: String) throws -> String {
        let url = work.appendingPathComponent("fake-train-\(UUID().uuidString.prefix(6))")
        try ("#!/bin/sh\n" + body + "\n").write(to: url, atomically: true, encoding: .utf8)
        chmod(url.path, 0o755)
        return url.path
    }

    /// Starts a run with `executable` and returns the events up to its failure.
    private func failedStart(_ executable: String) throws -> (Failure, [EngineEvent]) {
        let engine = DetachedEngine(executable: executable)
        engine.launch()
        var config = TrainingConfig()
        config.runsDir = work.appendingPathComponent("runs").path
        engine.commands.send(.start(config))
        var events: [EngineEvent] = []
        let limit = Date().addingTimeInterval(60)
        while Date() < limit, let event = engine.events.next(timeout: 60) {
            events.append(event)
            if case .failed(let failure) = event {
                // What follows it (the log's lines), up to the end of the events after shutdown.
                engine.commands.send(.shutdown)
                XCTAssertTrue(engine.join(timeout: 20))
                while let more = engine.events.next(timeout: 20) { events.append(more) }
                return (failure, events)
            }
        }
        throw XCTSkip("no failed event: \(events)")
    }

    func testAProcessThatEndsBeforeServingItsRunIsReportedWithItsLog() throws {
        let (failure, _) = try failedStart(try script("""
            echo "reading the configuration $2 $3" >&2
            echo "Error: --config x: config key 'batch': 0 is out of range" >&2
            exit 64
            """))
        XCTAssertTrue(failure.message.hasPrefix("Error: --config x: config key 'batch'"), failure.message)
        XCTAssertTrue(failure.message.contains("exited with status 64 and could not start the run"), failure.message)
        let logs = try FileManager.default.contentsOfDirectory(atPath: work.appendingPathComponent("runs").path)
        XCTAssertEqual(logs.filter { $0.hasSuffix(".log") }.count, 1, "the log stays in the runs directory: \(logs)")
        XCTAssertTrue(logs.allSatisfy { !$0.hasSuffix(".toml") }, "the handed-over config is removed: \(logs)")
        let log = try XCTUnwrap(logs.first { $0.hasSuffix(".log") })
        XCTAssertTrue(failure.message.contains(log), failure.message)
        XCTAssertTrue(try String(contentsOfFile: work.appendingPathComponent("runs/\(log)").path, encoding: .utf8)
            .contains("reading the configuration --config "), "train gets --config FILE")
    }

    func testATrapIsNamedWithTheRuntimesMessage() throws {
        let (failure, events) = try failedStart(try script("""
            echo "Sources/Training/Engine/FaultInjection.swift:25: Fatal error: injected trap" >&2
            echo "💣 Program crashed: Illegal instruction" >&2
            kill -ILL $$
            """))
        XCTAssertTrue(failure.message.hasPrefix("Fatal error: injected trap — "), failure.message)
        XCTAssertTrue(failure.message.contains("was killed by signal 4 (a trap: a Swift runtime error)"), failure.message)
        XCTAssertTrue(events.contains(.warning("log: 💣 Program crashed: Illegal instruction")), "\(events)")
    }

    func testCommandsWithoutARunAreRefusedAndShutdownEndsTheEngine() throws {
        let engine = DetachedEngine(executable: "/nonexistent/segscope")
        engine.launch()
        engine.commands.send(.pause)
        guard case .warning(let text) = engine.events.next(timeout: 20) else { return XCTFail("no warning") }
        XCTAssertEqual(text, "pause ignored: no run is in progress")
        var config = TrainingConfig()
        config.runsDir = work.appendingPathComponent("runs").path
        engine.commands.send(.start(config))
        guard case .failed(let failure) = engine.events.next(timeout: 20) else { return XCTFail("no failure") }
        XCTAssertTrue(failure.message.contains("cannot start /nonexistent/segscope"), failure.message)
        engine.commands.send(.shutdown)
        XCTAssertTrue(engine.join(timeout: 20))
        XCTAssertNil(engine.events.next(timeout: 1), "the events end with the engine")
    }

    func testShuttingDownWhileTheProcessStartsLeavesItRunning() throws {
        let release = work.appendingPathComponent("release")
        let engine = DetachedEngine(executable: try script("""
            while [ ! -e '\(release.path)' ]; do sleep 0.05; done
            """))
        addTeardownBlock { FileManager.default.createFile(atPath: release.path, contents: nil) }
        engine.launch()
        var config = TrainingConfig()
        config.runsDir = work.appendingPathComponent("runs").path
        engine.commands.send(.start(config))
        engine.commands.send(.shutdown)
        XCTAssertTrue(engine.join(timeout: 60), "the front does not wait for a run that is still starting")
        let log = try XCTUnwrap(engine.abandonedStart)
        XCTAssertTrue(FileManager.default.fileExists(atPath: log.path))
        let files = try FileManager.default.contentsOfDirectory(atPath: work.appendingPathComponent("runs").path)
        XCTAssertTrue(files.contains { $0.hasSuffix(".toml") }, "its configuration stays for it to read: \(files)")
    }

    func testTheAttachLineNamesTheRunDirectory() throws {
        let log = work.appendingPathComponent("train.log")
        try "run /r/20261204-190000-xunet: xunet, 8 train / 3 val images\n".write(to: log, atomically: true, encoding: .utf8)
        XCTAssertNil(DetachedEngine.attachLine(in: log), "the socket may exist, the line is not there yet")
        try "run /r/x: …\nattach: segscope attach /r/20261204-190000-xunet\n".write(to: log, atomically: true, encoding: .utf8)
        XCTAssertEqual(DetachedEngine.attachLine(in: log), "/r/20261204-190000-xunet")
        XCTAssertNil(DetachedEngine.attachLine(in: work.appendingPathComponent("none.log")))
        XCTAssertEqual(EngineProcess.describe(64 << 8), "exited with status 64")
        XCTAssertEqual(EngineProcess.describe(SIGKILL), "was killed by signal 9 (SIGKILL)")
        XCTAssertTrue(DetachedEngine.isOrderlyExit(0))
        XCTAssertTrue(DetachedEngine.isOrderlyExit(143 << 8), "train stopped by SIGTERM with its checkpoint")
        XCTAssertFalse(DetachedEngine.isOrderlyExit(1 << 8))
        XCTAssertFalse(DetachedEngine.isOrderlyExit(SIGILL))
    }
}
