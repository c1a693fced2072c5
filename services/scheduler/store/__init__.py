"""Job stores: one Protocol (base.JobStore), implemented on SQLite (embedded default) and Redis."""
