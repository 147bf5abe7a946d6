"""Caring for a swap after the parts are in motion: asking whether the replacement works, and
escalating swaps that linger (raising their priority, never passing them on)."""
