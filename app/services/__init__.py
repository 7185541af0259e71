"""Use cases: each public function is one transaction and the only place that commits.

platform (the handle every service takes) · actors (who is acting) · audit (the chained log) ·
auth (sign-in, sessions, tokens, passwords) · users (accounts and roles) · scope (which cases a user
may see) · cases (read cases, requesters) · intake (register cases) · process (engine runs, projection,
deadlines) · tasks (worklists, completion, supervision) · definitions (deploy) · incidents · sweeps
(scheduler work) · notify / outbox / messages (SMS) · documents (PDFs) · admin (rules, calendar,
settings) · settings · calendar · counters · seed (the demo city) · workstation (what the pages show) ·
call_events / calls / callbacks / recordings / call_stats (telephony).
"""
