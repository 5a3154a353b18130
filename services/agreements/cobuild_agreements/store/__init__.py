"""SQL access (asyncpg): every function takes the connection of the caller's transaction."""
