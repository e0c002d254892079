"""Text understanding models: sentence embeddings, intents, entities, FAQ retrieval.

Submodules are imported explicitly (``from nlu.embeddings import SentenceEncoder``)
so that ``import nlu`` stays cheap and does not pull in torch.
"""
