import Foundation

/// Oxford-IIIT Pet layout:
///
///     images/<Breed>_<n>.jpg
///     annotations/trimaps/<Breed>_<n>.png     gray, 1 pet · 2 background · 3 border
///     annotations/{trainval,test}.txt         "<name> <class-id> <species> <breed-id>"
///
/// Trimap values map to 0 pet, 1 background and 2 border (the Keras example's `y - 1`), or with
/// `petsBorder: .void` the border becomes 255. Without list files the images are split
/// deterministically (a hash of the name: ~80 % trainval, ~20 % test).
public struct PetsDataset: SegmentationDataset {
    public let root: URL
    public let splits: [Split]
    public let classNames: [String]
    public let palette: [RGB]
    public let options: DatasetOptions
    private let lists: [Split: [String]]

    public var format: DatasetFormat { .pets }
    public var name: String { "Oxford-IIIT Pet at \(root.path)" }
    public var imagesDirectory: URL { root.appendingPathComponent("images") }
    public var trimapsDirectory: URL { root.appendingPathComponent("annotations/trimaps") }

    public init(root: URL, options: DatasetOptions = DatasetOptions()) throws {
        self.root = root
        self.options = options
        let images = root.appendingPathComponent("images")
        let trimaps = root.appendingPathComponent("annotations/trimaps")
        guard DatasetFiles.isDirectory(images), DatasetFiles.isDirectory(trimaps) else {
            throw DatasetError("\(root.path): not an Oxford-IIIT Pet layout (expected images/ and annotations/trimaps/)")
        }
        var lists = try DatasetFiles.splitLists(["trainval", "test"], in: root.appendingPathComponent("annotations"))
        if lists.isEmpty {
            lists = DatasetFiles.hashSplit(DatasetFiles.stems(in: images, extensions: ["jpg", "jpeg"]).keys.sorted(), "trainval", "test")
        }
        self.lists = lists
        splits = ["trainval", "test"].filter { lists[$0] != nil }
        switch options.petsBorder {
        case .separateClass:
            classNames = ["pet", "background", "border"]
            palette = PetsDataset.makePalette([RGB(128, 0, 0), RGB(0, 0, 0), RGB(224, 224, 192)])
        case .void:
            classNames = ["pet", "background"]
            palette = PetsDataset.makePalette([RGB(128, 0, 0), RGB(0, 0, 0)])
        }
    }

    private static func makePalette(_ first: [RGB]) -> [RGB] {
        var p = Palette.voc
        for (i, c) in first.enumerated() { p[i] = c }
        return p
    }

    public func ids(split: Split) throws -> [String] {
        try DatasetFiles.ids(of: split, in: lists, order: splits, root: root, limit: options.limit)
    }

    public func imageURL(id: String) -> URL { imagesDirectory.appendingPathComponent("\(id).jpg") }
    public func maskURL(id: String) -> URL { trimapsDirectory.appendingPathComponent("\(id).png") }

    public func sample(id: String) throws -> Sample {
        try MaskDecoding.sample(id: id, imageURL: imageURL(id: id), maskURL: maskURL(id: id), labels: trimapLabels)
    }

    /// Trimap values 1, 2, 3 as pet 0, background 1, border 2 (or void); others become void, with a warning.
    private func trimapLabels(_ png: DecodedPNG, maskURL: URL) throws -> (LabelMap, [String]) {
        guard png.kind != .rgb else {
            throw DatasetError("\(maskURL.path): a trimap must be a gray PNG with values 1, 2, 3; this one is RGB")
        }
        let border: UInt8 = options.petsBorder == .void ? LabelMap.void : 2
        var table = [UInt8](repeating: LabelMap.void, count: 256)
        table[1] = 0
        table[2] = 1
        table[3] = border
        var outside = 0
        var values = png.samples
        for i in 0..<values.count {
            let v = values[i]
            if v == 0 || v > 3 { outside += 1 }
            values[i] = table[Int(v)]
        }
        let label = LabelMap(width: png.width, height: png.height, values: values)
        let warnings = outside > 0
            ? ["\(maskURL.path): label values out of range (\(outside) pixels not 1, 2 or 3); mapped to void 255"] : []
        return (label, warnings)
    }
}
