"""HTTP adapters (FastAPI routers): parse, call a use case, shape the response."""
