import Foundation
import TestSupport
import XCTest

/// `segscope data export` (D-241): the browser's list — query, order, columns — without the terminal.
final class DataExportTests: XCTestCase {
    private var temp: URL!

    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: Fixtures.voc.path), "fixtures not found at \(Fixtures.voc.path)")
        temp = FileManager.default.temporaryDirectory.appendingPathComponent("segscope-cli-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: temp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        if let temp { try? FileManager.default.removeItem(at: temp) }
    }

    /// A run directory with one evaluation's per-sample figures (as the engine writes them, D-188).
    private func makeRun() throws -> URL {
        let run = temp.appendingPathComponent("runs/20261204-120000-xunet")
        let folder = run.appendingPathComponent("predictions/000030")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("""
            {"samples": [], "evaluations": [{"iteration": 30, "epoch": 3, "mIoU": 0.4, "is_best": true, "directory": "000030"}],
             "best_iteration": 30}
            """.utf8).write(to: run.appendingPathComponent("predictions/index.json"))
        func sample(_ id: String, _ iou: String, _ acc: Double, _ lq: Double) -> String {
            "{\"id\": \"\(id)\", \"mIoU\": \(iou), \"pixel_accuracy\": \(acc), \"pixels\": 1000, \"label_quality\": \(lq), \"confusions\": []}"
        }
        try Data("""
            {"version": 1, "iteration": 30, "epoch": 3, "split": "trainval", "class_names": [],
             "label_quality_method": "softmin self-confidence, T=0.1",
             "samples": [\(sample("2007_000032", "0.61", 0.93, 0.40)), \(sample("2007_000033", "0.35", 0.97, 0.72)),
                         \(sample("2007_000039", "0.48", 0.81, 0.05)), \(sample("2007_000042", "null", 0.88, 0.55))]}
            """.utf8).write(to: folder.appendingPathComponent("samples.json"))
        return run
    }

    func testQueryAndSortAsCSVFileAndJSONOnStdout() throws {
        let out = temp.appendingPathComponent("list.csv")
        let csv = try CLI.run(["data", "export", Fixtures.voc.path, "--split", "trainval", "--query", "aeroplane", "--out", out.path,
                               "--runs-dir", temp.appendingPathComponent("runs").path])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        XCTAssertEqual(csv.stdout.trimmingCharacters(in: .newlines), "wrote 2 of 4 samples of trainval to \(out.path)")
        XCTAssertEqual(try String(contentsOf: out, encoding: .utf8), """
            id,width,height,classes,tags,iou,acc,lq
            2007_000032,500,281,aeroplane person,,,,
            2007_000033,500,366,aeroplane,,,,

            """)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: temp.path), ["list.csv"], "no temporary file left")

        let run = try makeRun()
        let json = try CLI.run(["data", "export", Fixtures.voc.path, "--split", "trainval", "--run", run.path,
                                "--query", "iou<0.6 | lq<0.1", "--sort", "lq", "--as", "json"])
        XCTAssertEqual(json.status, 0, json.stderr)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], json.stdout)
        let samples = try XCTUnwrap(object["samples"] as? [[String: Any]])
        XCTAssertEqual(samples.map { $0["id"] as? String }, ["2007_000039", "2007_000033"], "lowest label quality first")
        XCTAssertEqual(samples.first?["lq"] as? Double, 0.05)
        XCTAssertEqual(object["query"] as? String, "iou<0.6 | lq<0.1")
        XCTAssertEqual(object["sort"] as? String, "likeliest label issue first")
        XCTAssertTrue(json.stderr.contains("note: 1 unscored: iou / lq terms false"), "2007_000042 has no IoU:\n\(json.stderr)")
    }

    func testBadArgumentsNameWhatIsWrong() throws {
        let query = try CLI.run(["data", "export", Fixtures.voc.path, "--query", "iou<lots"])
        XCTAssertNotEqual(query.status, 0)
        XCTAssertTrue(query.stderr.contains("“iou<lots”: expected a number after <"), query.stderr)
        let sort = try CLI.run(["data", "export", Fixtures.voc.path, "--sort", "iou"])
        XCTAssertTrue(sort.stderr.contains("--sort iou needs --run"), sort.stderr)
        let format = try CLI.run(["data", "export", Fixtures.voc.path, "--as", "xml"])
        XCTAssertTrue(format.stderr.contains("--as xml: expected csv or json"), format.stderr)
        let unscored = try CLI.run(["data", "export", Fixtures.voc.path, "--query", "iou<0.3"])
        XCTAssertEqual(unscored.status, 0, unscored.stderr)
        XCTAssertTrue(unscored.stderr.contains("note: no sample scored: iou terms false (--run gives an evaluation's figures)"), unscored.stderr)
        XCTAssertEqual(unscored.stdout, "id,width,height,classes,tags,iou,acc,lq\n")
        let run = try CLI.run(["data", "export", Fixtures.voc.path, "--run", temp.path])
        XCTAssertTrue(run.stderr.contains("predictions/index.json is missing"), run.stderr)
    }
}
