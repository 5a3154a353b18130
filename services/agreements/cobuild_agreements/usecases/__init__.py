"""The application layer: load → ask the domain → save → emit, one module per family of
commands and queries. The routers in http/ call it; it calls store/ and domain/."""
