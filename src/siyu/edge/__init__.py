"""The edge: REST endpoints and console views run each request as one unit of work (`work.py`) and answer lists
in one page envelope (`pages.py`). Domain code below never opens a transaction or writes the audit log itself."""
