"""SQL of the commitments service, one module per table family (asyncpg).

`commitments`: the commitment rows, their transitions and lists; `deadlines`: the one-time
overdue and reminder flags and the scan that finds them; `history`: each commitment's journal;
`agreements`: the agreement-level facts; `members`: the members read model (ids, unit,
community) that assignees and participants are checked against; `experts`: the experts'
assignments that let an expert read a commitment; `evidence`: evidence rows, and
`evidence_files` the bytes on disk they point at.
"""
