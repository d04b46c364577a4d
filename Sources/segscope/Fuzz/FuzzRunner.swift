import Foundation
import Training

/// Runs fuzz cases in child processes and collects crashes and hangs.
enum FuzzRunner {
    struct Finding: Encodable {
        var target: String
        var index: Int
        var kind: String  // "crash" (with the signal) or "hang"
        var signal: Int32?
        var input: String
        var replay: String
    }

    struct TargetReport: Encodable {
        var target: String
        var cases: Int
        var seconds: Double
        var casesPerSecond: Double
        var crashes: Int
        var hangs: Int
    }

    struct Report: Encodable {
        var seed: UInt64
        var cases: Int
        var seconds: Double
        var casesPerSecond: Double
        var crashes: Int
        var hangs: Int
        var targets: [TargetReport]
        var findings: [Finding]

        var summary: String {
            var lines = targets.map {
                "  " + $0.target.padding(toLength: 13, withPad: " ", startingAt: 0)
                    + String(format: " %8d cases  %8.0f cases/s  %d crash(es)  %d hang(s)", $0.cases, $0.casesPerSecond, $0.crashes, $0.hangs)
            }
            lines.insert(String(format: "fuzz (seed %llu): %d cases in %.1f s (%.0f cases/s), %d crash(es), %d hang(s)", seed, cases,
                                seconds, casesPerSecond, crashes, hangs), at: 0)
            for f in findings { lines.append("  \(f.kind)\(f.signal.map { " (signal \($0))" } ?? ""): \(f.target) case \(f.index) → \(f.input); replay: \(f.replay)") }
            return lines.joined(separator: "\n")
        }
    }

    static func scratchDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-fuzz-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The child's side: "<index>\n" on stdout before each case, "done\n" at the end.
    static func work(_ target: FuzzTarget, seed: UInt64, from: Int, count: Int) throws {
        let scratch = try scratchDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = FileHandle.standardOutput
        for index in from..<(from + count) {
            out.write(Data("\(index)\n".utf8))
            if index == 7 {
                FaultInjection.trigger(.fuzzCrash)
                FaultInjection.trigger(.fuzzHang)
            }
            let input = target.input(seed: seed, index: index)
            _ = try? target.run(input, scratch)
        }
        out.write(Data("done\n".utf8))
    }

    static func writeCorpus(_ targets: [FuzzTarget], seed: UInt64, cases: Int, to directory: URL) throws -> Int {
        var written = 0
        for target in targets {
            let dir = directory.appendingPathComponent(target.name)
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for index in 0..<cases {
                try target.input(seed: seed, index: index).write(to: dir.appendingPathComponent(String(format: "%06d.bin", index)))
                written += 1
            }
        }
        return written
    }

    /// Lines read from a child's stdout on a thread of their own: the last case started, and
    /// whether the batch finished.
    final class Progress: @unchecked Sendable {
        private let lock = NSLock()
        private var last = -1
        private var done = false
        private var changed = Date()

        func read(_ handle: FileHandle) {
            var buffer = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: 10) {
                    let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...newline)
                    lock.lock()
                    if line == "done" { done = true } else if let i = Int(line) { last = i }
                    changed = Date()
                    lock.unlock()
                }
            }
        }

        var state: (last: Int, done: Bool, idle: TimeInterval) {
            lock.lock()
            defer { lock.unlock() }
            return (last, done, Date().timeIntervalSince(changed))
        }
    }

    static func run(_ targets: [FuzzTarget], seed: UInt64, cases: Int, batch: Int, timeout: Double, findings directory: URL,
                    progress: Bool) throws -> Report {
        let start = Date()
        var reports: [TargetReport] = []
        var findings: [Finding] = []
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        let selfPath = FileManager.default.fileExists(atPath: "/proc/self/exe")
            ? URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? executable.path)
            : executable
        for target in targets {
            let targetStart = Date()
            var next = 0, crashes = 0, hangs = 0
            while next < cases {
                let count = min(batch, cases - next)
                let process = Process()
                process.executableURL = selfPath
                process.arguments = ["fuzz", "--target", target.name, "--seed", String(seed), "--cases", String(count), "--worker", String(next)]
                var environment = ProcessInfo.processInfo.environment
                environment["SWIFT_BACKTRACE"] = "enable=no"
                process.environment = environment
                let pipe = Pipe()
                process.standardOutput = pipe
                process.standardError = FileHandle.nullDevice
                process.standardInput = FileHandle.nullDevice
                try process.run()
                let state = Progress()
                let reader = Thread { state.read(pipe.fileHandleForReading) }
                reader.start()
                var hung = false
                while process.isRunning {
                    Thread.sleep(forTimeInterval: 0.02)
                    if state.state.idle > timeout {
                        hung = true
                        kill(process.processIdentifier, SIGKILL)
                        break
                    }
                }
                process.waitUntilExit()
                // Let the reader drain what the child wrote before it ended.
                var settled = 0
                while !state.state.done && settled < 50 && !hung { Thread.sleep(forTimeInterval: 0.01); settled += 1 }
                let (last, done) = (state.state.last, state.state.done)
                if done && process.terminationReason == .exit && process.terminationStatus == 0 {
                    next += count
                    continue
                }
                let index = max(last, next)
                let kind = hung ? "hang" : "crash"
                let signal: Int32? = !hung && process.terminationReason == .uncaughtSignal ? process.terminationStatus : nil
                if hung { hangs += 1 } else { crashes += 1 }
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                let file = directory.appendingPathComponent("\(target.name)-seed\(seed)-case\(index)-\(kind).bin")
                try target.input(seed: seed, index: index).write(to: file)
                findings.append(Finding(target: target.name, index: index, kind: kind, signal: signal, input: file.path,
                                        replay: "segscope fuzz --target \(target.name) --seed \(seed) --replay \(index)"))
                if progress { FileHandle.standardError.write(Data("\(kind): \(target.name) case \(index)\n".utf8)) }
                next = index + 1
            }
            let seconds = Date().timeIntervalSince(targetStart)
            reports.append(TargetReport(target: target.name, cases: cases, seconds: seconds,
                                        casesPerSecond: seconds > 0 ? Double(cases) / seconds : 0, crashes: crashes, hangs: hangs))
        }
        let seconds = Date().timeIntervalSince(start)
        let total = reports.reduce(0) { $0 + $1.cases }
        return Report(seed: seed, cases: total, seconds: seconds, casesPerSecond: seconds > 0 ? Double(total) / seconds : 0,
                      crashes: findings.filter { $0.kind == "crash" }.count, hangs: findings.filter { $0.kind == "hang" }.count,
                      targets: reports, findings: findings)
    }
}
