import Datasets
import Foundation
@testable import TUI
import XCTest

/// A dataset held in memory: synthetic pictures with rectangles of known classes.
struct MemoryDataset: SegmentationDataset {
    var name = "memory test set"
    var format = DatasetFormat.folder
    var lists: [Split: [String]]
    var classNames = ["background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
                      "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor"]
    var palette: [RGB] = vocColormap
    /// Ids whose decode fails.
    var broken: Set<String> = []

    var splits: [Split] { ["train", "val"].filter { lists[$0] != nil } }

    func ids(split: Split) throws -> [String] {
        guard let list = lists[split] else { throw MessageError("no split \(split)") }
        return list
    }

    func sample(id: String) throws -> Sample {
        if broken.contains(id) { throw MessageError("\(id).png: PNG decode failed: CRC error (the file is damaged)") }
        let n = Int(id.filter(\.isNumber)) ?? 1
        let w = 120 + 20 * (n % 3), h = 90 + 10 * (n % 2)
        var image = RGBImage(width: w, height: h, fill: (40, 60, 90))
        var label = LabelMap(width: w, height: h, fill: 0)
        let cls = UInt8(1 + n % 20)
        for y in 20..<60 {
            for x in 30..<90 {
                image[x, y] = (200, UInt8(x * 2), UInt8(y * 3))
                label[x, y] = cls
            }
        }
        for x in 30..<90 { label[x, 19] = LabelMap.void }
        for y in 65..<85 {
            for x in 10..<40 {
                label[x, y] = 15
                image[x, y] = (220, 180, 150)
            }
        }
        return Sample(id: id, image: image, label: label)
    }
}

/// A synchronous performer: commands run inline, so a test's `waitUntilIdle` never races.
final class InlinePerformer: CommandPerformer, @unchecked Sendable {
    let inner: DatasetPerformer
    init(_ dataset: any SegmentationDataset) { inner = DatasetPerformer(dataset: dataset) }
    func perform(_ command: Command, post: @escaping @Sendable (Msg) -> Void, done: @escaping @Sendable () -> Void) {
        inner.perform(command, post: post, done: done)
    }
}

enum Harness {
    /// A runtime on a headless driver, started and idle.
    static func make(_ dataset: any SegmentationDataset, columns: Int = 100, rows: Int = 30,
                     depth: ColorDepth = .direct, theme: String? = nil, graphics: Bool = false) throws -> (AppRuntime, HeadlessDriver) {
        let driver = HeadlessDriver(columns: columns, rows: rows, colorDepth: depth, showsGraphics: graphics)
        let state = AppState(columns: columns, rows: rows, depth: depth, theme: try Theme.load(theme, depth: depth),
                             graphics: graphics, browser: BrowserState(dataset: dataset))
        let runtime = AppRuntime(state: state, driver: driver, performer: DatasetPerformer(dataset: dataset))
        runtime.start()
        XCTAssertTrue(runtime.waitUntilIdle(), "the browser did not become idle")
        return (runtime, driver)
    }
}

/// Golden screens: `Golden/<name>.txt` next to this file; `RECORD_SNAPSHOTS=1` rewrites them.
func assertGolden(_ text: String, named name: String, file: StaticString = #filePath, line: UInt = #line) {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Golden").appendingPathComponent("\(name).txt")
    let recording = ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] == "1"
    if recording {
        try? FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        do {
            try (text + "\n").write(to: url, atomically: true, encoding: .utf8)
        } catch {
            XCTFail("cannot record \(url.path): \(error)", file: file, line: line)
        }
        return
    }
    guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
        XCTFail("no golden screen \(url.path): run the test with RECORD_SNAPSHOTS=1 to record it", file: file, line: line)
        return
    }
    let want = expected.hasSuffix("\n") ? String(expected.dropLast()) : expected
    if want != text {
        let a = want.split(separator: "\n", omittingEmptySubsequences: false)
        let b = text.split(separator: "\n", omittingEmptySubsequences: false)
        var diff: [String] = []
        for i in 0..<max(a.count, b.count) {
            let l = i < a.count ? String(a[i]) : "<none>"
            let r = i < b.count ? String(b[i]) : "<none>"
            if l != r { diff.append("row \(i):\n  want |\(l)|\n  got  |\(r)|") }
        }
        XCTFail("screen differs from \(name).txt (RECORD_SNAPSHOTS=1 re-records):\n" + diff.prefix(8).joined(separator: "\n")
                + "\n--- got ---\n" + text, file: file, line: line)
    }
}

/// The VOC colormap (bit-interleaved class index), for tests that need real class colours.
let vocColormap: [RGB] = (0..<256).map { index in
    var r = 0, g = 0, b = 0, c = index
    for j in 0..<8 {
        r |= ((c >> 0) & 1) << (7 - j)
        g |= ((c >> 1) & 1) << (7 - j)
        b |= ((c >> 2) & 1) << (7 - j)
        c >>= 3
    }
    return RGB(UInt8(r), UInt8(g), UInt8(b))
}
