import Foundation

/// A copy of the VOC fixtures with one problem per sample, for `data check` and loader tests.
public enum CorruptFixtures {
    /// One broken sample: its id and text the report about it must contain.
    public struct Problem: Sendable {
        public var id: String
        public var mustMention: [String]
    }

    /// Ids that stay loadable (the second with a warning: an unknown mask colour).
    public static let loadable = ["extra_unknown", "extra_good"]

    /// Builds `dir/voc-corrupt` and returns its root and the problems planted in it:
    /// a truncated JPEG, a PNG with flipped bytes, a mask of the wrong size, a listed file that is
    /// missing, and an RGB mask with a colour outside the VOC palette.
    public static func voc(in dir: URL) throws -> (root: URL, problems: [Problem]) {
        let fm = FileManager.default
        let root = dir.appendingPathComponent("voc-corrupt")
        try fm.copyItem(at: Fixtures.voc, to: root)
        let images = root.appendingPathComponent("JPEGImages"), masks = root.appendingPathComponent("SegmentationClass")
        // 1. Truncated JPEG.
        let jpeg = images.appendingPathComponent("2007_000032.jpg")
        let jpegData = try Data(contentsOf: jpeg)
        try jpegData.prefix(jpegData.count * 6 / 10).write(to: jpeg)
        // 2. Flipped bytes inside a PNG's image data.
        let png = masks.appendingPathComponent("2007_000033.png")
        var pngData = try Data(contentsOf: png)
        for i in (pngData.count / 2)..<(pngData.count / 2 + 32) { pngData[i] ^= 0xA5 }
        try pngData.write(to: png)
        // 3. A mask of the wrong size: 2007_000039's (500x375) paired with 2007_000042's image (500x335).
        try fm.removeItem(at: masks.appendingPathComponent("2007_000042.png"))
        try fm.copyItem(at: masks.appendingPathComponent("2007_000039.png"), to: masks.appendingPathComponent("2007_000042.png"))
        // 5. Two extra samples from 2007_000039's image: an RGB mask with an unknown colour, and a good copy.
        try fm.copyItem(at: images.appendingPathComponent("2007_000039.jpg"), to: images.appendingPathComponent("extra_unknown.jpg"))
        try fm.copyItem(at: images.appendingPathComponent("2007_000039.jpg"), to: images.appendingPathComponent("extra_good.jpg"))
        try fm.copyItem(at: masks.appendingPathComponent("2007_000039.png"), to: masks.appendingPathComponent("extra_good.png"))
        var rgb = [UInt8](repeating: 0, count: 500 * 375 * 3)
        for y in 100..<200 {
            for x in 100..<300 { rgb[(y * 500 + x) * 3] = 128 }  // class 1 (128,0,0)
        }
        for y in 0..<10 {
            for x in 0..<10 { rgb.replaceSubrange(((y * 500 + x) * 3)..<((y * 500 + x) * 3 + 3), with: [1, 2, 3]) }
        }
        try PNGWriter.rgb(width: 500, height: 375, pixels: rgb).write(to: masks.appendingPathComponent("extra_unknown.png"))
        // 4. A listed file deleted.
        try fm.removeItem(at: images.appendingPathComponent("2007_000039.jpg"))
        let lists = root.appendingPathComponent("ImageSets/Segmentation")
        try "2007_000032\n2007_000039\nextra_unknown\nextra_good\n".write(to: lists.appendingPathComponent("train.txt"),
                                                                        atomically: true, encoding: .utf8)
        try "2007_000032\n2007_000033\n2007_000039\n2007_000042\nextra_unknown\nextra_good\n"
            .write(to: lists.appendingPathComponent("trainval.txt"), atomically: true, encoding: .utf8)
        let problems = [
            Problem(id: "2007_000032", mustMention: ["JPEGImages/2007_000032.jpg", "Premature end of JPEG file"]),
            Problem(id: "2007_000033", mustMention: ["SegmentationClass/2007_000033.png", "decode PNG"]),
            Problem(id: "2007_000042", mustMention: ["SegmentationClass/2007_000042.png", "500x375", "500x335"]),
            Problem(id: "2007_000039", mustMention: ["JPEGImages/2007_000039.jpg", "no such file"]),
            Problem(id: "extra_unknown", mustMention: ["SegmentationClass/extra_unknown.png", "100 pixels", "(1,2,3)", "unknown colour"]),
        ]
        return (root, problems)
    }
}
