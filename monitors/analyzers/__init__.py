"""Pure analyzers: DataFrames and a schema/config in, frozen dataclasses out. No I/O."""
