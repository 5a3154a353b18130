"""The application layer: load → ask the domain → save → emit, one module per family."""
