import Foundation
import COpenBLAS
import CDNNL

/// What the numeric libraries loaded at run time say about themselves (`segscope doctor`).
public enum NativeLibraries {
    /// OpenBLAS's build configuration string, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64".
    public static var openBLASConfig: String {
        guard let config = openblas_get_config() else { return "unknown" }
        return String(cString: config).trimmingCharacters(in: .whitespaces)
    }

    /// The OpenBLAS version number parsed from its configuration string, e.g. "0.3.21".
    public static var openBLASVersion: String {
        let words = openBLASConfig.split(separator: " ")
        if let i = words.firstIndex(of: "OpenBLAS"), i + 1 < words.count { return String(words[i + 1]) }
        return openBLASConfig
    }

    /// Threads OpenBLAS will use for one GEMM.
    public static var blasThreads: Int { Int(openblas_get_num_threads()) }

    /// Sets the number of threads OpenBLAS uses.
    public static func setBLASThreads(_ n: Int) { openblas_set_num_threads(Int32(max(1, n))) }

    /// oneDNN version and CPU runtime of the loaded library, e.g. ("2.6.3", "OMP").
    public static var dnnlVersion: (version: String, runtime: String) {
        guard let v = dnnl_version() else { return ("unknown", "unknown") }
        let info = v.pointee
        let runtime: String
        switch Int32(bitPattern: info.cpu_runtime) {
        case 1: runtime = "sequential"
        case 2: runtime = "OpenMP"
        case 4: runtime = "TBB"
        case 8: runtime = "threadpool"
        default: runtime = "code \(info.cpu_runtime)"
        }
        return ("\(info.major).\(info.minor).\(info.patch)", runtime)
    }
}
