import COpenBLAS

/// The one BLAS call the engine makes, so call sites read as math. Row-major throughout.
enum BLAS {
    /// `C[m,n] = alpha * op(A)[m,k] · op(B)[k,n] + beta * C`, with `lda`/`ldb`/`ldc` the row
    /// strides of A, B, C as stored.
    @inline(__always)
    static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                     alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                     b: UnsafePointer<Float>, ldb: Int,
                     beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                    beta, c, blasint(ldc))
    }
}
