"""The model wing: an OpenAI-compatible chat model, its prompts, generation, and the cite step that checks what the model wrote against the passages."""
