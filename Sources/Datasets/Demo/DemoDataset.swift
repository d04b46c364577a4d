import Dispatch
import Foundation

/// The built-in demo dataset: a generator writing a real VOC layout (JPEG images, paletted PNG
/// masks with the VOC palette and 255 void bands, split lists, `classes.txt`), and the default
/// copy in the user's cache directory.
public enum DemoDataset {
    /// Bump when the renderer changes so cached copies are regenerated.
    public static let version = 3

    public struct Options: Sendable, Equatable, Codable {
        public var seed: UInt64
        public var train: Int
        public var val: Int
        public var minSide: Int
        public var maxSide: Int
        public var jpegQuality: Int

        public init(seed: UInt64 = 1, train: Int = 300, val: Int = 100, minSide: Int = 96, maxSide: Int = 200,
                    jpegQuality: Int = 92) {
            self.seed = seed
            self.train = train
            self.val = val
            self.minSide = minSide
            self.maxSide = maxSide
            self.jpegQuality = jpegQuality
        }
    }

    /// What `segscope-demo.json` records.
    public struct Manifest: Codable, Sendable, Equatable {
        public var generator: String
        public var version: Int
        public var options: Options
        public var classes: [String]
    }

    public struct Report: Sendable {
        public var root: URL
        public var images: Int
        public var seconds: Double
    }

    public static var classNames: [String] { DemoRenderer.classNames }

    /// Renders sample `index` of `split` ("train" or "val") — a pure function of the seed.
    public static func render(split: String, index: Int, options: Options = Options()) -> (RGBImage, LabelMap) {
        var rng = SeededRandom(seed: options.seed, split == "train" ? 1 : 2, UInt64(index))
        return DemoRenderer.render(rng: &rng, minSide: options.minSide, maxSide: options.maxSide)
    }

    public static func id(split: String, index: Int) -> String { String(format: "%@_%04d", split, index) }

    /// Writes the demo set to `root`. The files are written into a temporary sibling directory
    /// that is renamed into place at the end. `root` must not exist, be empty, or hold an
    /// earlier demo set (which is replaced).
    @discardableResult
    public static func generate(to root: URL, options: Options = Options()) throws -> Report {
        let start = Date()
        let fm = FileManager.default
        guard options.train >= 0, options.val >= 0, options.train + options.val > 0 else {
            throw DatasetError("the demo set needs at least one image (--train \(options.train) --val \(options.val))")
        }
        guard options.minSide >= 16, options.maxSide >= options.minSide else {
            throw DatasetError("demo image sides must satisfy 16 ≤ min (\(options.minSide)) ≤ max (\(options.maxSide))")
        }
        if DatasetFiles.isDirectory(root) {
            let contents = DatasetFiles.files(in: root)
            if !contents.isEmpty && !contents.contains(DatasetLoader.demoMarker) {
                throw DatasetError("\(root.path) exists and is not a Segscope demo set; choose an empty or new directory")
            }
        } else if fm.fileExists(atPath: root.path) {
            throw DatasetError("\(root.path) exists and is not a directory")
        }
        let parent = root.deletingLastPathComponent()
        do {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw DatasetError("\(parent.path): cannot create the directory (\(error.localizedDescription))")
        }
        let temp = parent.appendingPathComponent(".\(root.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? fm.removeItem(at: temp) }
        for dir in ["JPEGImages", "SegmentationClass", "ImageSets/Segmentation"] {
            try fm.createDirectory(at: temp.appendingPathComponent(dir), withIntermediateDirectories: true)
        }
        let jobs = (0..<options.train).map { ("train", $0) } + (0..<options.val).map { ("val", $0) }
        let failures = FailureBox()
        DispatchQueue.concurrentPerform(iterations: jobs.count) { i in
            let (split, index) = jobs[i]
            let (image, label) = render(split: split, index: index, options: options)
            let id = id(split: split, index: index)
            do {
                let jpeg = try ImageCodec.encodeJPEG(image, quality: options.jpegQuality)
                try jpeg.write(to: temp.appendingPathComponent("JPEGImages/\(id).jpg"))
                let png = try ImageCodec.encodePalettedPNG(label, palette: Palette.voc)
                try png.write(to: temp.appendingPathComponent("SegmentationClass/\(id).png"))
            } catch {
                failures.add("\(id): \(error)")
            }
        }
        if let first = failures.first { throw DatasetError("cannot write the demo set: \(first)") }
        let lists = temp.appendingPathComponent("ImageSets/Segmentation")
        let train = (0..<options.train).map { id(split: "train", index: $0) }
        let val = (0..<options.val).map { id(split: "val", index: $0) }
        for (name, ids) in [("train", train), ("val", val), ("trainval", train + val)] {
            try (ids.map { $0 + "\n" }.joined()).write(to: lists.appendingPathComponent("\(name).txt"), atomically: false, encoding: .utf8)
        }
        try ClassList(names: classNames, colors: Array(Palette.voc.prefix(classNames.count))).fileText
            .write(to: temp.appendingPathComponent("classes.txt"), atomically: false, encoding: .utf8)
        let manifest = Manifest(generator: "segscope data demo", version: version, options: options, classes: classNames)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(manifest).write(to: temp.appendingPathComponent(DatasetLoader.demoMarker))
        // Swap into place.
        if fm.fileExists(atPath: root.path) { try fm.removeItem(at: root) }
        do {
            try fm.moveItem(at: temp, to: root)
        } catch {
            throw DatasetError("\(root.path): cannot move the generated set into place (\(error.localizedDescription))")
        }
        return Report(root: root, images: jobs.count, seconds: Date().timeIntervalSince(start))
    }

    /// Reads a demo set's manifest (nil when `root` holds none or it does not parse).
    public static func manifest(at root: URL) -> Manifest? {
        guard let data = try? Data(contentsOf: root.appendingPathComponent(DatasetLoader.demoMarker)) else { return nil }
        return try? JSONDecoder().decode(Manifest.self, from: data)
    }

    /// `$XDG_CACHE_HOME/segscope/demo`, else `~/.cache/segscope/demo`.
    public static var defaultURL: URL {
        let env = ProcessInfo.processInfo.environment
        let cache: URL
        if let xdg = env["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            cache = URL(fileURLWithPath: xdg)
        } else {
            cache = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        }
        return cache.appendingPathComponent("segscope/demo")
    }

    /// The default demo set, generated on first use (or when an older generator version made it).
    public static func ensureDefault(at root: URL = defaultURL, options: Options = Options()) throws -> URL {
        if let manifest = manifest(at: root), manifest.version == version, manifest.options == options { return root }
        do {
            try generate(to: root, options: options)
        } catch {
            // Another process may have generated it at the same moment.
            if let manifest = manifest(at: root), manifest.version == version, manifest.options == options { return root }
            throw error
        }
        return root
    }
}

/// Collects errors from concurrent workers.
private final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var messages: [String] = []
    func add(_ message: String) { lock.withLock { messages.append(message) } }
    var first: String? { lock.withLock { messages.first } }
}
