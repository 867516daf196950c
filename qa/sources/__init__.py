"""The sources wing: files in seeds/ -> source text (one reader per format) -> chunks of whole sentences with exact character offsets."""
