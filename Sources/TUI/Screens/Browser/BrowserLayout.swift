/// Where the browser's panes go at a given size. The view draws into these rectangles and the
/// update function hit-tests mouse clicks against the same ones.
public struct BrowserLayout: Equatable, Sendable {
    public var header: Rect
    public var list: Rect
    public var frequency: Rect
    public var preview: Rect
    public var legend: Rect
    public var footer: Rect

    public init(columns: Int, rows: Int, zoomed: Bool) {
        header = Rect(x: 0, y: 0, width: columns, height: 1)
        footer = Rect(x: 0, y: rows - 1, width: columns, height: 1)
        let body = Rect(x: 0, y: 1, width: columns, height: rows - 2)
        let leftWidth = zoomed ? 0 : min(56, max(34, columns * 38 / 100))
        let (left, right) = body.splitLeft(leftWidth)
        let frequencyHeight = min(12, max(5, body.height / 3))
        (list, frequency) = left.splitTop(left.height - frequencyHeight)
        let legendHeight = body.height >= 40 ? 9 : 7
        (preview, legend) = right.splitTop(right.height - legendHeight)
    }

    /// Rows of the list that show samples (inside the border).
    public var listRows: Int { max(0, list.height - 2) }

    /// The list row under (x, y), if any.
    public func listRow(x: Int, y: Int) -> Int? {
        let inner = list.inset(1)
        return inner.contains(x: x, y: y) ? y - inner.y : nil
    }
}
