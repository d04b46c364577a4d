import EngineProtocol
import Foundation

/// Two runs side by side: where their configurations differ, and why overlaying their curves
/// may mislead (another dataset, another length).
public enum RunComparison {
    /// The configuration keys whose values differ, in the order of `TrainingConfig.keys`.
    public static func differences(_ a: TrainingConfig, _ b: TrainingConfig) -> [(key: String, a: String, b: String)] {
        TrainingConfig.keys.compactMap { key in
            let x = key.value(in: a), y = key.value(in: b)
            return x == y ? nil : (key.name, x.description, y.description)
        }
    }

    /// Warnings for drawing run `b`'s curves under run `a`'s: different datasets (the losses and
    /// scores are not comparable) or lengths (the x axes cover different spans).
    public static func overlayWarnings(dataA: String?, totalA: Int, dataB: String?, totalB: Int) -> [String] {
        var out: [String] = []
        func name(_ d: String?) -> String {
            guard let d, !d.isEmpty else { return "?" }
            return (d as NSString).standardizingPath.split(separator: "/").last.map(String.init) ?? d
        }
        if let dataA, let dataB, !dataA.isEmpty, !dataB.isEmpty,
           (dataA as NSString).standardizingPath != (dataB as NSString).standardizingPath
        {
            out.append("other dataset (\(name(dataA)) vs \(name(dataB)))")
        }
        if totalA > 0, totalB > 0, totalA != totalB {
            out.append("other length (\(totalA) vs \(totalB) iterations)")
        }
        return out
    }

    /// The warnings for the dashboard's run and its overlay.
    public static func overlayWarnings(_ run: RunHistory, _ overlay: RunHistory) -> [String] {
        overlayWarnings(dataA: run.started?.config.data, totalA: run.started?.totalIterations ?? 0,
                        dataB: overlay.started?.config.data, totalB: overlay.started?.totalIterations ?? 0)
    }
}
