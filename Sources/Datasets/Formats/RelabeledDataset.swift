/// A dataset whose labels are rewritten after decoding (D-127): MMSegmentation's
/// `reduce_zero_label` (ADE20K's 0 = "other" becomes void 255 and class k becomes k − 1; 255
/// stays 255) and then `ignore_index` (that value becomes 255, so every loss and metric, which
/// ignore 255, ignore it). One 256-entry table, applied to every sample.
public struct RelabeledDataset: SegmentationDataset {
    public let base: any SegmentationDataset
    public let table: [UInt8]
    public let classNames: [String]
    public let palette: [RGB]

    public init(_ base: any SegmentationDataset, options: DatasetOptions) throws {
        self.base = base
        table = Self.table(reduceZeroLabel: options.reduceZeroLabel, ignoreIndex: options.ignoreIndex)
        if options.reduceZeroLabel {
            guard base.classNames.count >= 2 else {
                throw DatasetError("\(base.name): reduce_zero_label needs at least 2 classes (class 0 is dropped); it has \(base.classNames.count)")
            }
            classNames = Array(base.classNames.dropFirst())
            palette = Array(base.palette.dropFirst()) + [base.palette.last ?? RGB(0, 0, 0)]
        } else {
            classNames = base.classNames
            palette = base.palette
        }
    }

    /// The value map: `reduceZeroLabel` first, then `ignoreIndex` → 255.
    public static func table(reduceZeroLabel: Bool, ignoreIndex: UInt8) -> [UInt8] {
        (0..<256).map { v -> UInt8 in
            var out = UInt8(v)
            if reduceZeroLabel && out != LabelMap.void { out = out == 0 ? LabelMap.void : out - 1 }
            return out == ignoreIndex ? LabelMap.void : out
        }
    }

    public var name: String { base.name }
    public var format: DatasetFormat { base.format }
    public var splits: [Split] { base.splits }
    public func ids(split: Split) throws -> [String] { try base.ids(split: split) }

    public func sample(id: String) throws -> Sample {
        var sample = try base.sample(id: id)
        table.withUnsafeBufferPointer { t in
            sample.label.values.withUnsafeMutableBufferPointer { v in
                for i in v.indices { v[i] = t[Int(v[i])] }
            }
        }
        return sample
    }
}
