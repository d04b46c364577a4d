import Datasets
import Foundation
import TestSupport
import XCTest

/// torchvision's preprocessing of a photo (`segscope predict --weights`): Pillow's bilinear
/// resize byte for byte, torchvision's Resize / CenterCrop geometry, against the values
/// torchvision and Pillow give for a real VOC photo (Tests/ModelsTests/Golden/tv/predict,
/// `scripts/golden/torchvision_golden.py --predict`).
final class TorchvisionPreprocessingTests: XCTestCase {
    struct Golden: Decodable {
        struct Resize: Decodable { var size: [Int]; var fnv1a64: String }
        struct Preset: Decodable { var shape: [Int]; var sum: Double; var first: [Double] }
        struct Case: Decodable { var resize: Int; var center_crop: Int?; var input: [Int]; var box: [Int] }
        var photo: String
        var photo_size: [Int]
        var photo_fnv1a64: String
        var pillow_resizes: [String: Resize]
        var preset_520: Preset
        var cases: [String: Case]
    }

    static let directory = Fixtures.repositoryRoot.appendingPathComponent("Tests/ModelsTests/Golden/tv/predict")

    func golden() throws -> (Golden, RGBImage) {
        let doc = try JSONDecoder().decode(Golden.self, from: Data(contentsOf: Self.directory.appendingPathComponent("fcn-resnet50.json")))
        return (doc, try ImageCodec.readRGB(Fixtures.root.appendingPathComponent(doc.photo)))
    }

    static func fnv1a64(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        return String(format: "%016llx", h)
    }

    /// The photo decodes to Pillow's bytes, and every resize (the preset's 520 upscaling the
    /// 281-pixel side, reductions down to 97 with the widened filter) gives Pillow's bytes.
    func testPillowResizeByteForByte() throws {
        let (doc, photo) = try golden()
        XCTAssertEqual([photo.width, photo.height], doc.photo_size)
        XCTAssertEqual(Self.fnv1a64(photo.pixels), doc.photo_fnv1a64, "libjpeg's decode differs from Pillow's")
        XCTAssertEqual(doc.pillow_resizes.count, 5)
        for (n, expected) in doc.pillow_resizes {
            let size = TorchvisionPreprocessing.resizedSize(width: photo.width, height: photo.height, shorter: Int(n)!)
            XCTAssertEqual([size.width, size.height], expected.size, "Resize(\(n))")
            let resized = Transforms.resizePillowBilinear(photo, to: size)
            XCTAssertEqual(Self.fnv1a64(resized.pixels), expected.fnv1a64, "Resize(\(n)) to \(size)")
        }
    }

    /// The preset (`SemanticSegmentation(resize_size=520)`): 925×520, ImageNet-normalised.
    func testPresetInput() throws {
        let (doc, photo) = try golden()
        let (input, plan) = try TorchvisionPreprocessing().apply(photo)
        XCTAssertEqual([3, input.height, input.width], doc.preset_520.shape)
        XCTAssertEqual(plan.box.x1, photo.width)
        XCTAssertEqual(plan.box.y1, photo.height)
        let chw = Transforms.normalized(input, .imagenet)
        XCTAssertEqual(chw.reduce(0.0) { $0 + Double($1) }, doc.preset_520.sum, accuracy: 1e-6 * Double(chw.count))
        for (i, v) in doc.preset_520.first.enumerated() { XCTAssertEqual(Double(chw[i]), v, accuracy: 1e-6) }
    }

    /// Each predict case's network input size and crop box in the photo are the generator's.
    func testCasePlans() throws {
        let (doc, photo) = try golden()
        XCTAssertEqual(doc.cases.count, 2)
        for (name, c) in doc.cases {
            let plan = try TorchvisionPreprocessing(resize: c.resize, centerCrop: c.center_crop)
                .plan(width: photo.width, height: photo.height)
            XCTAssertEqual([plan.crop.height, plan.crop.width], c.input, name)
            XCTAssertEqual([plan.box.x0, plan.box.y0, plan.box.x1, plan.box.y1], c.box, name)
        }
    }

    /// torchvision's geometry: the longer side truncated, CenterCrop's offsets rounded half to
    /// even (Python's round), the box in the photo rounded half up; a crop larger than the
    /// resized image is refused, naming both sizes.
    func testGeometry() throws {
        XCTAssertEqual(TorchvisionPreprocessing.resizedSize(width: 500, height: 281, shorter: 520), Size2D(height: 520, width: 925))
        XCTAssertEqual(TorchvisionPreprocessing.resizedSize(width: 375, height: 500, shorter: 256), Size2D(height: 341, width: 256))
        XCTAssertEqual(TorchvisionPreprocessing.resizedSize(width: 64, height: 64, shorter: 32), Size2D(height: 32, width: 32))
        // (227 - 224) / 2 = 1.5 → 2, (225 - 224) / 2 = 0.5 → 0.
        let plan = try TorchvisionPreprocessing(resize: nil, centerCrop: 224).plan(width: 227, height: 225)
        XCTAssertEqual(plan.cropX, 2)
        XCTAssertEqual(plan.cropY, 0)
        XCTAssertEqual(plan.box.x0, 2)
        XCTAssertEqual(plan.box.y1, 224)
        XCTAssertThrowsError(try TorchvisionPreprocessing(resize: 160, centerCrop: 200).plan(width: 500, height: 281)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("--center-crop 200 is larger than the resized image") && text.contains("284x160")
                          && text.contains("at most 160"), text)
        }
        // Same size: the photo as it is.
        let photo = RGBImage(width: 3, height: 2, pixels: (0..<18).map { UInt8($0) })
        XCTAssertEqual(try TorchvisionPreprocessing(resize: 2).apply(photo).input, photo)
    }
}
