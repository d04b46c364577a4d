import Foundation
import TestSupport
import XCTest
@testable import Training

/// The real training session (model, loader, loss, optimizer) can fit two images: the "overfit
/// one batch" sanity check (Karpathy's recipe) on `../shared/fixtures/voc`'s two training
/// images. A broken gradient, optimizer or label path keeps the loss near its start.
final class OverfitTests: XCTestCase {
    func testOverfittingTheTwoVOCTrainingImagesDrivesTheLossBelowATenthOfItsStart() throws {
        var config = TrainingConfig()
        config.model = "xunet"
        config.data = Fixtures.voc.path
        config.split = "train"
        config.crop = PixelSize(square: 128)
        config.batch = 2
        config.optimizer = .adam
        config.lr = 1e-3
        config.seed = 0
        config.threads = 2
        config.epochs = 0
        config.iterations = 300
        let session = try ModelTrainingSession(config: config, context: SessionContext(warn: { _ in }))
        XCTAssertEqual(session.trainSamples, 2)

        // Random 128×128 crops of the two images: single losses jump with the crop (an
        // all-background crop is easy), so the criterion is the mean of the last 20 losses.
        // Training stops as soon as it holds, at most 300 iterations.
        let window = 20
        var losses: [Double] = []
        var reached: Int?
        for iteration in 1...300 {
            let result = try session.step(iteration: iteration, learningRate: config.lr)
            XCTAssertTrue(result.loss.isFinite, "loss \(result.loss) at iteration \(iteration)")
            losses.append(result.loss)
            if losses.count >= window && losses.suffix(window).reduce(0, +) / Double(window) < 0.1 * losses[0] {
                reached = iteration
                break
            }
        }
        let recent = losses.suffix(window).reduce(0, +) / Double(min(window, losses.count))
        let trace = stride(from: 0, to: losses.count, by: 5).map { String(format: "%d:%.3f", $0 + 1, losses[$0]) }
            .joined(separator: " ")
        XCTAssertNotNil(reached, String(format: "after %d iterations the mean of the last %d losses is %.4f = %.1f%% of the first (%.4f); losses: %@",
                                        losses.count, window, recent, 100 * recent / losses[0], losses[0], trace))
        print(String(format: "overfit: first loss %.4f; mean of %d below 10%% at iteration %d; losses: %@",
                     losses[0], window, reached ?? -1, trace))
    }
}
