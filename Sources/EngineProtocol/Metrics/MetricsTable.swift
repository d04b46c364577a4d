import Foundation

/// MMSegmentation-style text report: a per-class table (Class | IoU | Acc | Dice, percentages
/// with two decimals, `nan` for undefined) followed by the summary figures and a note saying
/// which figures are pooled over pixels and which are averaged per image.
public enum MetricsTable {
    public static func render(_ metrics: SegmentationMetrics, classNames: [String],
                              imageScores: [ImageScore] = []) -> String {
        var rows: [[String]] = []
        for c in 0..<metrics.classIoU.count {
            let name = c < classNames.count ? classNames[c] : "class \(c)"
            rows.append([name, percent(metrics.classIoU[c]), percent(metrics.classAcc[c]), percent(metrics.classDice[c])])
        }
        var out = "per-class results:\n"
        out += table(header: ["Class", "IoU", "Acc", "Dice"], rows: rows, rightAligned: [false, true, true, true])
        out += "Summary:\n"
        var summaryHeader = ["aAcc", "mIoU", "mAcc", "mDice", "fwIoU"]
        var summaryRow = [percent(metrics.aAcc), percent(metrics.mIoU), percent(metrics.mAcc),
                          percent(metrics.mDice), percent(metrics.fwIoU)]
        let perImage = imageScores.map(\.mIoU)
        if !imageScores.isEmpty {
            summaryHeader.append("image mIoU")
            summaryRow.append(percent(nanMean(perImage)))
        }
        out += table(header: summaryHeader, rows: [summaryRow], rightAligned: summaryHeader.map { _ in true })
        out += "aAcc, IoU, Acc, Dice and their means (mIoU, mAcc, mDice, fwIoU) are pooled over all "
            + "\(metrics.pixels) labelled pixels (one confusion matrix; void 255 ignored); a class with "
            + "no true and no predicted pixel is nan and left out of the means.\n"
        if !imageScores.isEmpty {
            out += "image mIoU is averaged per image: the mean over \(imageScores.count) images of each "
                + "image's own mIoU (classes present in that image's truth or prediction).\n"
        }
        return out
    }

    /// `93.12`, or `nan`.
    public static func percent(_ value: Double) -> String {
        value.isFinite ? String(format: "%.2f", value * 100) : "nan"
    }

    /// A `+---+` boxed table as MMSegmentation prints with PrettyTable.
    public static func table(header: [String], rows: [[String]], rightAligned: [Bool]) -> String {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        let rule = "+" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+") + "+\n"
        func line(_ cells: [String], align: [Bool]) -> String {
            var s = "|"
            for (i, width) in widths.enumerated() {
                let cell = i < cells.count ? cells[i] : ""
                let pad = String(repeating: " ", count: width - cell.count)
                s += " " + (align[i] ? pad + cell : cell + pad) + " |"
            }
            return s + "\n"
        }
        var out = rule + line(header, align: header.map { _ in false }) + rule
        for row in rows { out += line(row, align: rightAligned) }
        return out + rule
    }
}
