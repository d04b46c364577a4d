import Foundation

/// Turns a decoded mask PNG into class indices, the one way every reader does it.
enum MaskDecoding {
    /// The sample of a layout that stores each id as an image file and a mask PNG (VOC, Pets,
    /// folder): both files must exist, `labels` turns the decoded mask into class indices (with
    /// warnings), and the two must have the same size. Warnings: the image's, then the mask's.
    static func sample(id: String, imageURL: URL, maskURL: URL,
                       labels: (DecodedPNG, URL) throws -> (LabelMap, [String])) throws -> Sample {
        try DatasetFiles.requireFiles([imageURL, maskURL], id: id)
        let (image, imageWarnings) = try ImageCodec.readRGBReportingWarnings(imageURL)
        let (label, warnings) = try labels(try ImageCodec.readPNG(maskURL), maskURL)
        try checkSameSize(image, label, imageURL: imageURL, maskURL: maskURL)
        var sample = Sample(id: id, image: image, label: label)
        sample.warnings = imageWarnings + warnings
        return sample
    }

    /// - paletted PNG: the indices themselves (VOC's `SegmentationClass`);
    /// - gray PNG: the gray values;
    /// - RGB PNG: colours mapped through `colors` (d2l's `colormap2label`); unknown colours → 255.
    /// Values ≥ `classCount` other than 255 become 255. Both cases add a warning naming `url`.
    static func labels(_ png: DecodedPNG, url: URL, classCount: Int, colors: ColorToLabel) -> (LabelMap, [String]) {
        var warnings: [String] = []
        var label: LabelMap
        switch png.kind {
        case .paletted, .gray:
            label = LabelMap(width: png.width, height: png.height, values: png.samples)
            if png.bitDepth == 16 && !png.exact16Bit {
                warnings.append("\(url.path): 16-bit mask with values above 255 scaled to 8 bits; class indices may be wrong "
                                + "(store class indices 0-255, 255 or 65535 for void)")
            }
        case .rgb:
            let mapped = colors.labels(for: png.rgbImage())
            label = mapped.label
            if mapped.unknownPixels > 0 {
                let examples = mapped.unknownColors.prefix(4).map { "(\($0.r),\($0.g),\($0.b))" }.joined(separator: " ")
                warnings.append("\(url.path): \(mapped.unknownPixels) pixels of \(mapped.unknownColors.count) unknown colour(s) "
                                + "\(examples) are not in the palette; mapped to void 255")
            }
        }
        if let warning = clampOutOfRange(&label, classCount: classCount, url: url) { warnings.append(warning) }
        return (label, warnings)
    }

    /// Sets values ≥ `classCount` (except 255) to 255 and describes what it changed.
    static func clampOutOfRange(_ label: inout LabelMap, classCount: Int, url: URL) -> String? {
        guard classCount < 255 else { return nil }
        var bad = [Int](repeating: 0, count: 256)
        var total = 0
        label.values.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count {
                let v = Int(p[i])
                if v >= classCount && v != 255 {
                    bad[v] += 1
                    total += 1
                    p[i] = LabelMap.void
                }
            }
        }
        guard total > 0 else { return nil }
        let values = (0..<256).filter { bad[$0] > 0 }.map(String.init).joined(separator: ", ")
        return "\(url.path): label values out of range (\(values); \(classCount) classes, 255 void) in \(total) pixels; mapped to void 255"
    }

    static func checkSameSize(_ image: RGBImage, _ label: LabelMap, imageURL: URL, maskURL: URL) throws {
        guard image.width == label.width && image.height == label.height else {
            throw DatasetError("\(maskURL.path): mask is \(label.width)x\(label.height) but its image \(imageURL.lastPathComponent) is \(image.width)x\(image.height)")
        }
    }
}
