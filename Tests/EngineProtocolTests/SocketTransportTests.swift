@testable import EngineProtocol
import Foundation
import Queues
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// The run socket (D-202) with a scripted event stream: no engine, no timing assertions (waits
/// are for a condition, with a generous limit that only bounds a failure).
final class SocketTransportTests: XCTestCase {
    private var work: URL!
    private var commands: CommandQueue!
    private var server: EngineServer!
    private var path: String { work.appendingPathComponent("engine.sock").path }

    override func setUpWithError() throws {
        work = try makeTemporaryDirectory("socket")
        commands = CommandQueue()
        server = EngineServer(commands: commands, listensOnRunStart: false)
        try server.listen(at: path)
    }

    override func tearDownWithError() throws {
        server.close()
        try? FileManager.default.removeItem(at: work)
    }

    private func post(_ range: ClosedRange<Int>) {
        for i in range { server.record(.warning("e\(i)")) }
    }

    private func wait(_ what: String, _ condition: () -> Bool) {
        let limit = Date().addingTimeInterval(60)
        while !condition() {
            if Date() > limit { return XCTFail("timed out waiting for \(what)") }
            usleep(2_000)
        }
    }

    /// The numbered test events a client delivered, in order (its own notices left out).
    private func delivered(_ client: EngineClient) -> [String] {
        client.events.drain().compactMap { event in
            if case .warning(let text) = event, text.hasPrefix("e"), Int(text.dropFirst()) != nil { return text }
            return nil
        }
    }

