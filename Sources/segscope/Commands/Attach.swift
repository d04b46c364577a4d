import ArgumentParser
import Foundation
import Training
import TUI

/// `segscope attach`: the cockpit on a live run (or, with `--events` / `--send`, a plain viewer
/// for scripts) over the run's socket, D-202.
struct Attach: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open the cockpit on a live run (started by segscope train or the terminal front).",
        discussion: """
            RUN_DIR is a run directory (its engine.sock) or a socket path, e.g. one forwarded \
            from another machine: ssh -L /tmp/seg.sock:RUN/engine.sock host, then segscope attach \
            /tmp/seg.sock. Without it, the newest live run under --runs-dir. Viewers are read-only; \
            --control lets this one pause, stop, change the learning rate, evaluate, checkpoint. \
            Quitting detaches: the run goes on. Several viewers may attach at once.
            """)

    @Argument(help: "A run directory or a socket (default: the newest live run under --runs-dir).")
    var target: String?

    @Flag(help: "Steer the run (pause / resume / stop / lr / evaluate / checkpoint), not only watch it.")
    var control = false

    @Flag(help: "No cockpit: print what the engine sends (hello, snapshot, events, replies) as JSON lines until the run ends.")
    var events = false

    @Option(help: "With --events: resume after this event number (the snapshot is skipped when the engine still has them).")
    var since: Int?

    @Option(name: .customLong("send"), help: "Send a command and exit once it is answered (repeatable; needs --control): pause, resume, stop, evaluateNow, saveCheckpoint, lr=VALUE, predict=ID, or a command as JSON.")
    var commands: [String] = []

    @Option(help: "The directory that holds run directories (to find the newest live run).")
    var runsDir = "runs"

    @Option(help: "Colour depth of the cockpit: auto, direct, 256, 16 or mono.")
    var color = "auto"

    @Option(help: "Theme name or path to a .theme file.")
    var theme: String?

    @Option(help: "Dataset for the browser screen (default: the demo set).")
    var data: String?

    func run() throws {
        let path = try socketPath()
        let parsed = try commands.map(Self.command(parsing:))
        if !parsed.isEmpty && !control { throw ValidationError("--send needs --control (viewers are read-only)") }
        if events || !parsed.isEmpty {
            throw ExitCode(try Self.plainViewer(path: path, control: control, since: since, send: parsed, follow: events))
        }
        // The front's engine as `tui` has it, attached to this run: its runs browser can turn to
        // another live run, and a run started from it is a process of its own (D-261).
        let engine = DetachedEngine(executable: Tui.executablePath, viewerControl: control)
        let hello: WireProtocol.Hello
        do { hello = try engine.attach(socket: path) } catch { throw ValidationError("\(error)") }
        var tui = try Tui.parse([])
        tui.color = color
        tui.theme = theme
        tui.data = data
        tui.runsDir = runsDir
        let name = hello.runID.isEmpty ? path : hello.runID
        try tui.runFront(attachingTo: (engine, Attachment(name: name, control: control), path))
    }

    /// The socket `target` names, or the newest live run's.
    func socketPath() throws -> String {
        guard let target else {
            let root = URL(fileURLWithPath: (runsDir as NSString).expandingTildeInPath)
            let entries = (try? RunArchive.scan(root)) ?? []
            guard let live = entries.first(where: { RunArchive.isLive(URL(fileURLWithPath: $0.path)) }) else {
                throw ValidationError("no live run under \(root.path) (segscope runs lists them); pass a run directory or a socket")
            }
            return RunLayout(URL(fileURLWithPath: live.path)).socketURL.path
        }
        let expanded = (target as NSString).expandingTildeInPath
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: expanded, isDirectory: &isDirectory) else {
            throw ValidationError("\(target): no such run directory or socket")
        }
        if isDirectory.boolValue {
            let socket = RunLayout(URL(fileURLWithPath: expanded)).socketURL.path
            guard FileManager.default.fileExists(atPath: socket) else {
                throw ValidationError("\(target): no engine.sock, the run is not live (open a past run with segscope tui --run \(target))")
            }
            return socket
        }
        return expanded
    }

    /// `pause`, `lr=0.01`, `predict=ID` or a command as JSON.
    static func command(parsing text: String) throws -> EngineCommand {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("{") {
            do { return try MessageCoding.decode(EngineCommand.self, jsonLine: trimmed) } catch {
                throw ValidationError("--send \(text): not an engine command (\(error))")
            }
        }
        if let eq = trimmed.firstIndex(of: "=") {
            let key = trimmed[..<eq].lowercased(), value = String(trimmed[trimmed.index(after: eq)...])
            switch key {
            case "lr", "setlearningrate":
                guard let lr = Double(value), LearningRateLimit.allows(lr) else {
                    throw ValidationError("--send \(text): '\(value)' is not a learning rate (\(LearningRateLimit.allowed))")
                }
                return .setLearningRate(lr)
            case "predict": return .predict(sampleID: value)
            default: throw ValidationError("--send \(text): unknown command '\(key)' (lr=VALUE, predict=ID)")
            }
        }
        switch trimmed.lowercased() {
        case "pause": return .pause
        case "resume": return .resume
        case "stop": return .stop
        case "evaluatenow", "evaluate": return .evaluateNow
        case "savecheckpoint", "checkpoint": return .saveCheckpoint
        default:
            throw ValidationError("--send \(text): unknown command (pause, resume, stop, evaluateNow, saveCheckpoint, lr=VALUE, predict=ID)")
        }
    }

    /// Prints the server's lines; sends `send` after subscribing and, unless `follow`, exits once
    /// each is answered (1 when one was refused). With `follow`, exits 0 when the run's process
    /// ends the connection.
    static func plainViewer(path: String, control: Bool, since: Int?, send: [EngineCommand], follow: Bool) throws -> Int32 {
        let fd: Int32
        do { fd = try UnixSocket.connect(to: path) } catch { throw ValidationError("\(error)") }
        defer { close(fd) }
        let reader = LineReader(fd: fd, limit: 1 << 30)
        let out = FileHandle.standardOutput
        func emit(_ line: String) { if follow { out.write(Data((line + "\n").utf8)) } }
        UnixSocket.writeLine(fd, WireProtocol.subscribe(id: 1, since: since, control: control))
        var waiting = Set<Int>()
        for (i, command) in send.enumerated() {
            let id = i + 2
            waiting.insert(id)
            UnixSocket.writeLine(fd, try WireProtocol.command(id: id, command))
        }
        var status: Int32 = 0
        while let line = reader.next() {
            emit(line.text)
            guard !waiting.isEmpty, let reply = try? JSONDecoder().decode(WireProtocol.ReplyLine.self, from: Data(line.text.utf8)),
                  reply.type == "reply", let id = reply.id, waiting.contains(id) else { continue }
            waiting.remove(id)
            let name = send[id - 2].name
            if reply.ok == true {
                FileHandle.standardError.write(Data("\(name): ok\n".utf8))
            } else {
                FileHandle.standardError.write(Data("\(name): refused: \(reply.error ?? "no reason")\n".utf8))
                status = 1
            }
            if waiting.isEmpty && !follow { return status }
        }
        if !waiting.isEmpty {
            FileHandle.standardError.write(Data("the engine's connection closed before it answered\n".utf8))
            return 1
        }
        FileHandle.standardError.write(Data("the engine's connection closed (its process ended or was killed)\n".utf8))
        return status
    }
}
