/// Matrix product of `[m, k]` and `[k, n]` → `[m, n]` (one sgemm; dense layers, benchmarks).
public func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
    require(a.rank == 2 && b.rank == 2 && a.shape[1] == b.shape[0],
                 "matmul: needs [m, k] · [k, n], got \(a.shape) · \(b.shape)")
    let m = a.shape[0], k = a.shape[1], n = b.shape[1]
    let c = Tensor(uninitialized: [m, n])
    withNCHW(a, b) { ad, bd in BLAS.gemm(m: m, n: n, k: k, a: ad, lda: k, b: bd, ldb: n, c: c.data, ldc: n) }
    return c.recording("matmul", [a, b]) { g in
        var da: Tensor? = nil, db: Tensor? = nil
        if a.needsGrad {
            let t = Tensor(uninitialized: a.shape)
            withNCHW(g, b) { gs, bd in BLAS.gemm(transB: true, m: m, n: k, k: n, a: gs, lda: n, b: bd, ldb: n, c: t.data, ldc: k) }
            da = t
        }
        if b.needsGrad {
            let t = Tensor(uninitialized: b.shape)
            withNCHW(a, g) { ad, gs in BLAS.gemm(transA: true, m: k, n: n, k: m, a: ad, lda: k, b: gs, ldb: n, c: t.data, ldc: n) }
            db = t
        }
        return [da, db]
    }
}
