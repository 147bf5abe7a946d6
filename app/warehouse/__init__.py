"""The warehouse bench and the books: returns coming back and their discrepancies, scans at the bench,
cycle counts, and reconciliation. It sits above inventory and swaps (it uses both); nothing below it
imports it: it hears of the swap journey through events."""
