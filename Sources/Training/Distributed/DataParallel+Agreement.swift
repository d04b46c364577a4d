import Foundation

/// The ranks' agreement as one non-blocking all-reduce of `ControlDecision.contribution`
/// (D-167). Non-blocking on every rank — blocking and
/// non-blocking collectives do not match in MPI — and polled, so a rank waiting for a paused
/// rank 0 sleeps instead of spinning in MPI.
extension DataParallel: RankAgreement {
    public var isLeader: Bool { rank == 0 }

    public func agree(_ proposal: ControlDecision, abandon: (() -> Bool)?) throws -> ControlDecision? {
        let values = proposal.contribution(asLeader: isLeader)
        // On the heap: an abandoned reduction still owns its buffer (the job is aborted next), so
        // it is then never freed.
        let buffer = UnsafeMutablePointer<Double>.allocate(capacity: values.count)
        buffer.initialize(from: values, count: values.count)
        let pending = try communicator.startAllReduceSum(buffer, count: values.count)
        if let abandon {
            while try !pending.test() {
                if abandon() { return nil }
                usleep(10_000)
            }
        } else {
            try pending.wait()
        }
        defer { buffer.deallocate() }
        return ControlDecision(sum: Array(UnsafeBufferPointer(start: buffer, count: values.count)))
    }
}
