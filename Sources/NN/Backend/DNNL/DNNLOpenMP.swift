import Foundation

/// How long oneDNN's OpenMP threads (libgomp, loaded with libdnnl) spin before they sleep.
///
/// Between two parallel regions a libgomp worker busy-waits `GOMP_SPINCOUNT` iterations (300 000
/// by default, several ms here) and the calling thread does the same at every barrier. On a
/// quiet machine that saves a futex wake per region; on these shared 2-core machines, while other
/// processes compile, a spinning thread uses up its time slice and is then descheduled, and the
/// next region waits for it a whole slice (up to ≈ 25 ms per oneDNN call). Whole-image evaluation
/// of the demo val split took 25–50 s on dnnl against 5 s on the reference backend that way;
/// with a short spin it takes 3–6 s, and on a quiet machine the short spin costs nothing
/// measurable (DECISIONS.md, "libgomp spins briefly").
///
/// libgomp reads the setting once, in its constructor, before any Swift code runs; so the
/// command line re-executes itself once with the variable set (`prepareProcess`). A value the
/// user set (`GOMP_SPINCOUNT` or `OMP_WAIT_POLICY`) is left alone.
public enum OpenMPSpin {
    /// The spin count segscope runs with when the user set none.
    public static let spinCount = 3000
    /// The variables that decide libgomp's waiting; when one is set, segscope changes nothing.
    public static let userVariables = ["GOMP_SPINCOUNT", "OMP_WAIT_POLICY"]
    /// Set beside `GOMP_SPINCOUNT` when segscope chose the value (for `doctor`).
    public static let markerVariable = "SEGSCOPE_GOMP_SPINCOUNT"

    /// Call first in `main`: when neither `GOMP_SPINCOUNT` nor `OMP_WAIT_POLICY` is set, sets
    /// `GOMP_SPINCOUNT` and re-executes this program (same pid, arguments and descriptors) so
    /// that libgomp starts with it. Returns (and changes nothing) when a variable is already set,
    /// or when the re-execution fails.
    public static func prepareProcess() {
        guard userVariables.allSatisfy({ getenv($0) == nil }) else { return }
        setenv("GOMP_SPINCOUNT", "\(spinCount)", 1)
        setenv(markerVariable, "\(spinCount)", 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached when exec failed: run with libgomp's default and say nothing is set.
        unsetenv("GOMP_SPINCOUNT")
        unsetenv(markerVariable)
    }

    /// The setting this process runs with, for `doctor`: e.g. "GOMP_SPINCOUNT=3000 (set by segscope)".
    public static var effectiveSetting: String {
        let env = ProcessInfo.processInfo.environment
        if let policy = env["OMP_WAIT_POLICY"] {
            return "OMP_WAIT_POLICY=\(policy)" + (env["GOMP_SPINCOUNT"].map { ", GOMP_SPINCOUNT=\($0)" } ?? "") + " (from the environment)"
        }
        if let count = env["GOMP_SPINCOUNT"] {
            return "GOMP_SPINCOUNT=\(count)" + (env[markerVariable] == count ? " (set by segscope)" : " (from the environment)")
        }
        return "libgomp default (GOMP_SPINCOUNT 300000)"
    }
}
