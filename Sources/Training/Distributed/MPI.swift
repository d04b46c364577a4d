import CMPI
import Foundation

/// Where this process sits in a distributed launch, read from the launcher's environment
/// (Open MPI's `mpirun`, Slurm's `srun`, PMI launchers) before MPI is initialised.
public struct LaunchEnvironment: Equatable, Sendable {
    public var rank: Int
    public var size: Int
    /// The variable the rank came from (`OMPI_COMM_WORLD_RANK`, `SLURM_PROCID`, `PMI_RANK`).
    public var source: String

    /// nil when the process was not started by a known launcher (a plain single-process run).
    /// Throws when a launcher's variables are present but not a valid rank/size pair.
    public static func detect(_ environment: [String: String]) throws -> LaunchEnvironment? {
        let pairs = [("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"), ("PMI_RANK", "PMI_SIZE"),
                     ("PMIX_RANK", "OMPI_COMM_WORLD_SIZE"), ("SLURM_PROCID", "SLURM_NTASKS")]
        for (rankKey, sizeKey) in pairs {
            guard let rankText = environment[rankKey], let sizeText = environment[sizeKey] else { continue }
            guard let rank = Int(rankText.trimmingCharacters(in: .whitespaces)),
                  let size = Int(sizeText.trimmingCharacters(in: .whitespaces)) else {
                throw DistributedError.badEnvironment("\(rankKey)=\(rankText), \(sizeKey)=\(sizeText) are not integers")
            }
            guard size >= 1, (0..<size).contains(rank) else {
                throw DistributedError.badEnvironment("\(rankKey)=\(rank) is not a rank of \(sizeKey)=\(size)")
            }
            return LaunchEnvironment(rank: rank, size: size, source: rankKey)
        }
        return nil
    }
}

public enum DistributedError: Error, CustomStringConvertible, Equatable {
    case badEnvironment(String)
    case unavailable(String)
    case call(String, Int32)

    public var description: String {
        switch self {
        case .badEnvironment(let why): "distributed launch: \(why)"
        case .unavailable(let why): "MPI is not available: \(why)"
        case .call(let name, let code): "MPI call \(name) failed with error code \(code)"
        }
    }
}

/// Open MPI through the CMPI shim (opened with dlopen: absent MPI is a run-time condition).
/// One per process; MPI is initialised on first use and finalised at exit.
public final class MPICommunicator: @unchecked Sendable {
    public let rank: Int
    public let size: Int
    public let libraryVersion: String

    nonisolated(unsafe) private static var shared: MPICommunicator?
    private static let lock = NSLock()

