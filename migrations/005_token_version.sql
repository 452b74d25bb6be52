-- Up Migration

-- Sessions end in the database, whoever writes: the API, the ADMIN_EMAIL bootstrap or
-- hand-written SQL.
--
-- users.token_version is carried by every access token (claim `ver`); a token whose version
-- is not the user's current one is refused. It is bumped by logout-all and, below, by any
-- change of the role or the password hash, which in the same statement also revokes all
-- of the user's refresh tokens.
--
-- Every server process caches per user {role, token_version, sign-ins revoked lately} and
-- LISTENs on `marquee_sessions`: the triggers below send the user's id there whenever one
-- of those changes, so every process drops its entry on commit (see
-- src/features/auth/sessions.ts and docs/adr/0012-session-state-cache.md).
--
-- Lock order for session writes: the user's row first (UPDATE users, or SELECT … FOR NO KEY
-- UPDATE), then refresh_tokens rows.

ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 0;

-- `staff` (ushers, issue #12) is treated like a customer everywhere for now.
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('customer', 'staff', 'admin'));

CREATE FUNCTION end_sessions_on_credential_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.token_version := greatest(NEW.token_version, OLD.token_version + 1);
  UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = NEW.id AND revoked_at IS NULL;
  RETURN NEW;
END $$;
CREATE TRIGGER users_end_sessions_on_credential_change BEFORE UPDATE OF role, password_hash ON users
  FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.password_hash IS DISTINCT FROM NEW.password_hash)
  EXECUTE FUNCTION end_sessions_on_credential_change();

-- One notification per user and transaction: PostgreSQL folds identical payloads.
CREATE FUNCTION notify_session_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'refresh_tokens' THEN
    PERFORM pg_notify('marquee_sessions', NEW.user_id::text);
  ELSE
    PERFORM pg_notify('marquee_sessions', OLD.id::text);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER users_session_changed AFTER UPDATE ON users
  FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.token_version IS DISTINCT FROM NEW.token_version)
  EXECUTE FUNCTION notify_session_change();
CREATE TRIGGER users_session_deleted AFTER DELETE ON users
  FOR EACH ROW EXECUTE FUNCTION notify_session_change();
CREATE TRIGGER refresh_tokens_revoked AFTER UPDATE OF revoked_at ON refresh_tokens
  FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
  EXECUTE FUNCTION notify_session_change();

-- The cache's miss query reads the sign-ins (families) a user ended lately.
CREATE INDEX refresh_tokens_user_revoked_idx ON refresh_tokens (user_id, revoked_at) WHERE revoked_at IS NOT NULL;

-- Down Migration
DROP INDEX refresh_tokens_user_revoked_idx;
DROP TRIGGER refresh_tokens_revoked ON refresh_tokens;
DROP TRIGGER users_session_deleted ON users;
DROP TRIGGER users_session_changed ON users;
DROP FUNCTION notify_session_change();
DROP TRIGGER users_end_sessions_on_credential_change ON users;
DROP FUNCTION end_sessions_on_credential_change();
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN ('customer', 'admin'));
ALTER TABLE users DROP COLUMN token_version;
