"""The store wing: the embedder, the Chroma index (embedded or a server), the indexer that keeps it in step with seeds/, and the hybrid retriever."""