    /// Whether libmpi can be opened, and its version or the reason it cannot.
    public static func probe() -> (available: Bool, detail: String) {
        var error = [CChar](repeating: 0, count: 512)
        guard cmpi_load(&error, error.count) == 1 else {
            return (false, String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        var version = [CChar](repeating: 0, count: 512)
        _ = cmpi_library_version(&version, version.count)
        return (true, String(decoding: version.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// The initialised world communicator (MPI_Init_thread on the first call). `segscope train`
    /// calls it on the main thread before the engine thread starts; the engine thread then makes
    /// every collective call, so MPI_THREAD_SERIALIZED is required (D-161).
    public static func world() throws -> MPICommunicator {
        lock.lock(); defer { lock.unlock() }
        if let shared { return shared }
        let (available, detail) = probe()
        guard available else { throw DistributedError.unavailable(detail) }
        var provided: Int32 = 0
        try check(cmpi_init(&provided), "MPI_Init_thread")
        guard provided >= 2 else {
            throw DistributedError.unavailable("\(detail) grants thread level \(provided), not MPI_THREAD_SERIALIZED (2)")
        }
        var rank: Int32 = 0, size: Int32 = 0
        try check(cmpi_rank(&rank), "MPI_Comm_rank")
        try check(cmpi_size(&size), "MPI_Comm_size")
        let world = MPICommunicator(rank: Int(rank), size: Int(size), libraryVersion: detail)
        atexit { _ = cmpi_finalize() }
        shared = world
        return world
    }

    private init(rank: Int, size: Int, libraryVersion: String) {
        self.rank = rank
        self.size = size
        self.libraryVersion = libraryVersion
    }

    fileprivate static func check(_ code: Int32, _ name: String) throws {
        guard code == 0 else { throw DistributedError.call(name, code) }
    }

    /// Element-wise sum over all ranks of `count` floats at `buffer`, in place.
    public func allReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws {
        let timer = CommunicationTimer(self)
        defer { timer.stop() }
        try Self.check(cmpi_allreduce_sum_float(buffer, buffer, count), "MPI_Allreduce")
    }

    /// Starts a non-blocking in-place sum of `count` floats at `buffer` (which must stay valid
    /// and untouched until `wait`).
    public func startAllReduceSum(_ buffer: UnsafeMutablePointer<Float>, count: Int) throws -> PendingReduction {
        let timer = CommunicationTimer(self)
        defer { timer.stop() }
        var request: UnsafeMutableRawPointer?
        try Self.check(cmpi_iallreduce_sum_float(buffer, count, &request), "MPI_Iallreduce")
        return PendingReduction(communicator: self, request: request)
    }

    /// Starts a non-blocking in-place sum of `count` doubles at `buffer` (valid and untouched
    /// until the reduction completed).
    public func startAllReduceSum(_ buffer: UnsafeMutablePointer<Double>, count: Int) throws -> PendingReduction {
        var request: UnsafeMutableRawPointer?
        try Self.check(cmpi_iallreduce_sum_double(buffer, count, &request), "MPI_Iallreduce")
        return PendingReduction(communicator: self, request: request)
    }

    /// Seconds spent inside MPI calls since the start (blocking calls and waits), for
    /// `bench train --distributed`.
    public private(set) var communicationSeconds = 0.0
    fileprivate func addCommunication(_ seconds: Double) { communicationSeconds += seconds }

    /// Element-wise sum over all ranks, in place.
    public func allReduceSum(_ values: inout [Float]) throws {
        guard !values.isEmpty else { return }
        try values.withUnsafeMutableBufferPointer { try allReduceSum($0.baseAddress!, count: $0.count) }
    }

    public func allReduceSum(_ values: inout [Double]) throws {
        let timer = CommunicationTimer(self)
        defer { timer.stop() }
        try values.withUnsafeMutableBufferPointer { r in
            try Self.check(cmpi_allreduce_sum_double(r.baseAddress, r.baseAddress, r.count), "MPI_Allreduce")
        }
    }

    /// Element-wise mean over all ranks (the data-parallel gradient average), in place.
    public func allReduceMean(_ values: inout [Float]) throws {
        try allReduceSum(&values)
        let scale = 1 / Float(size)
        for i in values.indices { values[i] *= scale }
    }

    /// Replaces `values` on every rank with root's (the initial weights), in place.
    public func broadcast(_ values: inout [Float], root: Int = 0) throws {
        let timer = CommunicationTimer(self)
        defer { timer.stop() }
        try values.withUnsafeMutableBufferPointer { b in
            try Self.check(cmpi_bcast_float(b.baseAddress, b.count, Int32(root)), "MPI_Bcast")
        }
    }

    public func barrier() throws { try Self.check(cmpi_barrier(), "MPI_Barrier") }

    /// Stops every rank of the job (a failed rank must not leave the others waiting).
    public func abort(code: Int32 = 1) -> Never {
        _ = cmpi_abort(code)
        exit(code)
    }
}

/// A started non-blocking all-reduce; `wait()` completes it (once).
public final class PendingReduction {
    private let communicator: MPICommunicator
    private var request: UnsafeMutableRawPointer?
    private var done = false

    fileprivate init(communicator: MPICommunicator, request: UnsafeMutableRawPointer?) {
        self.communicator = communicator
        self.request = request
    }

    public func wait() throws {
        guard !done else { return }
        done = true
        let timer = CommunicationTimer(communicator)
        defer { timer.stop() }
        try MPICommunicator.check(cmpi_wait(&request), "MPI_Wait")
    }

    /// Whether the reduction has completed (MPI_Test: it also progresses it); once true, the
    /// buffer holds the result and `wait` returns at once.
    public func test() throws -> Bool {
        guard !done else { return true }
        var flag: Int32 = 0
        try MPICommunicator.check(cmpi_test(&request, &flag), "MPI_Test")
        if flag != 0 { done = true }
        return done
    }
}

/// Adds the wall time of one MPI call to the communicator's total.
private struct CommunicationTimer {
    let communicator: MPICommunicator
    let start = DispatchTime.now().uptimeNanoseconds
    init(_ communicator: MPICommunicator) { self.communicator = communicator }
    func stop() { communicator.addCommunication(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
}
