import Foundation

/// CPU model and SIMD features from /proc/cpuinfo (Linux), for `doctor` and backend choice.
public struct CPUFeatures: Codable, Sendable {
    public var model: String
    public var logicalCores: Int
    public var avx2: Bool
    public var fma: Bool
    public var avx512: Bool
    public var avx512vnni: Bool
    public var avx512bf16: Bool
    public var amx: Bool

    public static let current: CPUFeatures = {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return parse(cpuinfo: text, cores: ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Parses the first processor block of /proc/cpuinfo.
    public static func parse(cpuinfo: String, cores: Int) -> CPUFeatures {
        var model = "unknown"
        var flags = Set<Substring>()
        for line in cpuinfo.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingCharacters(in: .whitespaces)
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            if key == "model name", model == "unknown" { model = value }
            if key == "flags", flags.isEmpty { flags = Set(value.split(separator: " ")) }
        }
        return CPUFeatures(
            model: model, logicalCores: cores, avx2: flags.contains("avx2"), fma: flags.contains("fma"),
            avx512: flags.contains("avx512f"), avx512vnni: flags.contains("avx512_vnni"),
            avx512bf16: flags.contains("avx512_bf16"),
            amx: flags.contains("amx_tile"))
    }
}
