"""Image models: the EfficientNet-Lite0 backbone (``vision.backbone``).

Tenant image classifiers are ``nlu.heads`` heads trained on the backbone's pooled
1280-d features. Submodules are imported explicitly so ``import vision`` stays cheap.
"""
