"""Exports: readers of datasets that write Parquet + a dataset card, the seed report's JSON layout, or chat JSONL."""
