import Foundation
import NN
import XCTest
@testable import Training

/// The `precision` key and what selecting it does (`NumericPrecision+Select.swift`).
final class PrecisionTests: XCTestCase {
    var saved: (any Backend)!

    override func setUp() { saved = Backends.current }
    override func tearDown() { Backends.current = saved }

    func testPrecisionKeyReadsWritesAndRefuses() throws {
        XCTAssertEqual(TrainingConfig().precision, .fp32, "fp32 unless asked")
        XCTAssertEqual(try TrainingConfig(toml: "precision = \"bf16\"\n").precision, .bf16)
        XCTAssertEqual(try TrainingConfig(toml: "precision = \"BFloat16\"\n").precision, .bf16)
        var config = TrainingConfig()
        config.precision = .bf16
        let text = config.tomlText()
        XCTAssertTrue(text.contains("\nprecision = \"bf16\"\n"), text)
        XCTAssertEqual(try TrainingConfig(toml: text), config)
        XCTAssertThrowsError(try TrainingConfig(toml: "precision = \"fp16\"\n", source: "my.toml")) { error in
            let found = (error as? ConfigErrors)?.errors ?? []
            XCTAssertEqual(found.map(\.key), ["precision"], "\(error)")
            XCTAssertTrue(found.first?.allowed == "fp32, bf16", "\(error)")
        }
        XCTAssertThrowsError(try TrainingConfig().applying(overrides: [("precision", "half")])) { error in
            XCTAssertTrue("\(error)".contains("precision") && "\(error)".contains("fp32, bf16"), "\(error)")
        }
        XCTAssertEqual(try BackendKind.precision(option: "bf16"), .bf16)
        XCTAssertThrowsError(try BackendKind.precision(option: "int8"))
    }

    /// Unsupported (forced, as `SEGSCOPE_BF16=off` does): fp32 dnnl with one notice saying why.
    func testBF16WithoutSupportRunsFP32WithANotice() throws {
        let dnnl = try XCTUnwrap(Backends.dnnl)
        let off = BF16Support.detect(environment: ["SEGSCOPE_BF16": "off"])
        let notices = try BackendKind.dnnl.select(precision: .bf16, support: off)
        XCTAssertTrue(Backends.current === dnnl, Backends.current.name)
        XCTAssertEqual(notices.count, 1, "\(notices)")
        XCTAssertTrue(notices.first?.contains("running in fp32") ?? false, "\(notices)")
        XCTAssertTrue(notices.first?.contains("SEGSCOPE_BF16=off") ?? false, "\(notices)")
    }

    func testBF16OnTheReferenceBackendRunsFP32WithANotice() throws {
        let notices = try BackendKind.reference.select(precision: .bf16)
        XCTAssertTrue(Backends.current === Backends.reference)
        XCTAssertEqual(notices.count, 1)
        XCTAssertTrue(notices.first?.contains("needs the dnnl backend") ?? false, "\(notices)")
    }

    func testBF16WhereSupportedSelectsTheBF16Backend() throws {
        try XCTSkipUnless(BF16Support.current.available, BF16Support.current.summary)
        XCTAssertEqual(try BackendKind.dnnl.select(precision: .bf16), [])
        let current = try XCTUnwrap(Backends.current as? DNNLBackend)
        XCTAssertTrue(current.options.bf16)
        XCTAssertTrue(current === DNNLBackend.sharedBF16)
        XCTAssertEqual(try BackendKind.dnnl.select(precision: .fp32), [])
        XCTAssertTrue(Backends.current === Backends.dnnl, "fp32 selects the fp32 instance again")
    }
}
