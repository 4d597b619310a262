"""Imported first by a benchmark, before numpy: one BLAS/OpenMP thread per process, so that
fit and suggestion times compare on this shared 2-core machine rather than thread pools."""

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"
