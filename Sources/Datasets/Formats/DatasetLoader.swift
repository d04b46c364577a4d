import Foundation

/// Opens any dataset layout Segscope reads: the one entry point for the CLI, the TUI and training.
public enum DatasetLoader {
    /// The name of the marker file the demo generator writes into its root.
    public static let demoMarker = "segscope-demo.json"

    /// Opens `url` as `format`; `.auto` recognises the layout (see `detect`).
    public static func open(_ url: URL, format: DatasetFormat = .auto,
                            options: DatasetOptions = DatasetOptions()) throws -> any SegmentationDataset {
        guard DatasetFiles.isDirectory(url) else {
            throw DatasetError("\(url.path): no such directory")
        }
        let resolved = format == .auto ? try detect(url) : format
        let dataset: any SegmentationDataset
        switch resolved {
        case .voc: dataset = try VOCDataset(root: url, options: options, format: .voc)
        case .demo: dataset = try VOCDataset(root: url, options: options, format: .demo)
        case .pets: dataset = try PetsDataset(root: url, options: options)
        case .folder: dataset = try FolderDataset(root: url, options: options)
        case .auto: throw DatasetError("\(url.path): cannot detect the dataset layout")
        }
        let labelled = options.relabels ? try RelabeledDataset(dataset, options: options) : dataset
        return options.palette == .auto ? labelled : RecoloredDataset(labelled, palette: options.palette)
    }

    /// Recognises a layout from the directories present:
    /// demo (VOC layout with `segscope-demo.json`), VOC (`JPEGImages/` + `SegmentationClass/`,
    /// also inside `VOCdevkit/VOC2012`), Pets (`images/` + `annotations/trimaps/`), folder
    /// (`images/` + `masks/`).
    public static func detect(_ url: URL) throws -> DatasetFormat {
        let voc = VOCDataset.resolveRoot(url)
        if DatasetFiles.isDirectory(voc.appendingPathComponent("JPEGImages"))
            && DatasetFiles.isDirectory(voc.appendingPathComponent("SegmentationClass")) {
            return DatasetFiles.exists(voc.appendingPathComponent(demoMarker)) ? .demo : .voc
        }
        if DatasetFiles.isDirectory(url.appendingPathComponent("images")) {
            if DatasetFiles.isDirectory(url.appendingPathComponent("annotations/trimaps")) { return .pets }
            if DatasetFiles.isDirectory(url.appendingPathComponent("masks")) { return .folder }
        }
        let found = DatasetFiles.files(in: url).prefix(12)
        let listing = found.isEmpty ? "it is empty" : "it holds " + found.joined(separator: ", ")
            + (DatasetFiles.files(in: url).count > found.count ? ", …" : "")
        throw DatasetError("""
            \(url.path) is not a dataset layout Segscope recognises (\(listing)). Expected one of:
              VOC     JPEGImages/, SegmentationClass/, ImageSets/Segmentation/{train,val}.txt (or VOCdevkit/VOC2012/ holding them)
              Pets    images/, annotations/trimaps/, annotations/{trainval,test}.txt
              folder  images/, masks/ (same file stems), optional classes.txt
            Or pass --format voc|pets|folder|demo, or create a demo set with `segscope data demo --out DIR`.
            """)
    }
}
