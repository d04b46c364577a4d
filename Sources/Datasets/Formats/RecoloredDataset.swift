/// A dataset drawn in a built-in palette instead of its own colours (config key `palette`,
/// D-250). Only the display colours change: masks stored as RGB were already mapped to indices
/// with the dataset's own colours. Applied after `RelabeledDataset`, so the palette's classes
/// line up with the labels the model sees (ADE20K after `reduce_zero_label`).
public struct RecoloredDataset: SegmentationDataset {
    public let base: any SegmentationDataset
    public let palette: [RGB]

    public init(_ base: any SegmentationDataset, palette: ClassPalette) {
        self.base = base
        self.palette = palette.palette(for: base.classNames, own: base.palette)
    }

    public var name: String { base.name }
    public var format: DatasetFormat { base.format }
    public var splits: [Split] { base.splits }
    public var classNames: [String] { base.classNames }
    public func ids(split: Split) throws -> [String] { try base.ids(split: split) }
    public func sample(id: String) throws -> Sample { try base.sample(id: id) }
}
