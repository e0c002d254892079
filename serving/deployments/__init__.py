"""Ray Serve deployments, one module and one ``@serve.deployment`` class per model family.

Each wraps the plain model class of ``serving.families`` (the code the local backend
also runs). Adding a family: a module here, an entry in ``serving/serving.yaml``,
an entry in ``serving.app.FAMILIES`` and the client methods. Modules are imported
explicitly (``serving.app`` does it) so that importing this package stays cheap.
"""
