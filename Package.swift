// swift-tools-version:6.0
// Segscope — a terminal workbench for semantic segmentation.
// Module map and dependency rules: ARCHITECTURE.md.
import Foundation
import PackageDescription

/// A test target is declared only once its directory holds Swift sources (an empty directory is
/// not kept by git, and SwiftPM rejects a target without sources).
func testTarget(_ name: String, _ dependencies: [Target.Dependency], resources: [String] = []) -> [Target] {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Tests/\(name)")
    let files = FileManager.default.enumerator(atPath: root.path)?.allObjects as? [String] ?? []
    guard files.contains(where: { $0.hasSuffix(".swift") }) else { return [] }
    let present = resources.filter { FileManager.default.fileExists(atPath: root.appendingPathComponent($0).path) }
    return [.testTarget(name: name, dependencies: dependencies, resources: present.map { .copy($0) })]
}

/// The tensor engine is compiled without bounds checks in release (its kernels index raw
/// pointers; its shape checks use `require`, which `-Ounchecked` keeps). Every other module keeps
/// Swift's checks: they handle files, configs and terminals, where a bad index must trap, not
/// corrupt memory (DECISIONS.md, "Only NN builds with -Ounchecked").
let fastMath: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

let package = Package(
    name: "Segscope",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "segscope", targets: ["segscope"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // MARK: System libraries (Debian -dev packages; see scripts/install-deps.sh)
        .systemLibrary(name: "CNcurses", path: "Sources/CNcurses",
                       providers: [.apt(["libncursesw5-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", pkgConfig: "libjpeg",
                       providers: [.apt(["libjpeg-dev"])]),
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL",
                       providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CSixel", path: "Sources/CSixel", pkgConfig: "libsixel",
                       providers: [.apt(["libsixel-dev"])]),

        // MARK: C shims for what Swift cannot call (setjmp/longjmp error handling, macros)
        .target(name: "CImageIO", dependencies: ["CPNG", "CJPEG"], path: "Sources/CImageIO",
                cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "CTerm", dependencies: ["CNcurses"], path: "Sources/CTerm"),
        // MPI opened with dlopen at run time: builds and runs without Open MPI (DECISIONS.md D-160).
        .target(name: "CMPI", path: "Sources/CMPI", linkerSettings: [.linkedLibrary("dl")]),

        // MARK: Swift modules (lower never imports higher)
        .target(name: "NN", dependencies: ["COpenBLAS", "CDNNL"], swiftSettings: fastMath),
        .target(name: "Models", dependencies: ["NN"]),
        .target(name: "Queues"),
        .target(name: "Datasets", dependencies: ["CImageIO", "Queues"]),
        // What the engine and its fronts share (messages, queues, config, run layout and archive):
        // no tensor engine, no models (ARCHITECTURE.md, D-200).
        .target(name: "EngineProtocol",
                dependencies: ["Datasets", "Queues", .product(name: "TOMLKit", package: "TOMLKit")]),
        .target(name: "Training",
                dependencies: ["EngineProtocol", "NN", "Models", "Datasets", "Queues", "CMPI"]),
        // `Theme/themes` links to the repository's `themes/`: the files are compiled in as they are.
        // The terminal front links the protocol, not Training / NN / Models (the CLI injects the engine).
        .target(name: "TUI", dependencies: ["EngineProtocol", "Datasets", "CTerm", "CNcurses", "CSixel"],
                resources: [.embedInCode("Theme/themes")]),
        .executableTarget(
            name: "segscope",
            dependencies: ["NN", "Models", "Datasets", "EngineProtocol", "Training", "TUI",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // MARK: Tests
        .target(name: "TestSupport", dependencies: ["NN"], path: "Sources/TestSupport"),
    ]
        + testTarget("NNTests", ["NN", "TestSupport"], resources: ["Golden"])
        + testTarget("ModelsTests", ["Models", "NN", "TestSupport"], resources: ["Golden"])
        + testTarget("DatasetsTests", ["Datasets", "TestSupport"], resources: ["Golden"])
        + testTarget("TrainingTests", ["Training", "EngineProtocol", "Models", "NN", "TestSupport"], resources: ["Golden"])
        + testTarget("EngineProtocolTests", ["EngineProtocol", "Queues", "TestSupport"])
        + testTarget("TUITests", ["TUI", "EngineProtocol", "Training", "TestSupport"], resources: ["Golden"])
        + testTarget("CLITests", ["TestSupport", "Datasets"])
)
