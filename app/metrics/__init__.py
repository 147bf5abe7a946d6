"""How well the service is doing: figures over a window of swaps, defined once (the field descriptions
in `schemas`) and computed in SQL (`service`). Read-only; it sits above the business areas it reads."""
