import Foundation

/// Pascal VOC 2007 / 2012 segmentation layout (also the demo set's layout):
///
///     ImageSets/Segmentation/{train,val,trainval,test}.txt   one id per line
///     JPEGImages/<id>.jpg
///     SegmentationClass/<id>.png                             paletted, 255 = void
///
/// A `labelmap.txt` or `classes.txt` in the root (or its parent) replaces the 21 VOC classes.
public struct VOCDataset: SegmentationDataset {
    public let root: URL
    public let format: DatasetFormat
    public let splits: [Split]
    public let classNames: [String]
    public let palette: [RGB]
    public let options: DatasetOptions
    private let lists: [Split: [String]]
    private let colorMap: ColorToLabel

    public var name: String {
        format == .demo ? "Segscope demo at \(root.path)" : "Pascal VOC at \(root.path)"
    }

    public var imagesDirectory: URL { root.appendingPathComponent("JPEGImages") }
    public var masksDirectory: URL { root.appendingPathComponent("SegmentationClass") }
    public var listsDirectory: URL { root.appendingPathComponent("ImageSets/Segmentation") }

    /// The standard order of VOC's split names; other list files follow alphabetically.
    static let splitOrder = ["train", "val", "trainval", "test"]

    public init(root: URL, options: DatasetOptions = DatasetOptions(), format: DatasetFormat = .voc) throws {
        let root = VOCDataset.resolveRoot(root)
        self.root = root
        self.format = format
        self.options = options
        let masks = root.appendingPathComponent("SegmentationClass")
        guard DatasetFiles.isDirectory(root.appendingPathComponent("JPEGImages")), DatasetFiles.isDirectory(masks) else {
            throw DatasetError("\(root.path): not a VOC layout (expected JPEGImages/ and SegmentationClass/)")
        }
        var lists: [Split: [String]] = [:]
        let listDir = root.appendingPathComponent("ImageSets/Segmentation")
        for name in DatasetFiles.files(in: listDir) where name.hasSuffix(".txt") {
            let split = String(name.dropLast(4))
            lists[split] = try DatasetFiles.listedIDs(listDir.appendingPathComponent(name))
        }
        if lists.isEmpty {
            // No list files: every mask is a sample of one split.
            lists["all"] = DatasetFiles.stems(in: masks, extensions: ["png"]).keys.sorted()
        }
        self.lists = lists
        splits = VOCDataset.splitOrder.filter { lists[$0] != nil }
            + lists.keys.filter { !VOCDataset.splitOrder.contains($0) }.sorted()
        let classes = try ClassList.find(in: [root, root.deletingLastPathComponent()]) ?? .voc
        classNames = classes.names
        palette = classes.palette
        colorMap = ColorToLabel(colors: Array(classes.palette.prefix(classes.names.count)))
    }

    /// `VOCdevkit/VOC2012` inside the given directory is used when the directory itself is not the layout.
    static func resolveRoot(_ url: URL) -> URL {
        if DatasetFiles.isDirectory(url.appendingPathComponent("JPEGImages")) { return url }
        for candidate in ["VOC2012", "VOC2007", "VOCdevkit/VOC2012", "VOCdevkit/VOC2007"] {
            let nested = url.appendingPathComponent(candidate)
            if DatasetFiles.isDirectory(nested.appendingPathComponent("JPEGImages")) { return nested }
        }
        return url
    }

    public func ids(split: Split) throws -> [String] {
        try DatasetFiles.ids(of: split, in: lists, order: splits, root: root, limit: options.limit)
    }

    public func imageURL(id: String) -> URL { imagesDirectory.appendingPathComponent("\(id).jpg") }
    public func maskURL(id: String) -> URL { masksDirectory.appendingPathComponent("\(id).png") }

    public func sample(id: String) throws -> Sample {
        try MaskDecoding.sample(id: id, imageURL: imageURL(id: id), maskURL: maskURL(id: id)) { png, url in
            MaskDecoding.labels(png, url: url, classCount: classNames.count, colors: colorMap)
        }
    }
}
