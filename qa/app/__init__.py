"""The edges: the `qa` command and the Gradio chat, thin adapters over `qa.api.Engine`."""
