import XCTest
@testable import NN
import TestSupport

/// The oneDNN backend's inference-only paths, each against the reference backend: stride-2
/// transposed convs as four phase convs (`DNNLPhaseDeconv.swift`), and weights kept in the
/// primitives' orders while the parameter is unchanged (`DNNLWeights.swift`).
final class DNNLInferenceTests: DNNLTestCase {
    // MARK: Phase split

    func testPhaseSplitOfUNetDecoder() throws {
        // U-Net's decoder: 3×3, stride 2, padding 1, output padding 1 (4×5 → 8×10).
        let g = ConvGeometry.transposed(input: [1, 16, 4, 5], outChannels: 32, kernel: (3, 3), stride: (2, 2),
                                        padding: .symmetric(1), outputPadding: (1, 1), dilation: (1, 1))
        let phases = try XCTUnwrap(g.deconvPhases)
        XCTAssertEqual(phases.map { [$0.row, $0.col] }, [[0, 0], [0, 1], [1, 0], [1, 1]])
        // Even rows take the centre tap from row m; odd rows tap 2 from row m and tap 0 from m + 1.
        XCTAssertEqual(phases.map(\.rowTaps), [[1], [1], [2, 0], [2, 0]])
        XCTAssertEqual(phases.map(\.colTaps), [[1], [2, 0], [1], [2, 0]])
        for ph in phases {
            XCTAssertEqual([ph.geometry.inChannels, ph.geometry.outChannels], [16, 32])
            XCTAssertEqual([ph.geometry.outHeight, ph.geometry.outWidth], [4, 5])
            XCTAssertEqual([ph.geometry.strideH, ph.geometry.padTop, ph.geometry.padLeft], [1, 0, 0])
        }
        // 1 + 2 + 2 + 4 taps: the multiply-adds of the transposed conv itself.
        XCTAssertEqual(phases.map { $0.geometry.flops }.reduce(0, +), g.flops)
    }

    func testGeometriesThatDoNotSplit() throws {
        func phases(_ k: Int, _ s: Int, _ padding: Padding, groups: Int = 1) -> [DeconvPhase]? {
            ConvGeometry.transposed(input: [1, 4, 5, 5], outChannels: 4, kernel: (k, k), stride: (s, s),
                                    padding: padding, outputPadding: (0, 0), dilation: (1, 1), groups: groups).deconvPhases
        }
        // Stride 1 is one phase: the conv with the flipped kernel, padding k − 1 − p.
        let one = try XCTUnwrap(phases(3, 1, .symmetric(0)))
        XCTAssertEqual(one.count, 1)
        XCTAssertEqual(one[0].rowTaps, [2, 1, 0])
        XCTAssertEqual([one[0].geometry.padTop, one[0].geometry.padLeft, one[0].geometry.outHeight], [2, 2, 7])
        XCTAssertNil(phases(3, 1, .symmetric(3)), "padding beyond the kernel")
        XCTAssertNil(phases(64, 32, .symmetric(16)), "stride 32 would be 1024 tiny convs")
        XCTAssertNil(phases(1, 2, .valid), "odd phases of a 1×1 kernel have no taps")
        XCTAssertNil(phases(3, 2, .symmetric(2)), "a phase would need negative padding")
        XCTAssertNil(phases(3, 2, .symmetric(1), groups: 2))
        XCTAssertNotNil(phases(4, 2, .symmetric(1)))
        XCTAssertNotNil(phases(2, 2, .valid))
    }

    // MARK: Phase convs against the reference

    struct Case {
        let label: String
        let x: [Int], w: [Int]
        let stride: (Int, Int), padding: Padding, outputPadding: (Int, Int)
        let bias: Bool
        let splits: Bool
    }

