import Foundation
import XCTest
@testable import NN
import TestSupport

final class SafetensorsTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    /// Written by the reference library: `~/torch-venv/bin/python scripts/golden/safetensors_fixture.py`.
    var fixture: URL {
        Fixtures.repositoryRoot.appendingPathComponent("Tests/NNTests/Golden/safetensors/mixed_dtypes.safetensors")
    }

    /// `torch.arange(24).reshape(2, 3, 4) * 0.25 - 2` as in the fixture script.
    let ramp: [Float] = (0..<24).map { Float($0) * 0.25 - 2 }

    func testReadsEveryDTypeWrittenByTheReferenceLibrary() throws {
        let file = try SafetensorsFile.read(from: fixture)
        XCTAssertEqual(file.metadata, ["format": "pt", "written_by": "scripts/golden/safetensors_fixture.py"])
        XCTAssertEqual(Set(file.names), ["conv.weight", "conv.bias", "half.weight", "bfloat.weight", "double.weight",
                                         "bn.num_batches_tracked", "empty", "half.special"])

        let conv = try file.entry("conv.weight")
        XCTAssertEqual(conv.dtype, .f32)
        XCTAssertEqual(conv.shape, [2, 3, 4])
        XCTAssertEqual(conv.floats(), ramp)
        XCTAssertEqual(try file.entry("conv.bias").floats(), [1.5, -0.125, 3.0e-5])

        let half = try file.entry("half.weight")
        XCTAssertEqual(half.dtype, .f16)
        XCTAssertEqual(half.bytes.count, 48)
        XCTAssertEqual(half.floats(), ramp)

        let bfloat = try file.entry("bfloat.weight")
        XCTAssertEqual(bfloat.dtype, .bf16)
        XCTAssertEqual(bfloat.floats(), ramp)

        let double = try file.entry("double.weight")
        XCTAssertEqual(double.dtype, .f64)
        XCTAssertEqual(double.shape, [2, 2])
        // The script casts float32 values to float64, so converting back is exact.
        XCTAssertEqual(double.floats(), [0.1, -0.2, 1e-3, 12345.678])

        let count = try file.entry("bn.num_batches_tracked")
        XCTAssertEqual(count.dtype, .i64)
        XCTAssertEqual(count.shape, [])
        XCTAssertEqual(count.floats(), [7])

        let empty = try file.entry("empty")
        XCTAssertEqual(empty.shape, [0, 3])
        XCTAssertEqual(empty.floats(), [])

        // Largest half, negative zero, smallest subnormal half, infinity.
        let special = try file.entry("half.special").floats()
        XCTAssertEqual(special[0], 65504)
        XCTAssertEqual(special[1].bitPattern, (-Float(0)).bitPattern)
        XCTAssertEqual(special[2], 5.960464477539063e-08)
        XCTAssertEqual(special[3], .infinity)
    }

    func testHalfConversionMatchesSwiftFloat16OnAllBitPatterns() {
        #if arch(x86_64) || arch(arm64)
        for bits in UInt16.min...UInt16.max {
            let reference = Float(Float16(bitPattern: bits))
            let ours = floatFromHalf(bits)
            if reference.isNaN {
                XCTAssertTrue(ours.isNaN, "bits \(bits)")
            } else {
                XCTAssertEqual(ours.bitPattern, reference.bitPattern, "bits \(String(bits, radix: 16))")
            }
        }
        #endif
    }

    func testWriteThenReadRoundTripsExactly() throws {
        let url = directory.appendingPathComponent("model.safetensors")
        let tensors = [
            SafetensorsTensor(name: "encoder.0.weight", shape: [4, 3, 3, 3], values: (0..<108).map { Float($0) * 0.01 - 0.5 }),
            SafetensorsTensor(name: "encoder.0.bias", shape: [4], values: [1, -1, .pi, -.greatestFiniteMagnitude]),
            SafetensorsTensor(name: "scalar", shape: [], values: [42]),
            SafetensorsTensor(name: "name \"with\" quotes\\é", shape: [1], values: [.leastNonzeroMagnitude]),
        ]
        try Safetensors.write(tensors, metadata: ["iteration": "12", "note": "line\nbreak"], to: url)

        let raw = try Data(contentsOf: url)
        let headerLength = raw.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
        XCTAssertEqual(headerLength % 8, 0, "header is padded so the data buffer is 8-byte aligned")
        XCTAssertEqual(raw.count, 8 + headerLength + 4 * (108 + 4 + 1 + 1))

        let file = try SafetensorsFile.read(from: url)
        XCTAssertEqual(file.names, tensors.map(\.name))
        XCTAssertEqual(file.metadata, ["iteration": "12", "note": "line\nbreak"])
        for tensor in tensors {
            let entry = try file.entry(tensor.name)
            XCTAssertEqual(entry.dtype, .f32)
            XCTAssertEqual(entry.shape, tensor.shape)
            XCTAssertEqual(entry.floats().map(\.bitPattern), tensor.values.map(\.bitPattern), tensor.name)
        }
        XCTAssertEqual(try Safetensors.encode(tensors, metadata: ["iteration": "12", "note": "line\nbreak"]), raw)
    }

    /// Writes a conv-shaped file for the hand check in PyTorch when `SAFETENSORS_EXPORT` names a path:
    /// `SAFETENSORS_EXPORT=/tmp/ours.safetensors swift test -c release -Xswiftc -enable-testing --filter SafetensorsTests`
    /// then `~/torch-venv/bin/python scripts/golden/safetensors_fixture.py --check /tmp/ours.safetensors`.
    func testWritesAFileForThePyTorchHandCheck() throws {
        let conv = [
            SafetensorsTensor(name: "conv.weight", shape: [2, 3, 1, 4], values: ramp),
            SafetensorsTensor(name: "conv.bias", shape: [2], values: [0.5, -0.25]),
        ]
        let url = ProcessInfo.processInfo.environment["SAFETENSORS_EXPORT"].map { URL(fileURLWithPath: $0) }
            ?? directory.appendingPathComponent("conv.safetensors")
        try Safetensors.write(conv, metadata: ["written_by": "Segscope"], to: url)
        XCTAssertEqual(try SafetensorsFile.read(from: url).entry("conv.weight").floats(), ramp)
    }

    // MARK: Bad files

    func assertReadError(_ data: Data, _ check: (SafetensorsError) -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        let url = directory.appendingPathComponent("bad-\(UUID().uuidString).safetensors")
        XCTAssertNoThrow(try data.write(to: url), file: file, line: line)
        do {
            _ = try SafetensorsFile.read(from: url)
            XCTFail("expected an error", file: file, line: line)
        } catch let error as SafetensorsError {
            XCTAssertTrue(check(error), "unexpected error: \(error)", file: file, line: line)
            XCTAssertTrue(error.description.contains(url.path), "error must name the file: \(error)", file: file, line: line)
        } catch {
            XCTFail("unexpected error type: \(error)", file: file, line: line)
        }
    }

    /// A file with a hand-written header and `dataBytes` zero bytes of data.
    func file(header: String, dataBytes: Int) -> Data {
        var data = Data()
        var length = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(Data(header.utf8))
        data.append(Data(count: dataBytes))
        return data
    }

    func testTruncatedFilesAreReportedAsTruncated() throws {
        let whole = try Data(contentsOf: fixture)
        for cut in [0, 5, 8, 20, whole.count - 1] {
            assertReadError(whole.prefix(cut)) {
                if case .truncated = $0 { return true } else { return false }
            }
        }
    }

    func testBadHeaders() {
        assertReadError(file(header: "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]", dataBytes: 4)) {
            if case .badHeader(_, let detail) = $0 { return detail.contains("JSON") } else { return false }
        }
        assertReadError(file(header: "[1, 2, 3]", dataBytes: 0)) {
            if case .badHeader = $0 { return true } else { return false }
        }
        // A huge length, as when the file is not safetensors at all.
        var notSafetensors = Data("PK\u{3}\u{4}zip archive....".utf8)
        notSafetensors.append(Data(count: 64))
        assertReadError(notSafetensors) {
            if case .badHeader = $0 { return true } else { return false }
        }
        assertReadError(file(header: "{\"__metadata__\": {\"n\": 3}}", dataBytes: 0)) {
            if case .badHeader(_, let detail) = $0 { return detail.contains("'n'") } else { return false }
        }
    }

    func testBadTensorEntriesNameTheTensor() {
        assertReadError(file(header: "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 16]}}", dataBytes: 8)) {
            if case .truncated(_, let detail) = $0 { return detail.contains("'w'") } else { return false }
        }
        assertReadError(file(header: "{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", dataBytes: 8)) {
            if case .badTensor(_, "w", let detail) = $0 { return detail.contains("12 bytes") } else { return false }
        }
        assertReadError(file(header: "{\"w\": {\"dtype\": \"U64\", \"shape\": [1], \"data_offsets\": [0, 8]}}", dataBytes: 8)) {
            if case .unsupportedDType(_, "w", "U64") = $0 { return $0.description.contains("F32") } else { return false }
        }
        assertReadError(file(header: "{\"w\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", dataBytes: 4)) {
            if case .badTensor(_, "w", _) = $0 { return true } else { return false }
        }
        assertReadError(file(header: "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 4]}}", dataBytes: 8)) {
            if case .badTensor(_, "w", _) = $0 { return true } else { return false }
        }
        assertReadError(file(header: "{\"w\": {\"dtype\": \"F32\", \"shape\": [1]}}", dataBytes: 8)) {
            if case .badTensor(_, "w", let detail) = $0 { return detail.contains("data_offsets") } else { return false }
        }
        let overlapping = "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
            + " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}"
        assertReadError(file(header: overlapping, dataBytes: 12)) {
            if case .badTensor(_, "b", let detail) = $0 { return detail.contains("overlaps") } else { return false }
        }
    }

    func testMissingFileAndMissingTensor() throws {
        let missing = directory.appendingPathComponent("nope.safetensors")
        XCTAssertThrowsError(try SafetensorsFile.read(from: missing)) { error in
            XCTAssertTrue("\(error)".contains(missing.path), "\(error)")
        }
        let file = try SafetensorsFile.read(from: fixture)
        XCTAssertThrowsError(try file.entry("decoder.weight")) { error in
            XCTAssertEqual(error as? SafetensorsError, .missingTensor(file: fixture.path, tensor: "decoder.weight"))
        }
    }

    // MARK: Writing

    func testWriteRejectsInconsistentTensors() {
        let url = directory.appendingPathComponent("bad.safetensors")
        XCTAssertThrowsError(try Safetensors.write([SafetensorsTensor(name: "w", shape: [2, 2], values: [1, 2, 3])], to: url)) {
            XCTAssertTrue("\($0)".contains("'w'"), "\($0)")
        }
        let twice = [SafetensorsTensor(name: "w", shape: [1], values: [1]), SafetensorsTensor(name: "w", shape: [1], values: [2])]
        XCTAssertThrowsError(try Safetensors.write(twice, to: url)) {
            XCTAssertTrue("\($0)".contains("twice"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }

    func testFailedWriteLeavesThePreviousFileIntactAndNoTemporaryFiles() throws {
        let url = directory.appendingPathComponent("last.safetensors")
        try Safetensors.write([SafetensorsTensor(name: "w", shape: [2], values: [1, 2])], to: url)
        let before = try Data(contentsOf: url)

        struct Interrupted: Error {}
        XCTAssertThrowsError(try AtomicFile.write(to: url) { sink in
            try sink.write(Data(repeating: 7, count: 1000))
            throw Interrupted()
        })
        XCTAssertEqual(try Data(contentsOf: url), before)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["last.safetensors"])
    }

    func testWriteIntoAMissingDirectoryNamesTheFile() {
        let url = directory.appendingPathComponent("no/such/dir/w.safetensors")
        XCTAssertThrowsError(try Safetensors.write([SafetensorsTensor(name: "w", shape: [1], values: [1])], to: url)) { error in
            XCTAssertTrue("\(error)".contains(url.path), "\(error)")
            XCTAssertEqual((error as? FileIOError)?.code, ENOENT)
        }
    }

    /// `/dev/full` fails every write with ENOSPC, as a full disk does.
    func testFullDeviceGivesAClearError() throws {
        let fd = open("/dev/full", O_WRONLY)
        try XCTSkipIf(fd < 0, "/dev/full is not available")
        let sink = FileSink(descriptor: fd, path: "runs/x/checkpoints/last.safetensors")
        XCTAssertThrowsError(try sink.write(Data(count: 4096))) { error in
            let error = error as? FileIOError
            XCTAssertEqual(error?.code, ENOSPC)
            XCTAssertTrue(error?.description.contains("No space left on device") ?? false, "\(String(describing: error))")
            XCTAssertTrue(error?.description.contains("runs/x/checkpoints/last.safetensors") ?? false)
        }
    }

    /// A file-size limit makes the kernel refuse the write part-way (EFBIG), like a disk filling
    /// up mid-checkpoint: the error names the file and the previous checkpoint stays loadable.
    func testWriteFailingPartWayKeepsThePreviousCheckpoint() throws {
        let url = directory.appendingPathComponent("last.safetensors")
        let small = [SafetensorsTensor(name: "w", shape: [4], values: [1, 2, 3, 4])]
        try Safetensors.write(small, to: url)

        var old = rlimit()
        getrlimit(Int32(RLIMIT_FSIZE.rawValue), &old)
        let oldHandler = signal(SIGXFSZ, SIG_IGN)
        var limit = rlimit(rlim_cur: 64 * 1024, rlim_max: old.rlim_max)
        XCTAssertEqual(setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit), 0)
        let big = [SafetensorsTensor(name: "w", shape: [100_000], values: [Float](repeating: 1, count: 100_000))]
        XCTAssertThrowsError(try Safetensors.write(big, to: url)) { error in
            XCTAssertEqual((error as? FileIOError)?.code, EFBIG, "\(error)")
            XCTAssertTrue("\(error)".contains(url.path), "\(error)")
        }
        setrlimit(Int32(RLIMIT_FSIZE.rawValue), &old)
        signal(SIGXFSZ, oldHandler)

        let file = try SafetensorsFile.read(from: url)
        XCTAssertEqual(try file.entry("w").floats(), [1, 2, 3, 4])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["last.safetensors"])
    }
}
