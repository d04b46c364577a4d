import Datasets

/// Everything that can happen to the interface, as one closed enum: input, time, and results of
/// commands. (Engine events join here when the training screens arrive.)
public enum Msg: Sendable {
    case key(Key)
    case mouse(MouseEvent)
    case resize(columns: Int, rows: Int)
    case tick
    case dataset(DatasetEvent)
    /// Engine events and results of the training screens' commands (Cockpit/).
    case cockpit(CockpitEvent)
}

/// Results of dataset commands.
public enum DatasetEvent: Sendable {
    /// The ids of a split, or why they could not be read.
    case ids(split: Split, Result<[String], MessageError>)
    /// A decoded sample for the preview, or the error naming its file.
    case sample(id: String, Result<Sample, MessageError>)
    /// Scan results: per-sample sizes and class pixel counts.
    case scanned([SampleInfo])
    /// The scan of a split finished.
    case scanFinished(split: Split)
    /// The tags file was written (nil) or not (why).
    case tagsSaved(path: String, error: String?)
    /// The browser's list was exported: the path written and the number of samples, or why not.
    case exported(Result<String, MessageError>, samples: Int)
}

/// An error as text, so messages stay `Sendable` and `Equatable`.
public struct MessageError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
    public init(_ error: any Error) { description = String(describing: error) }
}

/// Side effects the update function asks for; the runtime performs them off the UI thread and
/// answers with messages.
public enum Command: Sendable, Equatable {
    case quit
    case loadIDs(split: Split)
    case loadSample(id: String)
    /// Decode every listed sample once to learn its size and classes (for the list and the
    /// class-frequency pane). Ids already scanned are skipped by the performer.
    case scan(split: Split, ids: [String])
    /// Write the browser's tags to `path` (temp + rename; one write at a time, in order).
    case saveTags(SampleTags, path: String)
    /// Write the browser's list into `directory` as `<stem>-<n>.<format>`, n the first free number.
    case exportSamples(SampleExport, format: SampleExport.Format, directory: String, stem: String)
    /// Commands of the training screens (engine commands, compare samples): `CockpitPerformer`.
    case cockpit(CockpitCommand)
}

/// What the scan learns about one sample.
public struct SampleInfo: Sendable, Equatable {
    public var id: String
    public var width: Int
    public var height: Int
    /// Pixel count per label value (index 255 = void); empty when the sample could not be read.
    public var counts: [Int]
    public var error: String?

    public init(id: String, width: Int, height: Int, counts: [Int], error: String? = nil) {
        self.id = id
        self.width = width
        self.height = height
        self.counts = counts
        self.error = error
    }

    public init(sample: Sample) {
        var counts = [Int](repeating: 0, count: 256)
        for v in sample.label.values { counts[Int(v)] += 1 }
        self.init(id: sample.id, width: sample.image.width, height: sample.image.height, counts: counts)
    }

    public static func failed(id: String, error: String) -> SampleInfo {
        SampleInfo(id: id, width: 0, height: 0, counts: [], error: error)
    }

    /// Label values present, ascending (void included).
    public var present: [Int] { counts.indices.filter { counts[$0] > 0 } }
}
