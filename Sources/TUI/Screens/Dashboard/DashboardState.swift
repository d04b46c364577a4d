/// State of the training dashboard: how its charts are drawn and its learning-rate prompt. The
/// run itself (history, overlay, read-only) is `AppState.cockpit`, shared with compare and runs.
public struct DashboardState: Sendable {
    public var axis: ChartAxis = .iterations
    public var glyphs: ChartGlyphs = .braille
    /// EMA weight of the smoothed train-loss curve (`w` steps through `smoothingSteps`).
    public var smoothing = 0.9
    /// Loss and learning-rate charts on a log y axis (`l`).
    public var logScale = false
    public var prompt: LearningRatePrompt?

    public init() {}

    /// The EMA weights `w` steps through (0 = no smoothing), TensorBoard's slider in a few stops.
    public static let smoothingSteps = [0, 0.6, 0.8, 0.9, 0.95, 0.99]

    /// The weight after `weight` in `smoothingSteps` (wrapping; a weight between stops goes to the next one up).
    public static func nextSmoothing(after weight: Double) -> Double {
        smoothingSteps.first { $0 > weight + 1e-9 } ?? smoothingSteps[0]
    }
}
