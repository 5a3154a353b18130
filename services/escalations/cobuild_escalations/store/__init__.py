"""SQL of the escalations service, one module per table family (asyncpg).

`whistles`: the whistle rows, their transitions and lists; `escalation`: the one-time missed
flags and the scan that finds them; `history`: each whistle's journal; `routing`: the
districts' routing tables by version; `places`: the party directory (the kit's read model) as
the whistles need it; `evidence` and `evidence_files`: the files and their bytes; `codes`: the
residents' one-time codes and their ratings.
"""
