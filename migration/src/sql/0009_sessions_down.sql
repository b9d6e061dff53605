DROP FUNCTION IF EXISTS auth_user_access(uuid);
ALTER TABLE users DROP COLUMN IF EXISTS sessions_valid_after;