    func testTheSocketIsTheOwnersOnly() throws {
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFSOCK)
        XCTAssertThrowsError(try EngineServer(commands: commands).listen(at: path), "a live socket is not taken over")
        server.close()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path), "closing removes the socket file")
    }

    func testAttachDetachAndReattachMissNothing() throws {
        post(1...5)
        let client = try EngineClient(path: path)
        client.recordsSeq = true
        XCTAssertEqual(client.hello?.protocolVersion, WireProtocol.version)
        XCTAssertEqual(client.hello?.seq, 5)
        client.launch()
        post(6...10)
        wait("event 10") { client.lastSeq == 10 }
        client.detach()
        XCTAssertTrue(client.join(timeout: 60))
        XCTAssertNotNil(client.ended)
        post(11...15)  // while detached
        try client.reconnect()
        post(16...20)
        wait("event 20") { client.lastSeq == 20 }
        XCTAssertEqual(delivered(client), (1...20).map { "e\($0)" }, "the snapshot's 5, then every event once, in order")
        // Events 6…10 come as event lines or, when they were posted before the subscription was
        // read, inside the snapshot; after reattaching, 11…20 always come as event lines.
        XCTAssertEqual(client.seqLog.suffix(10), Array(11...20))
        XCTAssertEqual(client.seqLog, Array((21 - client.seqLog.count)...20), "contiguous")
        XCTAssertEqual(client.gaps, 0)
    }

    func testTwoViewersSeeTheSameStream() throws {
        post(1...3)
        let a = try EngineClient(path: path), b = try EngineClient(path: path)
        a.launch()
        b.launch()
        wait("two viewers") { server.viewerCount == 2 }
        post(4...40)
        wait("both at 40") { a.lastSeq == 40 && b.lastSeq == 40 }
        let seenA = delivered(a), seenB = delivered(b)
        XCTAssertEqual(seenA, (1...40).map { "e\($0)" })
        XCTAssertEqual(seenA, seenB)
    }

    func testAViewerThatVanishesLeavesTheRunServed() throws {
        let other = try EngineClient(path: path)
        other.launch()
        // A viewer killed mid-line: half a request, then the connection reset (no goodbye).
        let fd = try UnixSocket.connect(to: path)
        _ = "{\"type\":\"subscribe\",\"id\":1}\n{\"type\":\"comm".withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var linger = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
        close(fd)
        post(1...50)
        wait("the other viewer at 50") { other.lastSeq == 50 }
        wait("the vanished viewer removed") { server.viewerCount == 1 }
        XCTAssertEqual(delivered(other).count, 50)
        XCTAssertEqual(commands.count, 0, "nothing reached the engine")
    }

    func testTheEngineGoneViewersSaySoAndKeepWhatTheyHad() throws {
        post(1...7)
        let client = try EngineClient(path: path)
        client.launch()
        post(8...9)
        wait("event 9") { client.lastSeq == 9 }
        server.close()  // the run's process ends
        XCTAssertTrue(client.join(timeout: 60))
        let events = client.events.drain()
        XCTAssertEqual(events.count, 10)
        guard case .warning(let last) = events.last else { return XCTFail("no notice: \(events)") }
        XCTAssertTrue(last.contains("connection closed") && last.contains("last state (event 9)"), last)
        XCTAssertEqual(client.lastSeq, 9)
        XCTAssertThrowsError(try client.reconnect(), "nothing serves there any more")
    }

    func testViewersAreReadOnlyUnlessTheyAskForControl() throws {
        server.record(.state(.running))
        let viewer = try EngineClient(path: path)
        viewer.launch()
        viewer.commands.send(.pause)
        let refused = try XCTUnwrap(viewer.replies.pop(timeout: 60))
        XCTAssertFalse(refused.ok)
        XCTAssertTrue(refused.error?.contains("--control") == true, "\(refused)")
        XCTAssertEqual(commands.count, 0)

        let pilot = try EngineClient(path: path, control: true)
        pilot.launch()
        pilot.commands.send(.setLearningRate(0.01))
        XCTAssertEqual(pilot.replies.pop(timeout: 60)?.ok, true)
        XCTAssertEqual(commands.poll(), .setLearningRate(0.01))
        pilot.commands.send(.start(TrainingConfig()))
        XCTAssertEqual(pilot.replies.pop(timeout: 60)?.ok, false, "start belongs to the run's process")
        // shutdown from a viewer means detach: never sent, the run goes on.
        pilot.commands.send(.shutdown)
        XCTAssertTrue(pilot.join(timeout: 60))
        XCTAssertNil(commands.poll())
        XCTAssertTrue(pilot.ended?.contains("detached") == true, pilot.ended ?? "")
    }

    func testTheSnapshotCarriesConfigHistoryAndState() throws {
        var config = TrainingConfig()
        config.model = "unet"
        config.crop = PixelSize(square: 64)
        let started = RunStarted(config: config, model: ModelOverview(name: "unet", trainableParameters: 10),
                                 runDirectory: work.path, classNames: ["a", "b"], trainSamples: 4, valSamples: 2,
                                 totalIterations: 100, iterationsPerEpoch: 2)
        server.record(.state(.running))
        server.record(.runStarted(started))
        for i in 1...30 {
            server.record(.step(StepReport(epoch: 1, iteration: i, totalIterations: 100, loss: 1, epochLoss: 1, pixelAccuracy: 0.5,
                                           learningRate: 1e-3, imagesPerSecond: 1, etaSeconds: nil, elapsedSeconds: 1)))
        }
        server.record(.state(.paused))
        let (lines, _) = try rawSession([WireProtocol.subscribe(id: 1, since: nil, control: false)], until: { $0.contains("\"snapshot\"") })
        let snapshot = try XCTUnwrap(lines.last.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        XCTAssertEqual(snapshot["seq"] as? Int, 33)
        XCTAssertEqual(snapshot["state"] as? String, "paused")
        XCTAssertEqual((snapshot["config"] as? [String: Any])?["model"] as? String, "unet")
        XCTAssertEqual((snapshot["events"] as? [Any])?.count, 33)
        // A client replays every step of the history (none coalesced: they are the chart).
        let client = try EngineClient(path: path)
        client.launch()
        wait("the snapshot") { client.lastSeq == 33 }
        let steps = client.events.drain().filter { if case .step = $0 { return true } else { return false } }
        XCTAssertEqual(steps.count, 30)
    }

    /// Connects, sends `lines`, and reads until `done` holds for a line; returns what was read.
    private func rawSession(_ lines: [String], until done: (String) -> Bool) throws -> ([String], Int32) {
        let fd = try UnixSocket.connect(to: path)
        defer { close(fd) }
        for line in lines { XCTAssertTrue(UnixSocket.writeLine(fd, line)) }
        let reader = LineReader(fd: fd, limit: 1 << 30)
        var read: [String] = []
        while let line = reader.next() {
            read.append(line.text)
            if done(line.text) { break }
        }
        return (read, fd)
    }

    /// `close()` returns only once each viewer was sent what was pending: the process exits next,
    /// and a viewer must still get the run's last events (`finished`; seen missing under load).
    /// The lines are read without waiting once `close()` has returned, so a writer still at work
    /// would leave some out.
    func testClosingSendsEveryPendingLineBeforeItReturns() throws {
        let fd = try UnixSocket.connect(to: path)
        defer { close(fd) }
        XCTAssertTrue(UnixSocket.writeLine(fd, WireProtocol.subscribe(id: 1, since: nil, control: false)))
        let reader = LineReader(fd: fd, limit: 1 << 30)
        while let line = reader.next(), !line.text.contains("\"snapshot\"") {}
        post(1...40)   // few enough for the socket's buffer: the writer never waits for this reader
        server.close()
        var bytes: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = recv(fd, &chunk, chunk.count, Int32(MSG_DONTWAIT))
            if n <= 0 { break }
            bytes += chunk[0..<n]
        }
        let events = String(decoding: bytes, as: UTF8.self).split(separator: "\n").filter { $0.contains("\"event\"") }
        XCTAssertEqual(events.count, 40, "every event recorded before close() was sent before it returned")
    }

    /// Random bytes, truncated and mistyped requests, and an over-long line: each gets an error
    /// (or a refusal), none reaches the engine, and the connection still answers afterwards.
    func testProtocolFuzzNeverBreaksTheServer() throws {
        server.record(.state(.running))
        var rng = SplitMix(seed: 17)
        let valid = [
            WireProtocol.subscribe(id: 1, since: nil, control: true),
            try WireProtocol.command(id: 2, .setLearningRate(0.5)),
            try WireProtocol.command(id: 3, .predict(sampleID: "2007_000033")),
            "{\"type\":\"ping\",\"id\":4}",
        ]
        var lines: [[UInt8]] = []
        for i in 0..<600 {
            switch i % 6 {
            case 0:  // random bytes, no newline
                lines.append((0..<Int(rng.next() % 200 + 1)).map { _ in UInt8(truncatingIfNeeded: rng.next() % 255 + 1) }.map { $0 == 10 ? 32 : $0 })
            case 1:  // a valid request cut short
                let v = Array(valid[Int(rng.next() % UInt64(valid.count))].utf8)
                lines.append(Array(v.prefix(Int(rng.next() % UInt64(v.count - 1)) + 1)))
            case 2:  // one byte of a valid request flipped
                var v = Array(valid[1].utf8)
                v[Int(rng.next() % UInt64(v.count))] = UInt8(truncatingIfNeeded: rng.next() % 94 + 33)
                lines.append(v)
            case 3:
                let odd = ["null", "[]", "42", "\"x\"", "{}", "{\"type\":5}", "{\"type\":\"command\"}",
                           "{\"type\":\"command\",\"id\":\"x\",\"command\":{\"type\":\"pause\"}}",
                           "{\"type\":\"command\",\"id\":9,\"command\":{\"type\":\"setLearningRate\"}}",
                           "{\"type\":\"command\",\"id\":9,\"command\":{\"type\":\"launchMissiles\"}}",
                           "{\"type\":\"subscribe\",\"id\":1e400}", "{\"type\":\"subscribe\",\"since\":-5,\"id\":7}",
                           "{\"type\":\"\u{0}\"}", "{\"type\":\"ping\",\"id\":9223372036854775807}"]
                lines.append(Array(odd[Int(rng.next() % UInt64(odd.count))].utf8))
            case 4:  // deep nesting
                let depth = Int(rng.next() % 2000)
                lines.append(Array((String(repeating: "[", count: depth) + String(repeating: "]", count: depth / 2)).utf8))
            default:
                lines.append(Array("{\"type\":\"command\",\"id\":\(i),\"command\":{\"type\":\"stop\",\"x\":\(rng.next())}".utf8))
            }
        }
        lines.append([UInt8](repeating: UInt8(ascii: "a"), count: (1 << 20) + 10))  // longer than a request may be
        let fd = try UnixSocket.connect(to: path)
        defer { close(fd) }
        let reader = LineReader(fd: fd, limit: 1 << 30)
        // A thread reads while this one writes (the server's answers must not fill the socket).
        let answers = BlockingQueue<String>()
        let readerThread = Thread {
            while let line = reader.next() { answers.push(line.text) }
            answers.close()
        }
        readerThread.start()
        for var line in lines {
            line.append(10)
            var offset = 0
            while offset < line.count {
                let n = line.withUnsafeBytes { send(fd, $0.baseAddress! + offset, line.count - offset, Int32(MSG_NOSIGNAL)) }
                XCTAssertGreaterThan(n, 0, "the server closed the connection")
                if n <= 0 { return }
                offset += n
            }
        }
        XCTAssertTrue(UnixSocket.writeLine(fd, "{\"type\":\"ping\",\"id\":424242}"))
        var got: [String] = []
        while let answer = answers.pop(timeout: 60) {
            got.append(answer)
            if answer.contains("424242") { break }
        }
        XCTAssertTrue(got.last?.contains("\"ok\":true") == true, "the ping after the fuzz is answered: \(got.suffix(3))")
        for answer in got {
            let object = try? JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any]
            XCTAssertNotNil(object, "every answer is a JSON object: \(answer.prefix(80))")
        }
        XCTAssertTrue(got.contains { $0.contains("line too long") })
        XCTAssertGreaterThan(got.filter { $0.contains("\"type\":\"error\"") }.count, 300)
        // Only well-formed commands of this (control) viewer reached the engine.
        while let command = commands.poll() {
            switch command {
            case .setLearningRate, .predict, .stop: continue
            default: XCTFail("unexpected command \(command)")
            }
        }
        XCTAssertEqual(server.viewerCount, 1)
    }
}

/// A small deterministic generator (SplitMix64).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
