import Foundation
@preconcurrency import CDNNL

/// Whether this machine runs oneDNN's bf16 primitives (`precision = bf16`), and why not.
///
/// The authority is oneDNN itself: `dnnl_get_effective_cpu_isa()` is the instruction set its
/// kernels dispatch to (cpuid, limited by the `DNNL_MAX_CPU_ISA` environment variable), and bf16
/// convolutions need `avx512_core_bf16` (AVX512-BF16) or `avx512_core_amx` (AMX, which includes
/// it). On anything less oneDNN would emulate bf16 on AVX-512 or refuse, which is slower than fp32,
/// so the run stays in fp32 with a notice. `SEGSCOPE_BF16=off` forces the unsupported answer (to
/// see the fallback on a machine that has the instructions).
public struct BF16Support: Sendable, Codable, Equatable {
    /// oneDNN bf16 primitives will be used for `precision = bf16`.
    public var available: Bool
    /// oneDNN's effective ISA, e.g. "avx512_core_bf16".
    public var isa: String
    /// `avx512_bf16` and `amx_tile` in /proc/cpuinfo (what the CPU says, for the report).
    public var cpuAVX512BF16: Bool
    public var cpuAMX: Bool
    /// Why bf16 is not available (nil when it is).
    public var reason: String?

    /// The environment variable that forces "unsupported" (`off`).
    public static let environmentVariable = "SEGSCOPE_BF16"

    /// This process's answer (oneDNN's ISA is fixed once queried).
    public static let current = detect(isa: dnnl_get_effective_cpu_isa(), cpu: .current,
                                       environment: ProcessInfo.processInfo.environment)

    /// The answer for oneDNN ISA `isa`, CPU flags `cpu` and `environment`.
    public static func detect(isa: dnnl_cpu_isa_t = dnnl_get_effective_cpu_isa(), cpu: CPUFeatures = .current,
                              environment: [String: String]) -> BF16Support {
        let name = isaName(isa)
        let bf16Bits = dnnl_cpu_isa_avx512_core_bf16.rawValue
        let hasBF16 = isa.rawValue & bf16Bits == bf16Bits
        var support = BF16Support(available: hasBF16, isa: name, cpuAVX512BF16: cpu.avx512bf16, cpuAMX: cpu.amx,
                                  reason: hasBF16 ? nil : "oneDNN's instruction set here is \(name), without AVX512-BF16 or AMX")
        if let forced = environment[environmentVariable]?.lowercased(), ["off", "0", "no", "unsupported"].contains(forced) {
            support.available = false
            support.reason = "\(environmentVariable)=\(environment[environmentVariable] ?? forced) turns bf16 off"
        }
        return support
    }

    /// oneDNN's name of an ISA value (`dnnl_cpu_isa_t`).
    public static func isaName(_ isa: dnnl_cpu_isa_t) -> String {
        switch isa {
        case dnnl_cpu_isa_all: return "all"
        case dnnl_cpu_isa_sse41: return "sse41"
        case dnnl_cpu_isa_avx: return "avx"
        case dnnl_cpu_isa_avx2: return "avx2"
        case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni"
        case dnnl_cpu_isa_avx512_mic: return "avx512_mic"
        case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops"
        case dnnl_cpu_isa_avx512_core: return "avx512_core"
        case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni"
        case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16"
        case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx"
        default: return "isa 0x\(String(isa.rawValue, radix: 16))"
        }
    }

    /// One line for `doctor` and notices.
    public var summary: String {
        let cpu = "CPU AVX512-BF16 \(cpuAVX512BF16 ? "yes" : "no"), AMX \(cpuAMX ? "yes" : "no"); oneDNN ISA \(isa)"
        if available { return "yes (\(cpu)): precision = bf16 runs oneDNN bf16 convolutions" }
        return "no (\(reason ?? cpu); \(cpu)): precision = bf16 runs in fp32"
    }
}
