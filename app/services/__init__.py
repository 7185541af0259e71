"""Use cases: each public function is one transaction and the only place that commits.

platform (the handle every service takes) · actors (who is acting) · audit (the chained log) ·
auth (sign-in, sessions, tokens, passwords) · users (accounts and roles) · scope (which cases a
user may see) · cases (register and read cases) · counters · seed (the demo city).
"""
