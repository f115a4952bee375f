-- Ending every session of a user (a password reset) finds them by user.
CREATE INDEX sessions_user ON sessions(user_id);
