"""SQL only (asyncpg), one module per table family; every function takes the connection of the
caller's transaction."""
