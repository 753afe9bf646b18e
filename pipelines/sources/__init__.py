"""Readers of department deliveries: files (CSV, Excel) today; sql and http sources join here."""

from pipelines.sources.files import ROW_NUMBER, Layout, RawBatch, SourceError, SourceReader, open_source

__all__ = ["ROW_NUMBER", "Layout", "RawBatch", "SourceError", "SourceReader", "open_source"]
