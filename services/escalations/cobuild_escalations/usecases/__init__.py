"""The application layer of the escalations service: load → ask the domain → save → emit.

What `http/`, `consumers.py` and `workers.py` call, one module per family of commands and
queries; the contract event of each step comes from `domain.events`.
"""
