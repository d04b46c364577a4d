#include "cmpi.h"
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

typedef void *handle;   // Open MPI: MPI_Comm, MPI_Datatype, MPI_Op are pointers to structs.

static void *lib;
static int (*p_init_thread)(int *, char ***, int, int *);
static int (*p_initialized)(int *);
static int (*p_finalized)(int *);
static int (*p_finalize)(void);
static int (*p_comm_rank)(handle, int *);
static int (*p_comm_size)(handle, int *);
static int (*p_allreduce)(const void *, void *, int, handle, handle, handle);
static int (*p_iallreduce)(const void *, void *, int, handle, handle, handle, void **);
static int (*p_wait)(void **, void *);
static int (*p_test)(void **, int *, void *);
static int (*p_query_thread)(int *);
static int (*p_bcast)(void *, int, handle, int, handle);
static int (*p_barrier)(handle);
static int (*p_abort)(handle, int);
static int (*p_library_version)(char *, int *);
static handle comm_world, type_float, type_double, op_sum;

#define MPI_IN_PLACE_OMPI ((void *)1)   // Open MPI's mpi.h: #define MPI_IN_PLACE ((void *) 1)

#define MPI_THREAD_SERIALIZED_OMPI 2
#define CHUNK (1L << 30)

static int resolve(void **slot, const char *name, char *error, size_t error_size) {
    *slot = dlsym(lib, name);
    if (!*slot) { snprintf(error, error_size, "libmpi has no symbol %s (not Open MPI?)", name); return 0; }
    return 1;
}

int cmpi_load(char *error, size_t error_size) {
    if (lib) return 1;
    // RTLD_GLOBAL: Open MPI's plugins (mca_*.so) resolve their symbols against libmpi.
    const char *names[] = {"libmpi.so.40", "libmpi.so", NULL};
    for (int i = 0; names[i] && !lib; i++) lib = dlopen(names[i], RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
        snprintf(error, error_size, "libmpi not found (%s); install openmpi-bin libopenmpi-dev", dlerror());
        return 0;
    }
    int ok = resolve((void **)&p_init_thread, "MPI_Init_thread", error, error_size)
        && resolve((void **)&p_initialized, "MPI_Initialized", error, error_size)
        && resolve((void **)&p_finalized, "MPI_Finalized", error, error_size)
        && resolve((void **)&p_finalize, "MPI_Finalize", error, error_size)
        && resolve((void **)&p_comm_rank, "MPI_Comm_rank", error, error_size)
        && resolve((void **)&p_comm_size, "MPI_Comm_size", error, error_size)
        && resolve((void **)&p_allreduce, "MPI_Allreduce", error, error_size)
        && resolve((void **)&p_iallreduce, "MPI_Iallreduce", error, error_size)
        && resolve((void **)&p_wait, "MPI_Wait", error, error_size)
        && resolve((void **)&p_test, "MPI_Test", error, error_size)
        && resolve((void **)&p_query_thread, "MPI_Query_thread", error, error_size)
        && resolve((void **)&p_bcast, "MPI_Bcast", error, error_size)
        && resolve((void **)&p_barrier, "MPI_Barrier", error, error_size)
        && resolve((void **)&p_abort, "MPI_Abort", error, error_size)
        && resolve((void **)&p_library_version, "MPI_Get_library_version", error, error_size)
        && resolve(&comm_world, "ompi_mpi_comm_world", error, error_size)
        && resolve(&type_float, "ompi_mpi_float", error, error_size)
        && resolve(&type_double, "ompi_mpi_double", error, error_size)
        && resolve(&op_sum, "ompi_mpi_op_sum", error, error_size);
    if (!ok) { dlclose(lib); lib = NULL; return 0; }
    return 1;
}

int cmpi_library_version(char *out, size_t out_size) {
    if (!out_size) return -1;
    out[0] = 0;
    if (!lib) return -1;
    char buffer[8192];   // MPI_MAX_LIBRARY_VERSION_STRING is 256 in Open MPI
    int length = 0;
    int rc = p_library_version(buffer, &length);
    if (rc) return rc;
    buffer[length < (int)sizeof buffer ? length : (int)sizeof buffer - 1] = 0;
    char *newline = strchr(buffer, '\n');   // first line only; Open MPI adds a date and repo line
    if (newline) *newline = 0;
    char *comma = strchr(buffer, ',');
    if (comma) *comma = 0;
    snprintf(out, out_size, "%s", buffer);
    return 0;
}

int cmpi_init(int *provided) {
    if (!lib) return -1;
    int done = 0;
    p_initialized(&done);
    if (done) return p_query_thread(provided);
    return p_init_thread(NULL, NULL, MPI_THREAD_SERIALIZED_OMPI, provided);
}

int cmpi_rank(int *rank) { return lib ? p_comm_rank(comm_world, rank) : -1; }
int cmpi_size(int *size) { return lib ? p_comm_size(comm_world, size) : -1; }

// MPI counts are int: long buffers go in chunks of 2^30 elements.
int cmpi_allreduce_sum_float(const float *send, float *receive, long count) {
    if (!lib) return -1;
    for (long offset = 0; offset < count; offset += CHUNK) {
        long n = count - offset < CHUNK ? count - offset : CHUNK;
        const void *from = send == receive ? MPI_IN_PLACE_OMPI : (const void *)(send + offset);
        int rc = p_allreduce(from, receive + offset, (int)n, type_float, op_sum, comm_world);
        if (rc) return rc;
    }
    return 0;
}

int cmpi_allreduce_sum_double(const double *send, double *receive, long count) {
    if (!lib) return -1;
    for (long offset = 0; offset < count; offset += CHUNK) {
        long n = count - offset < CHUNK ? count - offset : CHUNK;
        const void *from = send == receive ? MPI_IN_PLACE_OMPI : (const void *)(send + offset);
        int rc = p_allreduce(from, receive + offset, (int)n, type_double, op_sum, comm_world);
        if (rc) return rc;
    }
    return 0;
}

int cmpi_iallreduce_sum_float(float *buffer, long count, void **request) {
    if (!lib) return -1;
    if (count > INT_MAX) return -1;
    return p_iallreduce(MPI_IN_PLACE_OMPI, buffer, (int)count, type_float, op_sum, comm_world, request);
}

int cmpi_iallreduce_sum_double(double *buffer, long count, void **request) {
    if (!lib) return -1;
    if (count > INT_MAX) return -1;
    return p_iallreduce(MPI_IN_PLACE_OMPI, buffer, (int)count, type_double, op_sum, comm_world, request);
}

int cmpi_wait(void **request) { return lib ? p_wait(request, NULL) : -1; }   // NULL = MPI_STATUS_IGNORE
int cmpi_test(void **request, int *done) { return lib ? p_test(request, done, NULL) : -1; }

int cmpi_bcast_float(float *buffer, long count, int root) {
    if (!lib) return -1;
    for (long offset = 0; offset < count; offset += CHUNK) {
        long n = count - offset < CHUNK ? count - offset : CHUNK;
        int rc = p_bcast(buffer + offset, (int)n, type_float, root, comm_world);
        if (rc) return rc;
    }
    return 0;
}

int cmpi_barrier(void) { return lib ? p_barrier(comm_world) : -1; }
int cmpi_abort(int code) { return lib ? p_abort(comm_world, code) : -1; }

int cmpi_finalize(void) {
    if (!lib) return -1;
    int done = 0;
    p_finalized(&done);
    return done ? 0 : p_finalize();
}
