import Foundation
import TestSupport
import XCTest

/// Sixel previews in a real sixel terminal: `segscope tui` in `xterm -ti vt340` on a virtual X
/// server (Xvfb), a screenshot of the screen (`xwd -root`), and the colours in it. The text is
/// drawn in mono (`--color mono`), so class colours on the screen can only come from the sixel
/// images. Skips only when Xvfb, xterm or xwd is missing or no X server can be started
/// (scripts/install-deps.sh installs xvfb, xterm and x11-apps).
final class SixelXtermTests: XCTestCase {
    /// An Xvfb on a display number it picks itself (`-displayfd`), stopped at deinit.
    private final class VirtualDisplay {
        let process = Process()
        let display: String

        init(directory: URL) throws {
            let fdFile = directory.appendingPathComponent("display")
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "exec Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp 3>'\(fdFile.path)' 2>'\(directory.path)/xvfb.log'"]
            try process.run()
            let deadline = Date().addingTimeInterval(15)
            var number: String?
            while number == nil && Date() < deadline && process.isRunning {
                let text = (try? String(contentsOf: fdFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                if !text.isEmpty && FileManager.default.fileExists(atPath: "/tmp/.X11-unix/X\(text)") { number = text }
                else { Thread.sleep(forTimeInterval: 0.1) }
            }
            guard let number else {
                if process.isRunning { process.terminate() }
                let log = (try? String(contentsOf: directory.appendingPathComponent("xvfb.log"), encoding: .utf8)) ?? ""
                throw XCTSkip("no X server could be started (Xvfb: \(log.split(separator: "\n").last ?? "no output"))")
            }
            display = ":\(number)"
        }

        deinit {
            if process.isRunning { process.terminate(); process.waitUntilExit() }
        }
    }

    /// `segscope tui` on the VOC fixtures in a 100×30 VT340 xterm at the top left of the screen.
    private func startXterm(on display: VirtualDisplay, tuiArguments: String, directory: URL) throws -> Process {
        let xterm = Process()
        xterm.executableURL = URL(fileURLWithPath: "/usr/bin/xterm")
        let command = "env -u COLORTERM -u NO_COLOR TERM=xterm LANG=C.UTF-8 LC_ALL= '\(CLI.executable.path)' tui --data '\(Fixtures.voc.path)' --split trainval --color mono \(tuiArguments) 2>'\(directory.path)/tui.err'; sleep 120"
        xterm.arguments = ["-display", display.display, "-ti", "vt340", "-geometry", "100x30+0+0", "-e", "/bin/sh", "-c", command]
        xterm.standardError = FileHandle.nullDevice
        try xterm.run()
        return xterm
    }

    /// The whole screen as RGB pixels (`xwd -root`, ZPixmap at 24 / 32 bits per pixel).
    private func screenshot(_ display: VirtualDisplay, into directory: URL) throws -> Screenshot {
        let file = directory.appendingPathComponent("screen.xwd")
        FileManager.default.createFile(atPath: file.path, contents: nil)
        let out = try FileHandle(forWritingTo: file)
        let xwd = Process()
        xwd.executableURL = URL(fileURLWithPath: "/usr/bin/xwd")
        xwd.arguments = ["-root", "-silent", "-display", display.display]
        xwd.standardOutput = out
        try xwd.run()
        xwd.waitUntilExit()
        try out.close()
        guard xwd.terminationStatus == 0 else { throw XCTSkip("xwd failed on \(display.display)") }
        return try Screenshot(xwd: Data(contentsOf: file))
    }

    /// Pixels of an XWD file as (r, g, b), row-major.
    struct Screenshot {
        var width = 0, height = 0
        var pixels: [(UInt8, UInt8, UInt8)] = []

        init(xwd data: Data) throws {
            let bytes = [UInt8](data)
            func card32(_ i: Int) -> Int {
                Int(bytes[4 * i]) << 24 | Int(bytes[4 * i + 1]) << 16 | Int(bytes[4 * i + 2]) << 8 | Int(bytes[4 * i + 3])
            }
            guard bytes.count >= 100 else { throw XCTSkip("xwd wrote \(bytes.count) bytes") }
            let headerSize = card32(0), format = card32(2), byteOrder = card32(7), bitsPerPixel = card32(11)
            let bytesPerLine = card32(12), redMask = card32(14), greenMask = card32(15), blueMask = card32(16)
            let colours = card32(19)
            width = card32(4)
            height = card32(5)
            guard format == 2, bitsPerPixel == 32 else {
                throw XCTSkip("xwd format \(format) at \(bitsPerPixel) bits per pixel (expected ZPixmap, 32)")
            }
            let start = headerSize + colours * 12
            guard bytes.count >= start + bytesPerLine * height else { throw XCTSkip("xwd file is short") }
            func channel(_ value: Int, _ mask: Int) -> UInt8 {
                UInt8(truncatingIfNeeded: (value & mask) >> mask.trailingZeroBitCount)
            }
            pixels.reserveCapacity(width * height)
            for y in 0..<height {
                for x in 0..<width {
                    let o = start + y * bytesPerLine + 4 * x
                    let v = byteOrder == 0
                        ? Int(bytes[o]) | Int(bytes[o + 1]) << 8 | Int(bytes[o + 2]) << 16 | Int(bytes[o + 3]) << 24
                        : Int(bytes[o]) << 24 | Int(bytes[o + 1]) << 16 | Int(bytes[o + 2]) << 8 | Int(bytes[o + 3])
                    pixels.append((channel(v, redMask), channel(v, greenMask), channel(v, blueMask)))
                }
            }
        }

