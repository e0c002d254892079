"""The web tier. Importing it first sets process-wide knobs before numpy and Ray load
(the local Ray cluster it starts inherits them: its workers get this environment).

- numpy's BLAS on one thread: every matrix product the server does is small, and an
  idle OpenBLAS helper thread spins; at 200 retrieves a second on 2 cores it took
  3.9 ms of CPU per request, more than the model work beside it (3.7 ms).
- Ray Serve replicas without the extra thread hop and per-request log writes (the
  replica-side parts of Ray's ``RAY_SERVE_THROUGHPUT_OPTIMIZED`` mode; its gRPC
  default is picked per call in ``serving.ray_backend``): user code on the
  replica's event loop (every deployment hands model work to a thread), request
  logs buffered, not copied to stderr. The mode's router-on-the-caller's-loop part
  is left out: it ties a handle to one event loop, and tests and scripts use several.

Each is a default: a value already in the environment wins.
"""

import os

_DEFAULTS = {
    "OPENBLAS_NUM_THREADS": "1",
    "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0",
    "RAY_SERVE_REQUEST_PATH_LOG_BUFFER_SIZE": "1000",
    "RAY_SERVE_LOG_TO_STDERR": "0",
}
for _name, _value in _DEFAULTS.items():
    os.environ.setdefault(_name, _value)
