"""HTTP handlers: parse, check policy and microversion, call objects, serialize."""
