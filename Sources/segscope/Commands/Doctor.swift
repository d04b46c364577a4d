import ArgumentParser
import Datasets
import Foundation
import NN
import TUI
import Training

/// `segscope doctor`: what a user needs to know when something looks wrong.
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report libraries, CPU features, locale and terminal capabilities.")

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "Seconds to wait for the terminal's answers to its queries.")
    var probeTimeout: Double = 0.5

    @Option(help: "Write the report to this file instead of stdout (the terminal is still probed when stdout is one).")
    var output: String?

    func run() throws {
        let report = DoctorReport.collect(probeTimeout: probeTimeout)
        let text: String
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            text = String(decoding: try encoder.encode(report), as: UTF8.self)
        } else {
            text = report.text
        }
        if let output {
            do {
                try (text + "\n").write(toFile: output, atomically: true, encoding: .utf8)
            } catch {
                throw ValidationError("cannot write the report to \(output): \(error.localizedDescription)")
            }
        } else {
            print(text)
        }
    }
}

struct DoctorReport: Codable {
    struct Libraries: Codable {
        var ncurses, libpng, libjpeg, openblas, onednn, libsixel: String
    }
    struct BLAS: Codable {
        var threads: Int
        var config: String
        var onednnRuntime: String
        /// How oneDNN's OpenMP threads wait between parallel regions (`OpenMPSpin`).
        var openmpWait: String
    }
    struct Locale: Codable {
        var lcAll: String?, lcCtype: String?, lang: String?
        var codeset: String
        var utf8: Bool
    }
    struct Terminal: Codable {
        /// false when stdout (or stdin) is not a terminal: nothing was probed.
        var probed: Bool
        var note: String?
        var term: String?
        var colorterm: String?
        var colors: Int?
        var directColor: Bool?
        var sixel: Bool?
        var deviceAttributes: String?
        var rows: Int?
        var columns: Int?
        var pixelWidth: Int?
        var pixelHeight: Int?
    }

    /// Open MPI (opened at run time) and, under a launcher, this rank and an all-reduce check.
    struct MPI: Codable {
        var available: Bool
        /// The library version, or why it could not be opened.
        var library: String
        var launched: Bool
        var rank: Int?
        var size: Int?
        /// "ok" when the all-reduce of (rank + 1) over the job gave size·(size+1)/2, else the error.
        var allReduce: String?

        static func collect(_ env: [String: String]) -> MPI {
            let (available, detail) = MPICommunicator.probe()
            var mpi = MPI(available: available, library: detail, launched: false)
            do {
                guard let launch = try LaunchEnvironment.detect(env) else { return mpi }
                mpi.launched = true
                mpi.rank = launch.rank
                mpi.size = launch.size
                guard available else { mpi.allReduce = "not run: MPI is not available"; return mpi }
                let world = try MPICommunicator.world()
                mpi.rank = world.rank
                mpi.size = world.size
                var value = [Double(world.rank + 1)]
                try world.allReduceSum(&value)
                let expected = Double(world.size * (world.size + 1) / 2)
                mpi.allReduce = value[0] == expected ? "ok" : "wrong sum \(value[0]), expected \(expected)"
            } catch {
                mpi.allReduce = "\(error)"
            }
            return mpi
        }

        var line: String {
            guard available else { return "  MPI        not available (\(library)): training runs single-process" }
            guard launched else { return "  MPI        \(library); not launched by mpirun/srun: single process" }
            return "  MPI        \(library); rank \(rank ?? -1) of \(size ?? 0), all-reduce \(allReduce ?? "not run")"
        }
    }

    var segscope: String
    var libraries: Libraries
    var blas: BLAS
    var cpu: CPUFeatures
    /// Whether `precision = bf16` runs oneDNN's bf16 kernels here (`BF16Support`).
    var bf16: BF16Support
    var locale: Locale
    var terminal: Terminal
    var mpi: MPI

