import Foundation
import TestSupport
import XCTest

final class DoctorTests: XCTestCase {
    private func decode(_ text: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try XCTUnwrap(object as? [String: Any], "doctor --json is not a JSON object:\n\(text)")
    }

    func testVersionAndHelp() throws {
        let version = try CLI.run(["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertTrue(version.stdout.hasPrefix("0."), version.stdout)
        let help = try CLI.run(["--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("doctor"), help.stdout)
    }

    func testJSONHasEveryFieldAndSkipsProbesWithoutTerminal() throws {
        let result = try CLI.run(["doctor", "--json"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let json = try decode(result.stdout)
        let libraries = try XCTUnwrap(json["libraries"] as? [String: String])
        for key in ["ncurses", "libpng", "libjpeg", "openblas", "onednn", "libsixel"] {
            let value = try XCTUnwrap(libraries[key], "missing library \(key)")
            XCTAssertFalse(value.isEmpty || value == "unknown", "\(key) = \(value)")
        }
        XCTAssertTrue(libraries["libpng"]!.hasPrefix("1.6"))
        let blas = try XCTUnwrap(json["blas"] as? [String: Any])
        XCTAssertGreaterThan(try XCTUnwrap(blas["threads"] as? Int), 0)
        let cpu = try XCTUnwrap(json["cpu"] as? [String: Any])
        for key in ["avx2", "avx512", "amx"] { XCTAssertNotNil(cpu[key] as? Bool, "cpu.\(key)") }
        let locale = try XCTUnwrap(json["locale"] as? [String: Any])
        XCTAssertNotNil(locale["utf8"] as? Bool)
        let terminal = try XCTUnwrap(json["terminal"] as? [String: Any])
        XCTAssertEqual(terminal["probed"] as? Bool, false)
        XCTAssertTrue((terminal["note"] as? String ?? "").contains("not a terminal"))
    }

    /// Runs doctor inside tmux with the given TERM and returns its JSON report.
    private func doctorInTmux(term: String) throws -> [String: Any] {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("doctor-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: out) }
        let command = "env TERM=\(term) LANG=C.UTF-8 LC_ALL= COLORTERM= '\(CLI.executable.path)' doctor --json --output '\(out.path)'; sleep 60"
        let session = try TmuxSession(command: command, columns: 120, rows: 40)
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: out.path) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        _ = session
        return try decode(try String(contentsOf: out, encoding: .utf8))
    }

    func testInTmuxReports256ColoursAndUTF8() throws {
        try XCTSkipUnless(TmuxSession.isAvailable, "tmux is not installed (scripts/install-deps.sh installs it)")
        let json = try doctorInTmux(term: "xterm-256color")
        let terminal = try XCTUnwrap(json["terminal"] as? [String: Any])
        XCTAssertEqual(terminal["probed"] as? Bool, true)
        XCTAssertEqual(terminal["colors"] as? Int, 256)
        XCTAssertEqual(terminal["directColor"] as? Bool, false)
        XCTAssertEqual(terminal["columns"] as? Int, 120)
        XCTAssertEqual(terminal["rows"] as? Int, 40)
        let locale = try XCTUnwrap(json["locale"] as? [String: Any])
        XCTAssertEqual(locale["utf8"] as? Bool, true)
    }

    func testInTmuxReportsDirectColour() throws {
        try XCTSkipUnless(TmuxSession.isAvailable, "tmux is not installed (scripts/install-deps.sh installs it)")
        let json = try doctorInTmux(term: "xterm-direct")
        let terminal = try XCTUnwrap(json["terminal"] as? [String: Any])
        XCTAssertEqual(terminal["directColor"] as? Bool, true)
        XCTAssertEqual(terminal["colors"] as? Int, 1 << 24)
    }

    /// segscope re-executes itself once so that libgomp starts with a short spin
    /// (`OpenMPSpin`); a value the user set is left alone.
    func testOpenMPSpinIsSetAtStartUnlessTheUserSetOne() throws {
        var env = ProcessInfo.processInfo.environment
        for key in ["GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "SEGSCOPE_GOMP_SPINCOUNT"] { env[key] = nil }
        let own = try CLI.run(["doctor", "--json"], environment: env)
        XCTAssertEqual(own.status, 0, own.stderr)
        let blas = try XCTUnwrap(try decode(own.stdout)["blas"] as? [String: Any])
        XCTAssertEqual(blas["openmpWait"] as? String, "GOMP_SPINCOUNT=3000 (set by segscope)")
        env["OMP_WAIT_POLICY"] = "passive"
        let user = try CLI.run(["doctor", "--json"], environment: env)
        XCTAssertEqual(user.status, 0, user.stderr)
        let userBlas = try XCTUnwrap(try decode(user.stdout)["blas"] as? [String: Any])
        XCTAssertEqual(userBlas["openmpWait"] as? String, "OMP_WAIT_POLICY=passive (from the environment)")
    }
}
