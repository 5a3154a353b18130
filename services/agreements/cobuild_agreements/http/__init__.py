"""HTTP adapters: parse, authorise, call the domain, persist, emit."""
