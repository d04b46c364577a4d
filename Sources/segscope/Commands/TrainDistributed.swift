import ArgumentParser
import Foundation
import Training

/// `segscope train --distributed`: whether this process is one rank of an MPI job.
enum DistributedMode: String, ExpressibleByArgument, CaseIterable {
    /// A rank of a launcher's job of more than one process: data-parallel; otherwise one process.
    case auto
    /// Must be a rank of a launcher's job (mpirun, srun); an error otherwise.
    case mpi
    /// One process, whatever the environment says.
    case none

    /// The data-parallel group this process belongs to, or nil for a single-process run. MPI is
    /// initialised here, on the main thread, before the engine thread starts (D-161).
    func join(environment: [String: String]) throws -> DataParallel? {
        guard self != .none else { return nil }
        let launch: LaunchEnvironment?
        do {
            launch = try LaunchEnvironment.detect(environment)
        } catch {
            throw ValidationError("--distributed \(rawValue): \(error)")
        }
        guard let launch else {
            guard self == .mpi else { return nil }
            throw ValidationError("--distributed mpi: this process was not started by a launcher (no OMPI_COMM_WORLD_RANK, "
                                  + "PMI_RANK or SLURM_PROCID); run mpirun -np N segscope train … or srun segscope train …")
        }
        if self == .auto && launch.size == 1 { return nil }
        let world: MPICommunicator
        do {
            world = try MPICommunicator.world()
        } catch {
            throw ValidationError("--distributed \(rawValue): started as rank \(launch.rank) of \(launch.size) (\(launch.source)) "
                                  + "but \(error); install openmpi-bin and libopenmpi-dev, or pass --distributed none "
                                  + "to train each process on its own")
        }
        guard world.rank == launch.rank, world.size == launch.size else {
            eprint("error: rank \(world.rank) of \(world.size) in MPI, but \(launch.source) says rank \(launch.rank) of \(launch.size) "
                   + "(inside a Slurm allocation, start the ranks with srun; or pass --distributed none)")
            world.abort(code: 1)
        }
        return DataParallel(communicator: world)
    }
}
