"""Staff accounts: login, roles, sessions that can be ended server-side, and API tokens."""
