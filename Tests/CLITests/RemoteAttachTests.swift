import Foundation
import TestSupport
import XCTest

/// Remote use as the README shows it (issue #17): a run's socket forwarded by a real
/// `ssh -L LOCAL.sock:RUN/engine.sock host`, then `segscope attach LOCAL.sock`. The host is this
/// machine: an `sshd` of the test's own on a loopback port, with keys made for the test
/// (scripts/install-deps.sh installs openssh-server and openssh-client).
final class RemoteAttachTests: XCTestCase {
    private var work: URL!
    private var processes: [Process] = []
    private var daemonPIDFiles: [URL] = []

    private static let sshd = "/usr/sbin/sshd"
    private static let ssh = ["/usr/bin/ssh", "/bin/ssh"].first { FileManager.default.isExecutableFile(atPath: $0) }

    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: Self.sshd) && Self.ssh != nil,
                          "sshd / ssh not installed (scripts/install-deps.sh installs openssh-server): remote attach not tested")
        try XCTSkipUnless(getuid() == 0, "sshd needs root here (its privilege separation)")
        work = try makeTemporaryDirectory("remote")
    }

    override func tearDownWithError() throws {
        for file in daemonPIDFiles {
            if let text = try? String(contentsOf: file, encoding: .utf8), let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                kill(pid, SIGTERM)
            }
        }
        for process in processes where process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        if let work { try? FileManager.default.removeItem(at: work) }
    }

    /// Starts `path arguments` in the background, stdout and stderr into `name.log`.
    @discardableResult
    private func start(_ path: String, _ arguments: [String], name: String) throws -> (Process, URL) {
        let log = work.appendingPathComponent("\(name).log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        processes.append(process)
        return (process, log)
    }

    private func text(_ log: URL) -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// Waits for `condition` (the limit only bounds a failure).
    private func waitFor(_ what: String, seconds: Double = 120, _ condition: () -> Bool) throws {
        let limit = Date().addingTimeInterval(seconds)
        while !condition() {
            guard Date() < limit else { throw XCTSkip("gave up waiting for \(what)") }
            usleep(50_000)
        }
    }

    private func keygen(_ file: URL) throws {
        let made = Process()
        made.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-keygen")
        made.arguments = ["-q", "-t", "ed25519", "-N", "", "-f", file.path]
        try made.run()
        made.waitUntilExit()
        XCTAssertEqual(made.terminationStatus, 0, "ssh-keygen")
    }

    /// An sshd on a free loopback port that lets the test's key in; returns the port.
    private func startSSHD() throws -> Int {
        let hostKey = work.appendingPathComponent("host_key"), clientKey = work.appendingPathComponent("client_key")
        try keygen(hostKey)
        try keygen(clientKey)
        try FileManager.default.copyItem(at: clientKey.appendingPathExtension("pub"), to: work.appendingPathComponent("authorized_keys"))
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        for attempt in 0..<5 {
            let port = 20_000 + Int.random(in: 0..<20_000)
            let config = work.appendingPathComponent("sshd_config-\(attempt)")
            try """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(hostKey.path)
            AuthorizedKeysFile \(work.appendingPathComponent("authorized_keys").path)
            StrictModes no
            PidFile \(work.appendingPathComponent("sshd.pid").path)
            UsePAM no
            PermitRootLogin prohibit-password
            AllowStreamLocalForwarding yes
            StreamLocalBindUnlink yes

            """.write(to: config, atomically: true, encoding: .utf8)
            // sshd and ssh close every inherited descriptor at start, which Foundation's Process
            // takes for the child's exit (and then waits for it for ever): sshd runs as a daemon
            // (its pid in the PidFile, killed in tearDown), ssh under a shell (see `forward`).
            let log = work.appendingPathComponent("sshd-\(attempt).log")
            let daemon = Process()
            daemon.executableURL = URL(fileURLWithPath: Self.sshd)
            daemon.arguments = ["-f", config.path, "-E", log.path]
            try daemon.run()
            daemon.waitUntilExit()
            guard daemon.terminationStatus == 0 else { continue }
            daemonPIDFiles.append(work.appendingPathComponent("sshd.pid"))
            try waitFor("sshd to listen") { text(log).contains("Server listening") || text(log).contains("fatal") }
            if text(log).contains("Server listening") { return port }
        }
        throw XCTSkip("no sshd could listen on a loopback port")
    }

    func testAttachThroughAnSSHForwardedSocketWatchesAndSteersTheRun() throws {
        let port = try startSSHD()
        let demo = work.appendingPathComponent("demo"), runs = work.appendingPathComponent("runs")
        XCTAssertEqual(try CLI.run(["data", "demo", "--out", demo.path, "--train", "6", "--val", "2"]).status, 0)
        let (train, trainLog) = try start(CLI.executable.path, [
            "train", "--data", demo.path, "--model", "xunet", "--iterations", "2", "--batch", "2", "--crop", "64",
            "--threads", "1", "--runs-dir", runs.path, "--set", "eval_interval=2", "--set", "precise_bn_images=0", "--paused",
        ], name: "train")
        try waitFor("train's attach line") { text(trainLog).contains("attach: segscope attach") || !train.isRunning }
        let run = try XCTUnwrap((try FileManager.default.contentsOfDirectory(at: runs, includingPropertiesForKeys: nil)).first,
                                text(trainLog))

        // ssh -N -L LOCAL:REMOTE host — as in the README, with the test's key and host.
        let local = work.appendingPathComponent("seg.sock")
        let sshArguments = [
            "-N", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "ExitOnForwardFailure=yes", "-i", work.appendingPathComponent("client_key").path, "-p", "\(port)",
            "-L", "\(local.path):\(run.appendingPathComponent("engine.sock").path)", "root@127.0.0.1",
        ]
        let sshPID = work.appendingPathComponent("ssh.pid")
        daemonPIDFiles.append(sshPID)
        let command = ([try XCTUnwrap(Self.ssh)] + sshArguments).map { "'\($0)'" }.joined(separator: " ")
        let (ssh, sshLog) = try start("/bin/sh", ["-c", "\(command) & echo $! > '\(sshPID.path)'; wait"], name: "ssh")
        try waitFor("the forwarded socket") { FileManager.default.fileExists(atPath: local.path) || !ssh.isRunning }
        XCTAssertTrue(ssh.isRunning, text(sshLog))

        // Watch through the tunnel (the paused run's snapshot), then steer it: it finishes.
        let (viewer, viewerLog) = try start(CLI.executable.path, ["attach", local.path, "--events"], name: "viewer")
        try waitFor("the viewer's snapshot") { text(viewerLog).contains("\"snapshot\"") || !viewer.isRunning }
        XCTAssertTrue(text(viewerLog).contains("paused"), text(viewerLog))
        let resumed = try CLI.run(["attach", local.path, "--control", "--send", "resume"])
        XCTAssertEqual(resumed.status, 0, resumed.stderr)
        XCTAssertTrue(resumed.stderr.contains("resume: ok"), resumed.stderr)
        try waitFor("the run to finish", seconds: 300) { !train.isRunning }
        XCTAssertEqual(train.terminationStatus, 0, text(trainLog))
        try waitFor("the viewer to see the end") { !viewer.isRunning }
        XCTAssertTrue(text(viewerLog).contains("\"finished\""), text(viewerLog))
    }
}
