import ArgumentParser
import Datasets
import Foundation

/// `segscope data demo`: write the procedurally drawn demo dataset.
struct DataDemo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Write the demo dataset (VOC layout: JPEG images, paletted PNG masks, split lists, classes.txt).",
        discussion: """
            Five classes of textured shapes (disc, box, triangle, star, ring) on textured \
            backgrounds, with occlusion, a 3 px void band along borders, and image sides from 96 to \
            200 px. The same seed always gives the same files. Without --out the set goes to the \
            user cache (\(DemoDataset.defaultURL.path)), where the TUI finds it.
            """)

    @Option(help: "Output directory (must be new, empty, or an earlier demo set, which is replaced).")
    var out: String?

    @Option(help: "Random seed.")
    var seed: UInt64 = 1

    @Option(help: "Number of training images.")
    var train: Int = 300

    @Option(help: "Number of validation images.")
    var val: Int = 100

    func validate() throws {
        guard train >= 0, val >= 0, train + val > 0 else {
            throw ValidationError("--train and --val must be ≥ 0 and not both 0 (got \(train), \(val))")
        }
    }

    func run() throws {
        let root = out.map { URL(fileURLWithPath: ($0 as NSString).expandingTildeInPath) } ?? DemoDataset.defaultURL
        let options = DemoDataset.Options(seed: seed, train: train, val: val)
        let report: DemoDataset.Report
        do {
            report = try DemoDataset.generate(to: root, options: options)
        } catch {
            throw ValidationError("\(error)")
        }
        print("wrote \(report.images) images (\(train) train, \(val) val, seed \(seed)) to \(root.path) in "
              + String(format: "%.2f s", report.seconds))
    }
}
