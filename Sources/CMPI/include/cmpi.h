#ifndef SEGSCOPE_CMPI_H
#define SEGSCOPE_CMPI_H
// MPI for Swift without a build-time dependency: libmpi (Open MPI) is opened with dlopen at run
// time and its handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM are macros over the symbols
// ompi_mpi_comm_world, ompi_mpi_float, ompi_mpi_op_sum) are looked up with dlsym.
// DECISIONS.md D-160. Every function returns 0 on success, an MPI error code or -1 otherwise.
#include <stddef.h>

/// Opens libmpi. Returns 1 when loaded, 0 when absent (the reason is written to `error`).
int cmpi_load(char *error, size_t error_size);
/// The library's version string (MPI_Get_library_version), "" before cmpi_load succeeded.
int cmpi_library_version(char *out, size_t out_size);
/// MPI_Init_thread(MPI_THREAD_SERIALIZED): any thread may call MPI, one at a time (the
/// training engine's thread owns the collectives; the main thread aborts after it stopped).
/// `provided` receives the level granted (0 single, 1 funneled, 2 serialized, 3 multiple).
/// A no-op (provided = the level queried) when already initialised.
int cmpi_init(int *provided);
int cmpi_rank(int *rank);
int cmpi_size(int *size);
/// Sum over all ranks of `count` floats; send == receive sums in place (MPI_IN_PLACE).
int cmpi_allreduce_sum_float(const float *send, float *receive, long count);
int cmpi_allreduce_sum_double(const double *send, double *receive, long count);
/// Starts a non-blocking sum of `count` floats in place (MPI_Iallreduce with MPI_IN_PLACE,
/// count < 2^31); `request` receives the handle for cmpi_wait.
int cmpi_iallreduce_sum_float(float *buffer, long count, void **request);
/// The same for `count` doubles.
int cmpi_iallreduce_sum_double(double *buffer, long count, void **request);
/// MPI_Wait on a request from cmpi_iallreduce_sum_* (status ignored).
int cmpi_wait(void **request);
/// MPI_Test on such a request: `done` becomes 1 when it completed (the request is then freed).
int cmpi_test(void **request, int *done);
/// Broadcast `count` floats from `root` to every rank, in place.
int cmpi_bcast_float(float *buffer, long count, int root);
int cmpi_barrier(void);
/// MPI_Abort on MPI_COMM_WORLD: every rank stops.
int cmpi_abort(int code);
int cmpi_finalize(void);
#endif