    func testPhaseDeconvolutionMatchesTheReference() {
        let cases = [
            Case(label: "U-Net decoder 3×3 s2 p1 op1", x: [1, 16, 4, 5], w: [16, 32, 3, 3], stride: (2, 2),
                 padding: .symmetric(1), outputPadding: (1, 1), bias: true, splits: true),
            Case(label: "3×3 s2 same, batch 2", x: [2, 32, 5, 6], w: [32, 16, 3, 3], stride: (2, 2),
                 padding: .same, outputPadding: (0, 0), bias: true, splits: true),
            Case(label: "21 classes (padded channel blocks)", x: [1, 16, 4, 5], w: [16, 21, 3, 3], stride: (2, 2),
                 padding: .symmetric(1), outputPadding: (1, 1), bias: true, splits: true),
            Case(label: "3×3 s2 valid op1, odd channels", x: [1, 3, 7, 7], w: [3, 5, 3, 3], stride: (2, 2),
                 padding: .valid, outputPadding: (1, 1), bias: false, splits: true),
            Case(label: "4×4 s2 p1", x: [1, 8, 5, 4], w: [8, 16, 4, 4], stride: (2, 2),
                 padding: .symmetric(1), outputPadding: (0, 0), bias: true, splits: true),
            Case(label: "2×2 s2", x: [1, 8, 3, 3], w: [8, 16, 2, 2], stride: (2, 2),
                 padding: .valid, outputPadding: (0, 0), bias: false, splits: true),
            Case(label: "3×3 stride (2, 1)", x: [1, 16, 4, 6], w: [16, 16, 3, 3], stride: (2, 1),
                 padding: .symmetric(1), outputPadding: (1, 0), bias: true, splits: true),
            Case(label: "xunet decoder 3×3 s1 p1 (one phase)", x: [1, 32, 5, 7], w: [32, 16, 3, 3], stride: (1, 1),
                 padding: .symmetric(1), outputPadding: (0, 0), bias: true, splits: true),
            Case(label: "3×3 s1 valid, odd channels", x: [1, 5, 4, 6], w: [5, 3, 3, 3], stride: (1, 1),
                 padding: .valid, outputPadding: (0, 0), bias: false, splits: true),
            Case(label: "3×3 s2 p2 (no split: direct deconvolution)", x: [1, 16, 4, 5], w: [16, 16, 3, 3], stride: (2, 2),
                 padding: .symmetric(2), outputPadding: (0, 0), bias: true, splits: false),
        ]
        for (i, c) in cases.enumerated() {
            let x = randomTensor(c.x, seed: UInt64(100 + i)), w = randomTensor(c.w, seed: UInt64(200 + i))
            let b = c.bias ? randomTensor([c.w[1]], seed: UInt64(300 + i)) : nil
            func run(_ be: any Backend) -> Tensor {
                GradMode.withoutGrad {
                    convTranspose2d(x, weight: w, bias: b, stride: c.stride, padding: c.padding,
                                    outputPadding: c.outputPadding, backend: be)
                }
            }
            let before = dnnl.phaseDeconvolutions
            let fast = run(dnnl)
            XCTAssertEqual(dnnl.phaseDeconvolutions - before, c.splits ? 1 : 0, "\(c.label): phase path taken")
            let ref = run(ReferenceBackend.shared)
            XCTAssertEqual(fast.shape, ref.shape, c.label)
            assertCloseScaled(fast.array, ref.array, shape: ref.shape, tol: 1e-4, c.label)
        }
    }

    func testTrainingForwardKeepsTheDirectDeconvolution() {
        let x = randomTensor([1, 16, 4, 5], seed: 400), w = randomTensor([16, 32, 3, 3], seed: 401)
        w.requiresGrad = true
        let before = dnnl.phaseDeconvolutions
        let y = convTranspose2d(x, weight: w, stride: (2, 2), padding: .symmetric(1), outputPadding: (1, 1), backend: dnnl)
        mean(y).backward()
        XCTAssertEqual(dnnl.phaseDeconvolutions, before, "a forward that records a gradient runs the deconvolution")
        XCTAssertNotNil(w.grad)
    }

    // MARK: Kept weights

    /// A conv and a phase-split transposed conv under no-grad, against the reference, as the
    /// parameters change in each way the project changes them.
    func testKeptWeightsFollowEveryParameterChange() {
        let x = randomTensor([1, 16, 6, 6], seed: 500)
        let cw = randomTensor([16, 16, 3, 3], seed: 501), dw = randomTensor([16, 16, 3, 3], seed: 502)
        cw.requiresGrad = true; dw.requiresGrad = true
        func net(_ be: any Backend) -> Tensor {
            let h = relu(conv2d(x, weight: cw, padding: .symmetric(1), backend: be))
            return convTranspose2d(h, weight: dw, stride: (2, 2), padding: .symmetric(1), outputPadding: (1, 1), backend: be)
        }
        func check(_ label: String, file: StaticString = #filePath, line: UInt = #line) {
            let fast = GradMode.withoutGrad { net(dnnl) }, ref = GradMode.withoutGrad { net(ReferenceBackend.shared) }
            assertCloseScaled(fast.array, ref.array, shape: ref.shape, tol: 1e-4, label, file: file, line: line)
        }
        dnnl.releasePreparedWeights()
        check("first call")
        let kept = dnnl.preparedWeightsCount
        XCTAssertEqual(kept, 2, "one entry for the conv, one for the four phases")
        check("second call (kept weights)")
        XCTAssertEqual(dnnl.preparedWeightsCount, kept)

        cw.assign(randomTensor(cw.shape, seed: 503))
        check("after assign (checkpoint load)")

        // An optimizer step, as training does between evaluations.
        let opt = Optimizer(parameters: [("cw", cw), ("dw", dw)], rule: SGD(), learningRate: 0.5)
        mean(net(dnnl)).backward()
        opt.step()
        check("after an optimizer step")

        // A raw write that says so.
        dw.data[7] += 3
        dw.storage.markModified()
        check("after a marked raw write")
        XCTAssertEqual(dnnl.preparedWeightsCount, kept, "changed weights replace their entries")
    }

    func testWeightsAreNotKeptForTraining() {
        let x = randomTensor([1, 16, 6, 6], seed: 510), w = randomTensor([16, 16, 3, 3], seed: 511)
        w.requiresGrad = true
        dnnl.releasePreparedWeights()
        mean(conv2d(x, weight: w, padding: .symmetric(1), backend: dnnl)).backward()
        XCTAssertEqual(dnnl.preparedWeightsCount, 0)
    }
}
