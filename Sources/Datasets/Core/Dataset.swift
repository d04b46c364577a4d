/// A dataset split's name. VOC uses train / val / trainval / test; Pets uses trainval / test.
public typealias Split = String

/// One image with its label map.
public struct Sample: Sendable {
    public let id: String
    public var image: RGBImage
    public var label: LabelMap
    /// Problems found while loading that did not stop it (e.g. mask colours not in the palette,
    /// mapped to 255). `data check` reports them; the loader logs them.
    public var warnings: [String] = []

    public init(id: String, image: RGBImage, label: LabelMap) {
        self.id = id
        self.image = image
        self.label = label
    }
}

/// The layouts Segscope reads.
public enum DatasetFormat: String, Sendable, Codable, CaseIterable {
    case voc, pets, folder, demo, auto
}

/// A segmentation dataset: split lists, class names, a palette, and sample loading.
///
/// Implementations are cheap to construct (they read list files, not images) and safe to call
/// from several threads: `sample(id:)` decodes from disk each time.
public protocol SegmentationDataset: Sendable {
    /// A short description, e.g. "Pascal VOC at /data/VOC2012".
    var name: String { get }
    var format: DatasetFormat { get }
    /// Splits present, in a natural order (e.g. ["train", "val", "trainval"]).
    var splits: [Split] { get }
    /// Sample ids of a split, in list-file order. Throws when the split does not exist.
    func ids(split: Split) throws -> [String]
    /// Class names; a label value `v < classNames.count` is class `classNames[v]`.
    var classNames: [String] { get }
    /// Display colour for each class index (VOC colormap unless the dataset gives one).
    var palette: [RGB] { get }
    /// Decodes one sample. Throws an error naming the file when it cannot be read.
    func sample(id: String) throws -> Sample
}
