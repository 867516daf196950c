"""The offline wing: the extractive answerer, which reads the question once, scores candidate source sentences and quotes the best or abstains."""
