-- Deactivations, newest first: the server looks for recent ones every
-- second, so that `calls user deactivate` run beside it (another process)
-- ends the user's connections and calls at once.

CREATE INDEX users_deactivated ON users(deactivated_at) WHERE deactivated_at IS NOT NULL;
