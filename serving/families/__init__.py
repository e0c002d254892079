"""Model code per family, shared by the ``local`` backend and the Ray deployments.

Each module holds one plain class (no Ray, no asyncio): synchronous, CPU/GPU-bound
methods that a worker thread (local) or a replica (Ray) calls. Keeping the model
code here is what makes both backends give the same outputs and the same errors.
"""