        /// Pixels within `tolerance` of `colour` in every channel (sixel colours are given in
        /// percent, so 128 comes back as 127).
        func count(near colour: (Int, Int, Int), tolerance: Int = 4) -> Int {
            pixels.reduce(0) { n, p in
                abs(Int(p.0) - colour.0) <= tolerance && abs(Int(p.1) - colour.1) <= tolerance
                    && abs(Int(p.2) - colour.2) <= tolerance ? n + 1 : n
            }
        }

        /// Pixels of exactly `colour` in the top-left `width` × `height` pixels.
        func count(exactly colour: (UInt8, UInt8, UInt8), width w: Int, height h: Int) -> Int {
            var n = 0
            for y in 0..<min(h, height) {
                for x in 0..<min(w, width) where pixels[y * width + x] == colour { n += 1 }
            }
            return n
        }

        var distinctColours: Int { Set(pixels.map { Int($0.0) << 16 | Int($0.1) << 8 | Int($0.2) }).count }

        /// A binary PPM, for looking at a failing screen.
        func writePPM(to url: URL) {
            var data = Data("P6\n\(width) \(height)\n255\n".utf8)
            data.reserveCapacity(data.count + 3 * pixels.count)
            for p in pixels { data.append(contentsOf: [p.0, p.1, p.2]) }
            try? data.write(to: url)
        }
    }

    // VOC colours of the classes in 2007_000032's mask.
    private let aeroplane = (128, 0, 0), person = (192, 128, 128)

    private func requirements() throws -> URL {
        for tool in ["/usr/bin/Xvfb", "/usr/bin/xterm", "/usr/bin/xwd"] {
            try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is not installed (scripts/install-deps.sh installs xvfb, xterm and x11-apps)")
        }
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Fixtures.voc.path), "fixtures not found at \(Fixtures.voc.path)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-sixel-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Takes screenshots until `done` holds or 40 s pass; returns the last one.
    private func waitForScreen(_ display: VirtualDisplay, _ directory: URL, _ done: (Screenshot) -> Bool) throws -> Screenshot {
        let deadline = Date().addingTimeInterval(40)
        var shot = try screenshot(display, into: directory)
        while !done(shot) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.5)
            shot = try screenshot(display, into: directory)
        }
        return shot
    }

    /// The photo and the mask of the first sample arrive as sixel images: the mask's class
    /// colours are on the screen in the mask's proportions, and the photo brings hundreds of
    /// colours to a screen whose text has two. With --no-sixel the same screen has neither.
    func testSixelPreviewsInAVT340Xterm() throws {
        let directory = try requirements()
        defer { try? FileManager.default.removeItem(at: directory) }
        let display = try VirtualDisplay(directory: directory)

        let xterm = try startXterm(on: display, tuiArguments: "", directory: directory)
        let shot = try waitForScreen(display, directory) { $0.count(near: self.aeroplane) > 100 && $0.count(near: self.person) > 20 }
        xterm.terminate()
        xterm.waitUntilExit()
        let failed = directory.deletingLastPathComponent().appendingPathComponent("segscope-sixel-failed.ppm")
        let planes = shot.count(near: aeroplane), people = shot.count(near: person)
        if planes <= 100 || people <= 20 { shot.writePPM(to: failed) }
        XCTAssertGreaterThan(planes, 100, "no aeroplane-red sixel pixels; screen in \(failed.path)")
        XCTAssertGreaterThan(people, 20, "no person-pink sixel pixels; screen in \(failed.path)")
        // The mask has 3.4 % aeroplane and 0.6 % person pixels (the browser legend): 5.7 : 1.
        // Nearest scaling keeps that ratio up to the edges of thin parts.
        let ratio = Double(planes) / Double(max(people, 1))
        XCTAssertTrue((4.0...8.0).contains(ratio), "aeroplane : person pixels \(planes) : \(people), expected about 5.7 : 1")
        XCTAssertGreaterThan(shot.distinctColours, 100, "the photo's sixel image is missing (only \(shot.distinctColours) colours)")

        let plain = try startXterm(on: display, tuiArguments: "--no-sixel", directory: directory)
        // Without sixel the screen is black and white text only. xterm's window (100×30 cells of
        // 6×13 pixels) starts white; wait until the reverse-video bars and the text are drawn.
        let text = try waitForScreen(display, directory) { $0.count(exactly: (0, 0, 0), width: 600, height: 390) > 10_000 }
        plain.terminate()
        plain.waitUntilExit()
        XCTAssertEqual(text.count(near: aeroplane), 0, "class colours without sixel: the check above could not fail")
        XCTAssertLessThan(text.distinctColours, 8)
    }
}
