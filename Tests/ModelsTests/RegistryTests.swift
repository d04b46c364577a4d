import Foundation
import XCTest
import NN
@testable import Models

final class RegistryTests: XCTestCase {
    /// The counts of the issue: Keras's own for xunet, PyTorch's for unet and fcn-resnet18.
    func testParameterCounts() throws {
        let xunet = try ModelRegistry.build("xunet")
        XCTAssertEqual(xunet.trainableCount, 2_055_203)
        XCTAssertEqual(xunet.batchNormStatisticsCount, 3_776)
        XCTAssertEqual(xunet.trainableCount + xunet.batchNormStatisticsCount, 2_058_979)

        let unet = try ModelRegistry.build("unet")
        XCTAssertEqual(unet.trainableCount, 26_917_781)
        XCTAssertEqual(unet.batchNormStatisticsCount, 0)

        let fcn = try ModelRegistry.build("fcn-resnet18")
        XCTAssertEqual(fcn.trainableCount, 12_993_642)
        XCTAssertEqual(fcn.batchNormStatisticsCount, 9_600)
    }

    func testDefaultsAndLookup() throws {
        XCTAssertEqual(ModelRegistry.names, ["xunet", "unet", "fcn-resnet18", "fcn-resnet50", "fcn-resnet101", "deeplabv3-resnet50", "deeplabv3-resnet101", "lraspp-mobilenet-v3-large"])
        let spec = try ModelRegistry.spec(named: "FCN-ResNet18")
        XCTAssertEqual(spec.defaultInput, InputSize(height: 320, width: 480))
        XCTAssertEqual(spec.defaultClasses, 21)
        XCTAssertThrowsError(try ModelRegistry.spec(named: "resnet50")) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("resnet50") && text.contains("xunet, unet, fcn-resnet18"), text)
        }
        XCTAssertThrowsError(try ModelRegistry.build("unet", classes: 0))
        XCTAssertThrowsError(try spec.build(ModelOptions(classes: 21, encoderDropout: 0.5)))
    }

    func testInputSizeParsingAndValidation() throws {
        XCTAssertEqual(try InputSize(parsing: "320x480"), InputSize(height: 320, width: 480))
        XCTAssertEqual(try InputSize(parsing: "160"), InputSize(height: 160, width: 160))
        XCTAssertEqual(try InputSize(parsing: "64×128"), InputSize(height: 64, width: 128))
        for bad in ["", "x", "12x", "0x64", "-32x32", "axb", "1x2x3"] {
            XCTAssertThrowsError(try InputSize(parsing: bad), bad)
        }
        let unet = try ModelRegistry.spec(named: "unet")
        XCTAssertNoThrow(try unet.validate(InputSize(height: 128, width: 192)))
        XCTAssertThrowsError(try unet.validate(InputSize(height: 100, width: 128))) { error in
            XCTAssertTrue(String(describing: error).contains("divisible by 64 (try 128x128)"), "\(error)")
        }
    }

    /// Every layer the forward pass reports is a real module path (or an op label under one),
    /// the per-layer counts add up to the totals, and the output has the input's size.
    func testSummaries() throws {
        for (name, size) in [("xunet", InputSize(height: 160, width: 160)), ("unet", InputSize(height: 64, width: 128)),
                             ("fcn-resnet18", InputSize(height: 64, width: 96))] {
            let model = try ModelRegistry.build(name)
            let summary = ModelSummary(model: model, input: size)
            XCTAssertEqual(summary.outputShape, [1, model.classes, size.height, size.width], name)
            XCTAssertEqual(summary.layers.reduce(0) { $0 + $1.trainable }, summary.trainable, name)
            XCTAssertEqual(summary.layers.reduce(0) { $0 + $1.nonTrainable }, summary.nonTrainable, name)
            XCTAssertEqual(summary.total, model.trainableCount + model.batchNormStatisticsCount)
            let modules = Set(model.namedModules().map(\.name))
            for row in summary.layers where row.params > 0 {
                XCTAssertTrue(modules.contains(row.name), "\(name): \(row.name) is not a module")
            }
            XCTAssertTrue(model.isTraining, "the summary pass restores training mode")
        }
        let xunet = ModelSummary(model: try ModelRegistry.build("xunet"), input: InputSize(height: 160, width: 160))
        XCTAssertEqual(xunet.total, 2_058_979)
        XCTAssertEqual(xunet.layers.first?.name, "entry_conv")
        XCTAssertEqual(xunet.layers.first?.outputShape, [1, 32, 80, 80])
        XCTAssertEqual(xunet.layers.first(where: { $0.name == "down.2.add" })?.outputShape, [1, 256, 10, 10])
        let table = xunet.table()
        XCTAssertTrue(table.contains("Total params: 2,058,979"), table)
        XCTAssertTrue(table.contains("Trainable params: 2,055,203"), table)
        XCTAssertTrue(table.contains("Non-trainable params: 3,776"), table)
        XCTAssertTrue(table.contains("down.0.sep1 (SeparableConv2d)"), table)
        XCTAssertTrue(table.contains("(None, 32, 80, 80)"), table)
    }

    func testSummaryJSONRoundTrip() throws {
        let summary = ModelSummary(model: try ModelRegistry.build("unet", classes: 5), input: InputSize(height: 64, width: 64))
        let data = try JSONEncoder().encode(summary)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(object["total"] as? Int, summary.total)
        XCTAssertEqual(object["non_trainable"] as? Int, 0)
        XCTAssertEqual(try JSONDecoder().decode(ModelSummary.self, from: data), summary)
    }

    // MARK: Initialisation as the references do it

    func testInitialisation() throws {
        func std(_ t: Tensor) -> Double {
            let v = t.array.map(Double.init)
            let m = v.reduce(0, +) / Double(v.count)
            return (v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(v.count)).squareRoot()
        }
        func state(_ m: Module, _ name: String) throws -> Tensor {
            try XCTUnwrap(m.stateDict().first { $0.name == name }?.tensor, name)
        }
        // unet: he_normal encoders (std √(2 / fan_in)), Glorot-uniform deconvs, zero biases.
        let unet = try ModelRegistry.build("unet")
        XCTAssertEqual(std(try state(unet, "encoders.1.conv.weight")), (2.0 / (128 * 9)).squareRoot(), accuracy: 0.002)
        XCTAssertEqual(try state(unet, "encoders.1.conv.bias").array.map(abs).max(), 0)
        let glorot = (6.0 / Double(512 * 9 + 512 * 9)).squareRoot()
        let deconv = try state(unet, "decoders.0.deconv.weight").array
        XCTAssertLessThanOrEqual(Double(deconv.map(abs).max() ?? 0), glorot * 1.000001)
        XCTAssertEqual(std(try state(unet, "decoders.0.deconv.weight")), glorot / 3.0.squareRoot(), accuracy: glorot * 0.02)
        // xunet: Keras defaults.
        let xunet = try ModelRegistry.build("xunet")
        let limit = (6.0 / Double(3 * 9 + 32 * 9)).squareRoot()
        XCTAssertLessThanOrEqual(Double(try state(xunet, "entry_conv.weight").array.map(abs).max() ?? 0), limit * 1.000001)
        XCTAssertEqual(try state(xunet, "entry_bn.weight").array, [Float](repeating: 1, count: 32))
        XCTAssertEqual(try state(xunet, "entry_bn.running_var").array, [Float](repeating: 1, count: 32))
        // fcn-resnet18: torchvision's fan-out Kaiming normal; the ×32 deconv upsamples bilinearly.
        let fcn = try ModelRegistry.build("fcn-resnet18")
        XCTAssertEqual(std(try state(fcn, "6.0.conv2.weight")), (2.0 / (256 * 9)).squareRoot(), accuracy: 0.001)
        let up = try XCTUnwrap(fcn as? FCNResNet18).transposeConv
        let ones = Tensor(shape: [1, 21, 4, 4], repeating: 1)
        let y = GradMode.withoutGrad { up(ones) }
        XCTAssertEqual(y.shape, [1, 21, 128, 128])
        // Bilinear interpolation of a constant is that constant away from the borders.
        for c in [0, 7, 20] {
            for (i, j) in [(40, 40), (64, 70), (90, 50)] {
                XCTAssertEqual(y.array[(c * 128 + i) * 128 + j], 1, accuracy: 1e-5)
            }
        }
    }

    func testEncoderDropout() throws {
        let spec = try ModelRegistry.spec(named: "unet")
        let model = try spec.build(ModelOptions(classes: 4, encoderDropout: 0.5, seed: 3))
        let plain = try spec.build(ModelOptions(classes: 4, seed: 3))
        XCTAssertEqual(model.stateDict().map(\.name), plain.stateDict().map(\.name), "dropout has no weights")
        XCTAssertTrue(model.namedModules().contains { $0.name == "encoders.0.drop" })
        let x = Tensor(shape: [1, 3, 64, 64], values: (0..<(3 * 64 * 64)).map { Float($0 % 17) / 17 })
        model.eval()
        plain.eval()
        let a = GradMode.withoutGrad { model(x) }.array, b = GradMode.withoutGrad { plain(x) }.array
        XCTAssertEqual(a, b, "no dropout in inference")
        model.train()
        let c = GradMode.withoutGrad { model(x) }.array
        XCTAssertNotEqual(a, c, "dropout active in training")
    }
}
