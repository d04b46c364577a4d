import Foundation

/// A plain folder of pairs matched by file stem:
///
///     images/<name>.{jpg,jpeg,png}
///     masks/<name>.png        paletted / gray indices, or RGB colours mapped through the palette
///     classes.txt             optional (else the 21 VOC classes)
///     {train,val,test}.txt    optional split lists; else a deterministic ~80/20 train/val split
public struct FolderDataset: SegmentationDataset {
    public let root: URL
    public let splits: [Split]
    public let classNames: [String]
    public let palette: [RGB]
    public let options: DatasetOptions
    private let lists: [Split: [String]]
    private let imageNames: [String: String]
    private let maskNames: [String: String]
    private let colorMap: ColorToLabel

    public var format: DatasetFormat { .folder }
    public var name: String { "image folder at \(root.path)" }
    public var imagesDirectory: URL { root.appendingPathComponent("images") }
    public var masksDirectory: URL { root.appendingPathComponent("masks") }

    public init(root: URL, options: DatasetOptions = DatasetOptions()) throws {
        self.root = root
        self.options = options
        let images = root.appendingPathComponent("images"), masks = root.appendingPathComponent("masks")
        guard DatasetFiles.isDirectory(images), DatasetFiles.isDirectory(masks) else {
            throw DatasetError("\(root.path): not a folder layout (expected images/ and masks/)")
        }
        let imageNames = DatasetFiles.stems(in: images, extensions: ["jpg", "jpeg", "png"])
        let maskNames = DatasetFiles.stems(in: masks, extensions: ["png"])
        self.imageNames = imageNames
        self.maskNames = maskNames
        var lists = try DatasetFiles.splitLists(["train", "val", "test"], in: root)
        if lists.isEmpty {
            lists = DatasetFiles.hashSplit(imageNames.keys.filter { maskNames[$0] != nil }.sorted(), "train", "val")
        }
        self.lists = lists
        splits = ["train", "val", "test"].filter { lists[$0] != nil }
        let classes = try ClassList.find(in: [root]) ?? .voc
        classNames = classes.names
        palette = classes.palette
        colorMap = ColorToLabel(colors: Array(classes.palette.prefix(classes.names.count)))
    }

    public func ids(split: Split) throws -> [String] {
        try DatasetFiles.ids(of: split, in: lists, order: splits, root: root, limit: options.limit)
    }

    public func imageURL(id: String) -> URL { imagesDirectory.appendingPathComponent(imageNames[id] ?? "\(id).jpg") }
    public func maskURL(id: String) -> URL { masksDirectory.appendingPathComponent(maskNames[id] ?? "\(id).png") }

    public func sample(id: String) throws -> Sample {
        try MaskDecoding.sample(id: id, imageURL: imageURL(id: id), maskURL: maskURL(id: id)) { png, url in
            MaskDecoding.labels(png, url: url, classCount: classNames.count, colors: colorMap)
        }
    }
}
