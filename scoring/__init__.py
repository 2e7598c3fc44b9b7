"""Pure scoring, emotion indices, QC rules and aggregation maths (plain data in, plain data out)."""
