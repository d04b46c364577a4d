@testable import Training
import XCTest

final class LaunchEnvironmentTests: XCTestCase {
    func testNoLauncherIsSingleProcess() throws {
        XCTAssertNil(try LaunchEnvironment.detect([:]))
        XCTAssertNil(try LaunchEnvironment.detect(["PATH": "/usr/bin", "SLURM_PROCID": "0"]))  // no size
    }

    func testOpenMPIAndSlurmVariables() throws {
        XCTAssertEqual(try LaunchEnvironment.detect(["OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "2"]),
                       LaunchEnvironment(rank: 1, size: 2, source: "OMPI_COMM_WORLD_RANK"))
        XCTAssertEqual(try LaunchEnvironment.detect(["SLURM_PROCID": "3", "SLURM_NTASKS": "8"]),
                       LaunchEnvironment(rank: 3, size: 8, source: "SLURM_PROCID"))
        // mpirun inside a Slurm allocation: Open MPI's own variables win.
        XCTAssertEqual(try LaunchEnvironment.detect(["OMPI_COMM_WORLD_RANK": "0", "OMPI_COMM_WORLD_SIZE": "4",
                                                     "SLURM_PROCID": "0", "SLURM_NTASKS": "1"])?.size, 4)
    }

    func testBadVariablesNameTheValue() {
        XCTAssertThrowsError(try LaunchEnvironment.detect(["PMI_RANK": "x", "PMI_SIZE": "2"])) { error in
            XCTAssertTrue("\(error)".contains("PMI_RANK=x"), "\(error)")
        }
        XCTAssertThrowsError(try LaunchEnvironment.detect(["SLURM_PROCID": "2", "SLURM_NTASKS": "2"])) { error in
            XCTAssertTrue("\(error)".contains("SLURM_PROCID=2 is not a rank of SLURM_NTASKS=2"), "\(error)")
        }
    }

    func testProbeReportsLibraryOrReason() {
        let (available, detail) = MPICommunicator.probe()
        XCTAssertFalse(detail.isEmpty)
        if available { XCTAssertTrue(detail.contains("Open MPI"), detail) }
        else { XCTAssertTrue(detail.contains("libmpi"), detail) }
    }
}
