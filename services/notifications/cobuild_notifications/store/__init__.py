"""SQL of the notifications service (asyncpg), one module per table family.

`directory`: what the service learnt from events (grants, commitments and their members,
agreements' parties, whistles' raisers); `follows`; `preferences` (addresses live here only);
`inbox`: the notifications; `deliveries`: the rows the sender works from; `counts`: messages
per channel, address and day for the rate limits.
"""
