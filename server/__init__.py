"""The web tier. Importing it first keeps numpy's BLAS on one thread in this process
(and in the local Ray cluster it starts, whose workers inherit the environment).

Why: every matrix product the server does is small, and an idle OpenBLAS helper
thread spins; at 200 retrieves a second on 2 cores it took 3.9 ms of CPU per
request, more than the model work beside it (3.7 ms). Set ``OPENBLAS_NUM_THREADS``
to override.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