    static func collect(probeTimeout: Double) -> DoctorReport {
        let env = ProcessInfo.processInfo.environment
        setlocale(LC_ALL, "")
        let codeset = String(cString: nl_langinfo(nl_item(CODESET)))
        let dnnl = NativeLibraries.dnnlVersion
        let terminal: Terminal
        if TerminalProbe.isInteractive {
            let caps = TerminalProbe.probe(timeout: probeTimeout)
            terminal = Terminal(
                probed: true,
                note: caps.deviceAttributes == nil ? "the terminal did not answer DA1 within \(probeTimeout) s" : nil,
                term: caps.term, colorterm: caps.colorterm, colors: caps.effectiveColors,
                directColor: caps.directColor, sixel: caps.sixel, deviceAttributes: caps.deviceAttributes,
                rows: caps.rows, columns: caps.columns, pixelWidth: caps.pixelWidth, pixelHeight: caps.pixelHeight)
        } else {
            terminal = Terminal(
                probed: false, note: "stdout is not a terminal: terminal probes skipped",
                term: env["TERM"], colorterm: env["COLORTERM"])
        }
        return DoctorReport(
            segscope: Segscope.version,
            libraries: Libraries(
                ncurses: TerminalLibraries.ncursesVersion, libpng: ImageLibraries.pngVersion,
                libjpeg: ImageLibraries.jpegVersion, openblas: NativeLibraries.openBLASVersion,
                onednn: dnnl.version, libsixel: TerminalLibraries.sixelVersion),
            blas: BLAS(threads: NativeLibraries.blasThreads, config: NativeLibraries.openBLASConfig,
                       onednnRuntime: dnnl.runtime, openmpWait: OpenMPSpin.effectiveSetting),
            cpu: CPUFeatures.current,
            bf16: BF16Support.current,
            locale: Locale(lcAll: env["LC_ALL"], lcCtype: env["LC_CTYPE"], lang: env["LANG"],
                           codeset: codeset, utf8: codeset.uppercased().replacingOccurrences(of: "-", with: "") == "UTF8"),
            terminal: terminal,
            mpi: MPI.collect(env))
    }

    var text: String {
        func yesNo(_ b: Bool?) -> String { b.map { $0 ? "yes" : "no" } ?? "—" }
        var lines = ["segscope \(segscope)", "", "Libraries (loaded at run time)"]
        lines += [
            "  ncurses    \(libraries.ncurses)", "  libpng     \(libraries.libpng)",
            "  libjpeg    \(libraries.libjpeg)", "  OpenBLAS   \(libraries.openblas)",
            "  oneDNN     \(libraries.onednn) (\(blas.onednnRuntime) runtime)", "  libsixel   \(libraries.libsixel)",
            "", "Compute",
            "  CPU        \(cpu.model), \(cpu.logicalCores) logical cores",
            "  features   AVX2 \(yesNo(cpu.avx2))  FMA \(yesNo(cpu.fma))  AVX-512 \(yesNo(cpu.avx512))  VNNI \(yesNo(cpu.avx512vnni))  AMX \(yesNo(cpu.amx))",
            "  bf16       \(bf16.summary)",
            "  BLAS       \(blas.threads) threads (\(blas.config))",
            "  OpenMP     \(blas.openmpWait)",
            mpi.line,
            "", "Locale",
            "  codeset    \(locale.codeset) — \(locale.utf8 ? "UTF-8, good" : "not UTF-8: set LANG=C.UTF-8 for block and braille glyphs")",
            "", "Terminal",
        ]
        if terminal.probed {
            let colours = terminal.directColor == true ? "direct colour (24-bit)" : "\(terminal.colors ?? 0) colours"
            lines += [
                "  TERM       \(terminal.term ?? "(unset)")\(terminal.colorterm.map { ", COLORTERM=\($0)" } ?? "")",
                "  colours    \(colours)",
                "  sixel      \(yesNo(terminal.sixel))\(terminal.deviceAttributes.map { " (DA1 \($0))" } ?? "")",
                "  size       \(terminal.columns ?? 0)×\(terminal.rows ?? 0) cells"
                    + (terminal.pixelWidth.map { ", \($0)×\(terminal.pixelHeight ?? 0) px" } ?? ", pixel size not reported"),
            ]
            if let note = terminal.note { lines.append("  note       \(note)") }
        } else {
            lines.append("  \(terminal.note ?? "not probed") (TERM=\(terminal.term ?? "unset"))")
        }
        return lines.joined(separator: "\n")
    }
}
